"""`make soak`: a node that runs for months, shown over time.

    python -m cluster.bench.soak [--minutes 20] [--retention-s 60] [--clients 3] [--out bench-results] [--keep]

A fresh 3-node local cluster (cluster/local.py, on free 127.0.0.1 ports and a temporary data
directory), as in production: mTLS, Raft encryption, every batch signed by the settler key. Its
genesis policy sets a short `dedup_retention_ms` (--retention-s), so the ledger forgets dedup
records and replay windows while the run lasts. Several client processes (cluster/bench/soak_load.py)
submit signed 1,000-trade batches back to back for --minutes. Every 10 s the soak reads each
node from outside (cluster/bench/soak_probes.py): RSS from /proc/<pid>/status, bytes on disk of its
data directory (its log left out), its metrics (trades applied, settle_dedup_records,
settle_replay_windows, the Raft term) and its log (leader_change lines, pysyncobj's 'truncating
already-applied log entries'). Once a minute it prints one JSON line. At the end it writes every
figure to OUT/soak.json, plots RSS, data size and throughput to OUT/soak.png and prints the verdict
against the targets (cluster/bench/soak_verdict.py): printed, never asserted.

The load runs for a bounded time, each Submit is bounded by a timeout and a number of attempts,
and the nodes and clients are stopped whatever happens (try/finally; each node in its own
process group; SIGTERM ends the soak the same way).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from cluster.bench.cluster import ACCOUNTS, MARKET, PRICE, SETTLER, prepare_market, wait_for_followers
from cluster.bench.soak_load import (
    COUNTER_REFUSED,
    COUNTER_RPC_ERRORS,
    COUNTER_SETTLED,
    COUNTER_SUBMITS,
    batch_commands,
    client_process,
    counters_per_client,
    in_flight_per_client,
    submit_attempts_max,
    submit_timeout_s,
)
from cluster.bench.soak_plot import plot_soak
from cluster.bench.soak_probes import (
    LogFindings,
    LogTail,
    data_dir_parts,
    disk_bytes,
    elections,
    log_file_name,
    process_rss_bytes,
    scan_log_lines,
    scrape,
)
from cluster.bench.soak_verdict import verdict, verdict_text
from cluster.local import LocalCluster
from cluster.ports import free_base_port

minutes_default = 20.0
retention_s_default = 60.0
clients_default = 3
sample_interval_s = 10
minute_s = 60
samples_per_minute = minute_s // sample_interval_s
client_start_delay_s = 10.0  # clients spawn, import, connect and build their trade pools before the load
client_exit_timeout_s = submit_timeout_s * submit_attempts_max + 30  # the last Submit's retries after the load
lines_kept_max = 50  # leader_change and truncation lines copied into the report
raft_dump_file_name = "raft.dump"  # node/config.py NodeConfig.dump_file: pysyncobj's log compaction


class NodeWatch:
    """One node's figures over the run, read from outside the node."""

    def __init__(self, cluster: LocalCluster, number: int) -> None:
        spec = cluster.specs[number - 1]
        self.node_id = spec.node_id
        self.metrics_address = spec.metrics_address
        self.dir = cluster.node_dir(number)
        self.pid = cluster.processes[number].pid
        self.log = LogTail(self.dir / log_file_name)
        self.before_load = LogFindings()
        self.during_load = LogFindings()
        self.load_started_at = 0.0

    def start_load(self, at: float) -> None:
        self.before_load.add(scan_log_lines(self.log.new_lines()))
        self.load_started_at = at

    def raft_dumped(self) -> bool:
        """Has the node compacted its Raft log (written its dump) since the load began?"""
        try:
            return (self.dir / raft_dump_file_name).stat().st_mtime > self.load_started_at
        except OSError:
            return False

    def sample(self) -> dict:
        self.during_load.add(scan_log_lines(self.log.new_lines()))
        metrics = scrape(self.metrics_address)
        parts = data_dir_parts(self.dir)
        return {
            "rss_bytes": process_rss_bytes(self.pid),
            "data_bytes": sum(parts.values()) if parts else None,
            "data_parts": parts,
            "log_bytes": disk_bytes(self.dir / log_file_name),
            "trades_settled": metrics.trades_settled if metrics else None,
            "dedup_records": metrics.dedup_records if metrics else None,
            "replay_windows": metrics.replay_windows if metrics else None,
            "term": metrics.term if metrics else None,
            "raft_dumped": self.raft_dumped(),
        }


