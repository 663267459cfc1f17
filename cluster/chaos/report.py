"""A chaos run's figures: report.json, report.png (the timeline) and a short text summary.

Figures (ISSUE 7): fault cycles by kind; acknowledged, refused (a definite ledger code),
rejected (never logged) and ambiguous commands; lost, duplicated, divergent (each must be 0);
time from leader loss to the first successful write that was sent after it (p50/p99); throughput
while a fault is active as a percentage of steady state; and per second the acknowledged commands
and their p99 latency, which the plot shows with every fault window shaded and labelled.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from cluster.chaos.checker import Verdict
from cluster.chaos.history import FaultRecord, Op

bin_s = 1.0
warmup_s = 2.0  # the first seconds (connections, first leader contact) are not steady state
KIND_COLOURS = {"kill": "tab:red", "pause": "tab:orange", "partition": "tab:purple", "restart": "tab:brown",
                "powercut": "black", "corrupt": "tab:olive"}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def failover_times(ops: list[Op], faults: list[FaultRecord]) -> list[float]:
    """Per fault that took the leader away: from its start to the end of the first acknowledged
    write sent after it started (a write still in flight at the fault is not a new leader's)."""
    acked = sorted((op.start_s, op.end_s) for op in ops if op.outcome in ("ok", "refused"))
    times = []
    for fault in faults:
        if not fault.leader_lost:
            continue
        after = [end for start, end in acked if start >= fault.start_s]
        if after:
            times.append(round(min(after) - fault.start_s, 3))
    return times


def timeline(ops: list[Op], duration_s: float) -> list[dict]:
    bins = max(1, math.ceil(duration_s / bin_s))
    counts = [0] * bins
    latencies: list[list[float]] = [[] for _ in range(bins)]
    for op in ops:
        if op.outcome not in ("ok", "refused"):
            continue
        slot = int(op.end_s // bin_s)
        if 0 <= slot < bins:
            counts[slot] += 1
            latencies[slot].append(op.end_s - op.start_s)
    return [{"t": round(i * bin_s, 3), "acked_per_s": counts[i] / bin_s,
             "p99_ms": round(1000 * percentile(latencies[i], 99), 1) if latencies[i] else None} for i in range(bins)]


def _in_fault(t0: float, t1: float, faults: list[FaultRecord]) -> bool:
    """Whether [t0, t1) overlaps a fault or the recovery from it (until a leader answered again)."""
    return any(f.start_s < t1 and max(f.end_s, f.recovered_s, f.start_s) > t0 for f in faults)


def figures(ops: list[Op], faults: list[FaultRecord], verdict: Verdict, run: dict) -> dict:
    """Steady state: the seconds after warm-up outside every fault and its recovery; during faults:
    the seconds inside them."""
    duration = run["duration_s"]
    series = timeline(ops, duration)
    steady = [b["acked_per_s"] for b in series if b["t"] >= warmup_s and not _in_fault(b["t"], b["t"] + bin_s, faults)]
    during = [b["acked_per_s"] for b in series if _in_fault(b["t"], b["t"] + bin_s, faults)]
    steady_mean = sum(steady) / len(steady) if steady else 0.0
    during_mean = sum(during) / len(during) if during else 0.0
    outcomes = Counter(op.outcome for op in ops)
    failovers = failover_times(ops, faults)
    leader_losses = sum(1 for f in faults if f.leader_lost)
    counts = verdict.summary_counts()
    return {
        "verdict": "PASS" if verdict.passed else "FAIL",
        "first_violation": asdict(verdict.first) if verdict.first else None,
        "run": run,
        "cycles": len(faults),
        "cycles_by_kind": dict(sorted(Counter(f.kind for f in faults).items())),
        "commands": {"total": len(ops), "acknowledged": outcomes["ok"], "refused_with_code": outcomes["refused"],
                     "rejected_not_logged": outcomes["rejected"], "ambiguous": outcomes["ambiguous"]},
        "lost": counts["lost"], "duplicated": counts["duplicated"],
        "divergent": counts["divergent"] + counts["replay_mismatch"] + counts["not_converged"],
        "violations": counts,
        "violation_details": [asdict(v) for v in verdict.violations],
        "notes": verdict.notes + run.get("notes", []),
        "failover_s": {"leader_losses": leader_losses, "measured": len(failovers),
                       "p50": percentile(failovers, 50), "p99": percentile(failovers, 99),
                       "max": max(failovers) if failovers else None},
        "throughput": {"steady_acked_per_s": round(steady_mean, 1), "during_faults_acked_per_s": round(during_mean, 1),
                       "during_faults_pct_of_steady": round(100 * during_mean / steady_mean, 1) if steady_mean else None},
        "corrupt_outcomes": _corrupt_outcomes(faults),
        "faults": [asdict(f) for f in faults],
        "timeline": series,
    }


def _corrupt_outcomes(faults: list[FaultRecord]) -> dict[str, int]:
    """How damaged nodes reacted: refused to start (then restored from peers), started and caught
    up (the damage hit nothing read, or was repaired), or ran without noticing and got stuck."""
    corrupt = [f for f in faults if f.kind == "corrupt"]
    return {
        "refused_to_start": sum(1 for f in corrupt if "refused to start" in f.detail),
        "started_and_caught_up": sum(1 for f in corrupt if "started and caught up" in f.detail),
        "stalled_undetected": sum(1 for f in corrupt if f.stalled),
    }


def summary_text(report: dict) -> str:
    f, c, t = report["failover_s"], report["commands"], report["throughput"]
    run = report["run"]
    lines = [
        f"chaos: {run['nodes']} nodes, {run['duration_s']:.0f} s, seed {run['seed']}, faults {','.join(run['kinds'])}"
        f"{', 2 at a time' if run.get('simultaneous', 1) == 2 else ''}",
        f"fault cycles: {report['cycles']}  " + "  ".join(f"{k} {n}" for k, n in report["cycles_by_kind"].items()),
        f"commands: {c['total']}  acknowledged {c['acknowledged']}  refused with a code {c['refused_with_code']}  "
        f"rejected (never logged) {c['rejected_not_logged']}  ambiguous {c['ambiguous']}",
        f"lost {report['lost']}  duplicated {report['duplicated']}  divergent {report['divergent']}",
        f"leader loss -> first new write: p50 {_s(f['p50'])}  p99 {_s(f['p99'])}  max {_s(f['max'])} "
        f"({f['measured']} of {f['leader_losses']} leader losses)",
        f"throughput: steady {t['steady_acked_per_s']}/s, during faults {t['during_faults_acked_per_s']}/s "
        f"({t['during_faults_pct_of_steady']}% of steady)",
    ]
    replay = run.get("replay") or {}
    if replay.get("base"):
        base = f"certified checkpoint {replay['base_index']}" if replay["base_index"] else replay["base"]
        lines.append(f"replay: from {base}, {replay['entries_replayed']} entries of {replay['journal']}'s journal; "
                     f"log compaction {_compaction(run)}")
    else:
        lines.append(f"replay: SKIPPED; log compaction {_compaction(run)}")
    if report["cycles_by_kind"].get("corrupt"):
        co = report["corrupt_outcomes"]
        lines.append(f"corrupt: refused to start {co['refused_to_start']} (restored from peers), started and caught up "
                     f"{co['started_and_caught_up']}, STALLED without noticing {co['stalled_undetected']}")
    lines += [f"note: {note}" for note in report["notes"]]
    if report["verdict"] == "PASS":
        lines.append("verdict: PASS")
    else:
        v = report["first_violation"] or {"kind": "?", "detail": "?"}
        lines.append(f"verdict: FAIL: {v['kind']}: {v['detail']}")
        lines.append(f"reproduce: python -m cluster chaos --nodes {run['nodes']} --duration {run['duration_s']:.0f} "
                     f"--seed {run['seed']} --faults {','.join(run['kinds'])}"
                     f"{' --simultaneous 2' if run.get('simultaneous', 1) == 2 else ''} --out DIR")
    return "\n".join(lines)


def _compaction(run: dict) -> str:
    logs = run.get("node_logs") or {}
    every = f"every {run['log_compaction_every']} entries" if run.get("log_compaction_every") else "as in production"
    return f"{every} ({logs.get('compactions', 0)} compactions, {logs.get('snapshot_installs', 0)} snapshot installs)"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    series = report["timeline"]
    t = [b["t"] + bin_s / 2 for b in series]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(14, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.plot(t, [b["acked_per_s"] for b in series], color="tab:blue", linewidth=1.2)
    top.set_ylabel("acknowledged commands / s")
    bottom.plot(t, [b["p99_ms"] if b["p99_ms"] is not None else float("nan") for b in series], color="tab:green",
                linewidth=1.0, marker=".", markersize=3)
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_yscale("log")
    bottom.set_xlabel("seconds since the load started (shaded: fault active; hatched: healed, until every node runs and a leader answers)")
    ymax = max([b["acked_per_s"] for b in series] + [1])
    for fault in report["faults"]:
        colour = KIND_COLOURS.get(fault["kind"], "grey")
        for axis in (top, bottom):
            axis.axvspan(fault["start_s"], max(fault["end_s"], fault["start_s"] + 0.2), color=colour, alpha=0.22, linewidth=0)
            if fault.get("recovered_s", 0) > fault["end_s"]:  # healed, waiting for the nodes and a leader
                axis.axvspan(fault["end_s"], fault["recovered_s"], facecolor="none", edgecolor=colour, alpha=0.35,
                             hatch="//", linewidth=0)
        if len(report["faults"]) <= 60:
            top.text(fault["start_s"], ymax * 1.02, fault["kind"], rotation=90, fontsize=7, va="bottom", color=colour)
    top.set_ylim(0, ymax * 1.25)
    kinds = sorted(report["cycles_by_kind"])
    top.legend(handles=[Patch(color=KIND_COLOURS.get(k, "grey"), alpha=0.35, label=f"{k} ({report['cycles_by_kind'][k]})")
                        for k in kinds], loc="lower left", fontsize=8, ncol=len(kinds) or 1)
    run, c, f, tp = report["run"], report["commands"], report["failover_s"], report["throughput"]
    fig.suptitle(
        f"{report['verdict']}: {run['nodes']} nodes, seed {run['seed']}, {report['cycles']} fault cycles; "
        f"acked {c['acknowledged']}, ambiguous {c['ambiguous']}, lost {report['lost']}, dup {report['duplicated']}, "
        f"divergent {report['divergent']}\nfailover p50 {_s(f['p50'])} p99 {_s(f['p99'])}; throughput during faults "
        f"{tp['during_faults_pct_of_steady']}% of steady ({tp['steady_acked_per_s']}/s)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out: Path, ops: list[Op], faults: list[FaultRecord], verdict: Verdict, run: dict) -> dict:
    report = figures(ops, faults, verdict, run)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    plot(report, out / "report.png")
    (out / "summary.txt").write_text(summary_text(report) + "\n")
    return report
