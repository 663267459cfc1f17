"""The cluster benchmark seen through a real Prometheus: `make bench-observed`.

    python -m cluster.bench.observed [--seconds 20] [--clients 2] [--batches 1000,100] [--out bench-results]

Starts a fresh 3-node cluster and a Prometheus scraping it every second (cluster/observe.py) on
temporary directories and 127.0.0.1 ports, runs cluster/bench/cluster.py's load generator for a
bounded window per batch size, then asks Prometheus's query_range API for, over the whole run:
throughput (settled SettleTrade OK commands per second, applied on the leader), Submit p99 latency
(histogram_quantile over settle_submit_seconds) and follower lag (max of
settle_raft_peer_lag_entries). Prints them as JSON (mean and max over the samples taken while load
ran) and writes a three-panel PNG to OUT/prometheus-bench.png and the JSON to
OUT/prometheus-bench.json. The client-side figures of each run (cluster/bench/cluster.py's) are
included for comparison. Needs the prometheus binary (`make promtool` installs Debian's package).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

from cluster.bench.cluster import measure_batch, prepare_market, wait_for_followers
from cluster.local import LocalCluster
from cluster.observe import Prometheus, prometheus_binary, prometheus_port_offset
from cluster.ports import free_base_port

RATE_WINDOW = "5s"  # five 1 s scrapes
QUERIES = {
    # Every node applies every command: the max over nodes is the cluster's settlement rate.
    "throughput_trades_per_s": f'max(rate(settle_commands_applied_total{{kind="SettleTrade",code="OK"}}[{RATE_WINDOW}]))',
    # Only the leader serves Submit (the load goes to it): buckets summed over the nodes.
    "submit_p99_ms": f"1000 * histogram_quantile(0.99, sum by (le) (rate(settle_submit_seconds_bucket[{RATE_WINDOW}])))",
    "follower_lag_entries": "max(settle_raft_peer_lag_entries)",
}
TITLES = {
    "throughput_trades_per_s": "settled trades / s",
    "submit_p99_ms": "Submit p99 (ms)",
    "follower_lag_entries": "max follower lag (entries)",
}


def _finite(points: list[tuple[float, float]]) -> list[float]:
    return [v for _, v in points if math.isfinite(v)]


def summarize(series: dict[str, list[tuple[float, float]]], windows: list[tuple[float, float]]) -> dict:
    """Mean and max of each series over the samples inside a load window (NaN samples, e.g. a
    quantile with no Submit in the window, are left out)."""
    summary = {}
    for name, points in series.items():
        inside = _finite([(t, v) for t, v in points if any(a <= t <= b for a, b in windows)])
        summary[name] = {
            "mean": round(sum(inside) / len(inside), 2) if inside else None,
            "max": round(max(inside), 2) if inside else None,
            "samples": len(inside),
        }
    return summary


def plot(series: dict[str, list[tuple[float, float]]], runs: list[dict], origin: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(QUERIES), 1, figsize=(10, 8), sharex=True)
    for ax, name in zip(axes, QUERIES):
        points = [(t - origin, v if math.isfinite(v) else math.nan) for t, v in series[name]]  # NaN: a gap
        if points:
            ax.plot([t for t, _ in points], [v for _, v in points], linewidth=1.2)
        for run in runs:
            ax.axvspan(run["window"][0] - origin, run["window"][1] - origin, alpha=0.12, color="tab:orange")
            ax.text(run["window"][0] - origin, 1.0, f" batch {run['batch']}", transform=ax.get_xaxis_transform(),
                    va="top", fontsize=8)
        ax.set_ylabel(TITLES[name])
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel("seconds (Prometheus, 1 s scrapes; shaded: load windows)")
    fig.suptitle("3-node cluster under load, as Prometheus saw it")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="load seconds per batch size")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batches", default="1000,100")
    parser.add_argument("--base-port", type=int, default=7900, help="first port tried; the next free block is used")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args(argv)

    if prometheus_binary() is None:
        raise SystemExit("prometheus not found: `make promtool` installs Debian's prometheus package")
    base_port = free_base_port(args.base_port, extra_offsets=(prometheus_port_offset,))
    data = Path(tempfile.mkdtemp(prefix="settle-observed-"))
    cluster = LocalCluster(data, nodes=3, base_port=base_port)
    cluster.prepare()
    prometheus = Prometheus(cluster.data_dir, base_port + prometheus_port_offset)
    runs: list[dict] = []
    try:
        cluster.start()
        prometheus.start()
        prometheus.wait_ready()
        with cluster.client(timeout_s=20.0) as client:
            leader = prepare_market(cluster, client, signed=True)  # as in production: batches signed
            origin = time.time()
            time.sleep(3)  # a few idle scrapes before the load
            for index, batch in enumerate(int(b) for b in args.batches.split(",")):
                wait_for_followers(client)
                before = time.time()
                run = measure_batch(leader, batch, args.seconds, args.clients, 0, index, cluster.data_dir)
                after = time.time()
                # measure_batch starts the load 8 s + batch/200 s after it is called (the clients
                # build their requests first) and lasts `seconds`; the window excludes the build
                # and, for the rate's 5 s window, its first seconds.
                end = min(after, before + 8 + batch / 200 + args.seconds)
                run["window"] = (end - args.seconds + 5, end)
                runs.append(run)
                print(json.dumps({k: v for k, v in run.items() if k != "window"}), flush=True)
            time.sleep(4)  # the last scrapes and rule evaluations
            finish = time.time()
        series = {name: prometheus.query_range(expr, origin, finish, 1.0) for name, expr in QUERIES.items()}
        scraped = prometheus.api("query", query="count(up == 1)")["result"]
    finally:
        prometheus.stop()
        cluster.stop()
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    windows = [run["window"] for run in runs]
    report = {
        "benchmark": "cluster, observed by Prometheus",
        "nodes": 3,
        "scrape_interval_s": 1,
        "targets_up": int(float(scraped[0]["value"][1])) if scraped else 0,
        "queries": QUERIES,
        "overall": summarize(series, windows),
        "per_batch": [
            {"batch": run["batch"], "prometheus": summarize(series, [run["window"]]),
             "client": {k: run[k] for k in ("trades_per_second", "latency_ms_p50", "latency_ms_p99", "submits")}}
            for run in runs
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "prometheus-bench.png"
    plot(series, runs, origin, png)
    (args.out / "prometheus-bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