def leader_changes(watches: list[NodeWatch]) -> int:
    """Elections since the load began, from every node's log."""
    return elections(set().union(*(w.before_load.leader_terms for w in watches)),
                     set().union(*(w.during_load.leader_terms for w in watches)))


def truncation_lines(watches: list[NodeWatch]) -> list[str]:
    return [line for w in watches for line in w.before_load.truncation_lines + w.during_load.truncation_lines]


def client_totals(counters, clients: int) -> dict[str, int]:
    def total(slot: int) -> int:
        return sum(counters[c * counters_per_client + slot] for c in range(clients))
    return {"acknowledged": total(COUNTER_SETTLED), "refused": total(COUNTER_REFUSED),
            "submits": total(COUNTER_SUBMITS), "rpc_errors": total(COUNTER_RPC_ERRORS)}


def _cluster_trades(sample: dict) -> int:
    """Trades settled by the cluster so far: the most any node has applied (the leader's count)."""
    counts = [n["trades_settled"] for n in sample["nodes"].values() if n["trades_settled"] is not None]
    return max(counts) if counts else 0


def minute_record(minute: int, previous: dict, current: dict) -> dict:
    """The JSON line of one minute from the samples at its start and end."""
    trades = _cluster_trades(current) - _cluster_trades(previous)
    seconds = current["elapsed_s"] - previous["elapsed_s"]
    nodes = current["nodes"]
    return {
        "minute": minute,
        "elapsed_s": round(current["elapsed_s"], 1),
        "trades": trades,
        "trades_per_s": round(trades / seconds) if seconds > 0 else 0,
        "acknowledged": current["clients"]["acknowledged"] - previous["clients"]["acknowledged"],
        "rss_bytes": {node: n["rss_bytes"] for node, n in nodes.items()},
        "data_bytes": {node: n["data_bytes"] for node, n in nodes.items()},
        "dedup_records": {node: n["dedup_records"] for node, n in nodes.items()},
        "replay_windows": {node: n["replay_windows"] for node, n in nodes.items()},
        "raft_dumped": {node: n["raft_dumped"] for node, n in nodes.items()},
        "leader_changes": current["leader_changes"],
        "truncations": current["truncations"],
        "refused": current["clients"]["refused"],
        "rpc_errors": current["clients"]["rpc_errors"],
    }


def _sleep_until(wall_time: float) -> None:
    time.sleep(max(0.0, wall_time - time.time()))


