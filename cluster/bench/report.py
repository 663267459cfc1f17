"""The cluster benchmark's figures in the chaos report's style: JSON, a plot and a short summary.

    python -m cluster.bench.report [bench-results/cluster-bench.json]

`cluster/bench/cluster.py` calls `write_bench_report` after its runs; this command redraws the
plot of an existing JSON. The plot shows, per batch size (log scale), settled trades per second
(left) and Submit latency p50 and p99 (right), one line per counterparty mix, with the
kill-the-leader failover time in the title.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def _said(report: dict, key: str) -> str:
    return {True: "on", False: "off"}.get(report.get(key), "not recorded")


def summary_text(report: dict) -> str:
    lines = [f"cluster bench: {report.get('nodes', '?')} nodes, {report.get('cpus', '?')} cpus, mTLS "
             f"{_said(report, 'mtls')}, signed batches {_said(report, 'signed_batches')}"]
    for run in report.get("runs", []):
        mix = f"{run['makers']} makers" if run.get("makers") else "uniform"
        lines.append(f"batch {run['batch']:>5} {mix:>10}: {run['trades_per_second']:>7} trades/s  "
                     f"p50 {run['latency_ms_p50']} ms  p99 {run['latency_ms_p99']} ms")
    failover = report.get("failover")
    if failover:
        lines.append(f"kill -9 of the leader -> first write: {failover['kill_to_first_write_ms']} ms")
    return "\n".join(lines)


def plot_bench(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_mix: dict[int, list[dict]] = defaultdict(list)
    for run in report.get("runs", []):
        by_mix[run.get("makers", 0)].append(run)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for makers, runs in sorted(by_mix.items()):
        runs = sorted(runs, key=lambda r: r["batch"])
        label = f"{makers} market makers" if makers else "uniform counterparties"
        batches = [r["batch"] for r in runs]
        left.plot(batches, [r["trades_per_second"] for r in runs], marker="o", label=label)
        line, = right.plot(batches, [r["latency_ms_p99"] for r in runs], marker="o", label=f"p99, {label}")
        right.plot(batches, [r["latency_ms_p50"] for r in runs], marker=".", linestyle="--", color=line.get_color(),
                   label=f"p50, {label}")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_xlabel("commands per Submit (batch size)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    left.set_ylabel("settled trades / s")
    left.set_ylim(bottom=0)
    right.set_ylabel("Submit latency (ms)")
    right.set_ylim(bottom=0)
    failover = report.get("failover") or {}
    fig.suptitle(f"cluster bench: {report.get('nodes', '?')} nodes on {report.get('cpus', '?')} cpus, durable journal, "
                 f"mTLS {_said(report, 'mtls')}, signed batches {_said(report, 'signed_batches')}; "
                 f"kill -9 leader -> first write {failover.get('kill_to_first_write_ms', '?')} ms", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_bench_report(report: dict, out: Path, name: str = "cluster-bench") -> Path:
    """OUT/<name>.png and OUT/<name>.txt beside the JSON the benchmark wrote; returns the plot's path."""
    out.mkdir(parents=True, exist_ok=True)
    plot_path = out / f"{name}.png"
    plot_bench(report, plot_path)
    (out / f"{name}.txt").write_text(summary_text(report) + "\n")
    return plot_path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    source = Path(argv[0] if argv else "bench-results/cluster-bench.json")
    report = json.loads(source.read_text())
    plot = write_bench_report(report, source.parent, source.stem)
    print(summary_text(report))
    print(f"plot: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
