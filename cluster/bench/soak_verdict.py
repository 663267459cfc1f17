"""The soak's targets and the verdict on a run's per-minute figures (pure: no IO, no clock).

A minute record (what cluster/bench/soak.py prints once a minute) holds at least: `minute`
(1-based), `elapsed_s` (seconds of load when it was taken), `trades` (settled in that minute),
`trades_per_s`, `rss_bytes` and `data_bytes` (node id -> bytes, None when unreadable),
`raft_dumped` (node id -> whether the node has compacted its Raft log since the load began),
`leader_changes` (elections since the load began) and `truncations` (pysyncobj's 'truncating
already-applied log entries' lines in the node logs).

The baseline for "bounded": the first minute record taken once (a) one retention window has
passed since the load began, so dedup records and replay windows are being forgotten as fast as
they are written, and (b) the previous minute record already saw every node's Raft log compacted
since the load began: until its first dump a node keeps (in memory and in its journal file) every
entry since it started, which grows by design for the first log_compaction_period_s (300 s),
however short the retention, and its memory drops only some seconds after the dump is written.
Every later minute's RSS and data size must be within the tolerance of that node's own baseline.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Targets:
    bounded_tolerance_pct: int = 10  # RSS and data size after the baseline: within +-this of it
    trades_per_reference_run: int = 10_000_000  # settled over reference_run_minutes (scaled to the run's length)
    reference_run_minutes: int = 20
    last_minute_throughput_pct_min: int = 90  # the last minute's trades/s, as a share of the first's
    leader_changes_max: int = 0
    truncations_max: int = 0


def _all_dumped(record: dict) -> bool:
    dumped = record.get("raft_dumped") or {}
    return bool(dumped) and all(dumped.values())


def baseline_minute(minutes: list[dict], retention_s: float) -> dict | None:
    """The first record past one retention window whose previous record already saw every node's
    Raft log compacted since the load began (see the module's doc); None if the run ended before
    one. A minute later, not at once: a node's memory drops some seconds after its dump file is
    written, so the minute that sees the dump may still hold the whole log."""
    for previous, record in zip(minutes, minutes[1:]):
        if record["elapsed_s"] >= retention_s and _all_dumped(previous):
            return record
    return None


def _bounded_check(name: str, key: str, minutes: list[dict], baseline: dict | None, tolerance_pct: int) -> dict:
    check = {"name": name, "target": f"{key} of every node within +-{tolerance_pct}% of its baseline minute's, every later minute"}
    later = [m for m in minutes if baseline is not None and m["minute"] > baseline["minute"]]
    if baseline is None or not later:
        return {**check, "passed": None, "why": "the run ended before a baseline minute and one after it"}
    worst: dict[str, dict] = {}
    passed = True
    for node, base in sorted(baseline[key].items()):
        if not base:
            return {**check, "passed": False, "why": f"{node} had no {key} at the baseline minute"}
        deviations = []
        for record in later:
            value = record[key].get(node)
            if value is None:  # the process was gone or its directory unreadable: unbounded as far as we know
                deviations.append((float("inf"), record["minute"], None))
                continue
            deviations.append((100.0 * (value - base) / base, record["minute"], value))
        pct, minute, value = max(deviations, key=lambda d: abs(d[0]))
        worst[node] = {"baseline": base, "worst_minute": minute, "worst": value, "deviation_pct": round(pct, 1)}
        passed = passed and abs(pct) <= tolerance_pct
    return {**check, "passed": passed, "measured": worst}


def verdict(minutes: list[dict], retention_s: float, run_minutes: float, targets: Targets = Targets()) -> dict:
    """Every target's check ({name, target, passed: True/False/None when not evaluable, measured})
    and `passed`: False if any check failed, True if all passed, None otherwise."""
    baseline = baseline_minute(minutes, retention_s)
    checks = [
        _bounded_check("rss_bounded", "rss_bytes", minutes, baseline, targets.bounded_tolerance_pct),
        _bounded_check("data_bounded", "data_bytes", minutes, baseline, targets.bounded_tolerance_pct),
    ]
    wanted = round(targets.trades_per_reference_run * run_minutes / targets.reference_run_minutes)
    settled = sum(m["trades"] for m in minutes)
    checks.append({"name": "trades_settled", "target": f">= {wanted} trades settled in {run_minutes:g} minutes "
                   f"({targets.trades_per_reference_run} per {targets.reference_run_minutes})",
                   "passed": settled >= wanted if minutes else None, "measured": settled})
    throughput = {"name": "throughput_kept",
                  "target": f"last minute's trades/s >= {targets.last_minute_throughput_pct_min}% of the first's"}
    if len(minutes) < 2:
        throughput.update(passed=None, why="fewer than two minutes")
    else:
        first, last = minutes[0]["trades_per_s"], minutes[-1]["trades_per_s"]
        kept = 100.0 * last / first if first else 0.0
        throughput.update(passed=kept >= targets.last_minute_throughput_pct_min,
                          measured={"first": first, "last": last, "kept_pct": round(kept, 1)})
    checks.append(throughput)
    leader_changes = minutes[-1]["leader_changes"] if minutes else None
    truncations = minutes[-1]["truncations"] if minutes else None
    checks.append({"name": "no_leader_change", "target": f"<= {targets.leader_changes_max} elections during the load",
                   "passed": None if leader_changes is None else leader_changes <= targets.leader_changes_max,
                   "measured": leader_changes})
    checks.append({"name": "no_truncation", "target": f"<= {targets.truncations_max} 'truncating already-applied log entries' lines",
                   "passed": None if truncations is None else truncations <= targets.truncations_max,
                   "measured": truncations})
    outcomes = [c["passed"] for c in checks]
    passed = False if False in outcomes else (True if all(o is True for o in outcomes) else None)
    return {"baseline_minute": baseline["minute"] if baseline else None,
            "baseline_rule": "the first minute past one retention window that follows a minute in which every node had compacted its Raft log during the load",
            "checks": checks, "passed": passed}


def verdict_text(result: dict) -> str:
    """The verdict as a few lines for people."""
    word = {True: "PASS", False: "FAIL", None: "NOT EVALUATED"}
    lines = [f"soak verdict: {word[result['passed']]} (baseline: minute {result['baseline_minute']}, "
             f"{result['baseline_rule']})"]
    for check in result["checks"]:
        detail = check.get("measured", check.get("why", ""))
        lines.append(f"  {word[check['passed']]:<13} {check['name']}: {check['target']}; measured {detail}")
    return "\n".join(lines)