def run_soak(args: argparse.Namespace, data: Path) -> dict:
    base_port = free_base_port(args.base_port)
    retention_ms = round(args.retention_s * 1000)
    cluster = LocalCluster(data, nodes=3, base_port=base_port, policy={"dedup_retention_ms": retention_ms})
    cluster.prepare()
    seconds = args.minutes * minute_s
    context = multiprocessing.get_context("spawn")
    counters = context.Array("q", args.clients * counters_per_client, lock=False)
    queue = context.Queue()
    clients: list = []
    samples: list[dict] = []
    minutes: list[dict] = []
    outcomes: list[dict] = []
    try:
        cluster.start()
        with cluster.client(timeout_s=20.0) as client:
            leader = prepare_market(cluster, client, signed=True)
            wait_for_followers(client)
        addresses = [leader] + [a for a in cluster.grpc_addresses if a != leader]
        watches = [NodeWatch(cluster, spec.number) for spec in cluster.specs]
        start_at = time.time() + client_start_delay_s
        clients = [context.Process(target=client_process, daemon=True,
                                   args=(number, addresses, cluster.data_dir, SETTLER, MARKET, PRICE, ACCOUNTS,
                                         seconds, start_at, counters, queue))
                   for number in range(args.clients)]
        for process in clients:
            process.start()
        _sleep_until(start_at)
        for watch in watches:
            watch.start_load(start_at)

        def sample() -> dict:
            nodes = {w.node_id: w.sample() for w in watches}
            return {"elapsed_s": time.time() - start_at, "nodes": nodes, "clients": client_totals(counters, args.clients),
                    "leader_changes": leader_changes(watches), "truncations": len(truncation_lines(watches))}

        samples.append(sample())
        minute_start = samples[0]
        for k in range(1, int(seconds // sample_interval_s) + 1):  # bounded: the load's length in samples
            _sleep_until(start_at + k * sample_interval_s)
            samples.append(sample())
            if k % samples_per_minute == 0:
                record = minute_record(k // samples_per_minute, minute_start, samples[-1])
                minute_start = samples[-1]
                minutes.append(record)
                print(json.dumps(record), flush=True)
        for _ in clients:
            try:
                outcomes.append(queue.get(timeout=client_exit_timeout_s))
            except Exception:  # noqa: BLE001 - a client that died reports nothing; the counters still hold its work
                break
        samples.append(sample())  # after the last in-flight batches were answered
        findings = {"leader_change_lines": [l for w in watches for l in w.during_load.leader_change_lines][:lines_kept_max],
                    "truncation_lines": truncation_lines(watches)[:lines_kept_max]}
    finally:
        for process in clients:
            if process.is_alive():
                process.terminate()
            process.join(timeout=5)
        cluster.stop()
    return {
        "benchmark": "soak",
        "nodes": 3,
        "mtls": True,
        "signed_batches": True,
        "raft_encryption": True,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "minutes_requested": args.minutes,
        "retention_s": args.retention_s,
        "clients": args.clients,
        "in_flight_per_client": in_flight_per_client,
        "batch": batch_commands,
        "sample_interval_s": sample_interval_s,
        "minutes": minutes,
        "samples": samples,
        "client_outcomes": sorted(outcomes, key=lambda o: o["client"]),
        "client_totals": client_totals(counters, args.clients),
        **findings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=minutes_default, help="minutes of load (whole minutes are reported)")
    parser.add_argument("--retention-s", type=float, default=retention_s_default,
                        help="the genesis policy's dedup_retention_ms, in seconds")
    parser.add_argument("--clients", type=int, default=clients_default, help="load client processes")
    parser.add_argument("--base-port", type=int, default=8100, help="first port tried; the next free block is used")
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--keep", action="store_true", help="keep the cluster's temporary data directory (logs included)")
    args = parser.parse_args(argv)
    if args.minutes < 1 or args.retention_s < 1 or args.clients < 1:
        parser.error("--minutes, --retention-s and --clients must be at least 1")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so the finally blocks stop everything
    data = Path(tempfile.mkdtemp(prefix="settle-soak-"))
    try:
        report = run_soak(args, data)
    finally:
        if args.keep:
            print(f"data kept: {data}", file=sys.stderr)
        else:
            shutil.rmtree(data, ignore_errors=True)
    result = verdict(report["minutes"], args.retention_s, args.minutes)
    report["verdict"] = result
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
    title = (f"soak: 3 nodes, {args.clients} signed clients x batch {batch_commands}, "
             f"retention {args.retention_s:g} s, {os.cpu_count()} cpus")
    plot_soak(report["samples"], result["baseline_minute"], title, args.out / "soak.png")
    print(verdict_text(result))
    print(f"figures: {args.out / 'soak.json'}  plot: {args.out / 'soak.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
