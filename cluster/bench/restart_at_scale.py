"""Restart and catch-up at scale: a 3-node cluster holding a million accounts, under load.

    python -m cluster.bench.restart_at_scale [--accounts 1000000] [--dedup-records 5000000]
        [--load-seconds 240] [--clients 2] [--compaction-entries 500] [--base-port 24700] [--out bench-results]

1. Builds the state fast (cluster/bench/scale_state.py: the pure ledger, entries of 4,000
   commands, one store transaction) in a child process, and times loading it the way a node does
   at start (`LedgerStore.load` with the collector paused, node/runtime.py).
2. Gives every node a copy of the store and a Raft dump at its applied index (what a node that
   compacted its log holds), starts the cluster (mTLS, signed batches, forced compaction: a
   snapshot every `--compaction-entries` entries), and times each node from process start to
   `ready` in Cluster.Status; then kills one follower and restarts it with no load running.
3. Installs the genesis signer set and runs cluster/bench/cluster.py's load (batch 1,000,
   `--clients` processes, `--load-seconds`), and meanwhile: kills a follower and restarts it (time
   to ready and to caught up), then wipes the other follower's state and starts it empty (time to
   the snapshot installed, ready and caught up).
4. Watches every node's term the whole time (a term change is a leader change: none is expected,
   the faults are followers'), and reads the longest tick pause each node logged (tick_watch.py).

Prints JSON and writes OUT/restart-at-scale.json. Every wait is bounded in time. Needs about 3 GB
of memory per node at the defaults. Not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import shutil
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from cluster.bench.cluster import MARKET, PRICE, measure_batch
from cluster.demo.oracle import demo_price
from cluster.local import LocalCluster
from node.identity.clock import now_ms

raft_noop_command = b"\x01"  # pysyncobj's NO_OP entry: never handed to the state machine
map_size_bytes = 8 << 30  # room for the state, its growth under load and LMDB's copy-on-write pages
status_poll_s = 0.25
ready_timeout_s = 300.0
caught_up_entries = 20  # a node within this many applied entries of the leader has caught up
load_start_timeout_s = 300.0
PAUSE_LINE = re.compile(r"tick thread paused (\d+) ms")


# -- the state, built in a child process (its memory goes back when it ends) -----------------------


def _build(accounts: int, dedup_records: int, node_dir: str, cluster_addresses: list[str], queue) -> None:
    from node.ledger.state_hash import hash_bytes
    from node.replica.snapshot import SnapshotHeader, write_snapshot
    from node.runtime import tune_garbage_collector

    from cluster.bench.scale_state import build_scale_state, write_scale_store

    tune_garbage_collector()
    started = time.monotonic()
    state = build_scale_state(accounts, dedup_records)
    built_s = time.monotonic() - started
    store_dir = Path(node_dir) / "ledger"
    started = time.monotonic()
    write_scale_store(state, store_dir, map_size_bytes)
    written_s = time.monotonic() - started
    # The node's Raft dump at the store's index: pysyncobj starts from it as after a compaction.
    from node.store import LedgerStore

    index = state.applied_index
    header = SnapshotHeader(last_entry=(raft_noop_command, index, 0), previous_entry=(raft_noop_command, index - 1, 0),
                            cluster=tuple(sorted(cluster_addresses)), applied_index=index,
                            state_hash=hash_bytes(state.state_hash))
    copy = Path(node_dir) / "scale-copy.mdb"
    with LedgerStore(store_dir, map_size_bytes=map_size_bytes) as store:
        store.copy_to(copy)
    write_snapshot(Path(node_dir) / "raft.dump", header, copy)
    copy.unlink()
    queue.put({"build_s": round(built_s, 1), "store_write_s": round(written_s, 1), "applied_index": index,
               "dedup_records": len(state.dedup), "accounts": len(state.accounts),
               "positions": sum(len(p) for p in state.positions.values()),
               "store_file_mb": (store_dir / "data.mdb").stat().st_size >> 20,
               "dump_file_mb": (Path(node_dir) / "raft.dump").stat().st_size >> 20})


def _load(store_dir: str, queue) -> None:
    """What a node does with its store at start, timed."""
    from node.runtime import loading_long_lived_objects, tune_garbage_collector
    from node.store import LedgerStore

    tune_garbage_collector()
    started, cpu = time.monotonic(), time.process_time()
    with LedgerStore(Path(store_dir), map_size_bytes=map_size_bytes) as store, loading_long_lived_objects():
        state = store.load()
    queue.put({"store_load_s": round(time.monotonic() - started, 1), "store_load_cpu_s": round(time.process_time() - cpu, 1),
               "applied_index": state.applied_index})


def _in_child(target, *args) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    result = queue.get(timeout=3_600)
    child.join(timeout=60)
    return result


def _copy_node_state(source: Path, target: Path) -> None:
    shutil.copytree(source / "ledger", target / "ledger")
    shutil.copy2(source / "raft.dump", target / "raft.dump")


# -- watching the cluster ---------------------------------------------------------------------------


class TermWatch(threading.Thread):
    """Polls every node's status until stopped: term changes, and the latest status per node."""

    def __init__(self, cluster: LocalCluster) -> None:
        super().__init__(name="term-watch", daemon=True)
        self.cluster = cluster
        self.latest: dict[str, object] = {}
        self.ready_at: dict[str, list[float]] = {}  # address -> when each status that said ready was asked for
        self.terms: list[dict] = []  # every (node, term, leader) first seen
        self._stopping = threading.Event()

    def run(self) -> None:
        seen: set[tuple[str, int]] = set()
        with self.cluster.client(timeout_s=2.0) as client:
            while not self._stopping.is_set():
                asked_at = time.time()
                try:
                    answers = client.statuses()
                except Exception:  # noqa: BLE001 - a node being killed; ask again
                    answers = []
                for address, status in answers:
                    if isinstance(status, Exception):
                        self.latest.pop(address, None)
                        continue
                    self.latest[address] = status
                    if status.ready:
                        self.ready_at.setdefault(address, []).append(asked_at)
                    if (status.node_id, status.term) not in seen and status.term:
                        seen.add((status.node_id, status.term))
                        self.terms.append({"at": round(time.time(), 3), "node": status.node_id, "term": status.term,
                                           "leader": status.leader})
                self._stopping.wait(status_poll_s)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)

    def ready_after(self, address: str, since: float) -> float | None:
        """Seconds from `since` (epoch) to the first status asked for after it that said ready."""
        later = [t for t in self.ready_at.get(address, []) if t >= since]
        return round(later[0] - since, 1) if later else None

    def leader(self):
        return next((s for s in self.latest.values() if s.role == 1), None)

    def status_of(self, address: str):
        return self.latest.get(address)


def _wait(condition, timeout_s: float) -> float | None:
    """Seconds until condition() holds (polled), or None if it did not within timeout_s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return round(time.monotonic() - started, 1)
        time.sleep(status_poll_s / 2)
    return None


def _followers(watch: TermWatch, addresses: dict[int, str]) -> list[int]:
    """Node numbers of the followers as the cluster stands now (never fault the leader)."""
    leader = watch.leader()
    return [n for n, a in addresses.items() if leader is None or f"node{n}" != leader.node_id]


def _time_to_ready(watch: TermWatch, address: str, since: float) -> float | None:
    if _wait(lambda: watch.ready_after(address, since) is not None, ready_timeout_s) is None:
        return None
    return watch.ready_after(address, since)


def _caught_up(watch: TermWatch, address: str) -> bool:
    status, leader = watch.status_of(address), watch.leader()
    return (status is not None and leader is not None and status.ready
            and status.applied_index + caught_up_entries >= leader.applied_index)


def _longest_pauses(cluster: LocalCluster, since: float) -> dict[str, int]:
    """The longest tick pause each node logged after `since` (epoch seconds)."""
    longest = {}
    for spec in cluster.specs:
        worst = 0
        for line in (cluster.node_dir(spec.number) / "node.log").read_text(errors="replace").splitlines():
            found = PAUSE_LINE.search(line)
            if found and _line_time(line) >= since:
                worst = max(worst, int(found.group(1)))
        longest[spec.node_id] = worst
    return longest


def _line_time(line: str) -> float:
    try:
        return datetime.fromisoformat(json.loads(line)["time"].replace("Z", "+00:00")).timestamp()
    except (ValueError, KeyError):
        return 0.0


def _installed_line(cluster: LocalCluster, number: int) -> str:
    for line in (cluster.node_dir(number) / "node.log").read_text(errors="replace").splitlines():
        if '"snapshot_installed"' in line:
            return json.loads(line)["message"]
    return ""


# -- the benchmark --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--dedup-records", type=int, default=5_000_000)
    parser.add_argument("--load-seconds", type=float, default=240.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--compaction-entries", type=int, default=500)
    parser.add_argument("--checkpoint-every-ms", type=int, default=600_000,
                        help="the genesis policy's checkpoint interval: each checkpoint re-hashes and dumps the whole store")
    parser.add_argument("--base-port", type=int, default=24700)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="settle-scale-"))
    cluster = LocalCluster(data, nodes=3, base_port=args.base_port, extra_config={"map_size_bytes": map_size_bytes},
                           raft_tuning={"log_compaction_entries_min": args.compaction_entries},
                           policy={"checkpoint_every_ms": args.checkpoint_every_ms,
                                   "checkpoint_every_entries": 100 * args.compaction_entries})
    cluster.prepare()
    report: dict = {"benchmark": "restart_at_scale", "nodes": 3, "cpus": os.cpu_count(), "python": platform.python_version(),
                    "compaction_entries": args.compaction_entries, "checkpoint_every_ms": args.checkpoint_every_ms,
                    "data": str(data)}
    print(f"data: {data}", flush=True)

    report["state"] = _in_child(_build, args.accounts, args.dedup_records, str(cluster.node_dir(1)),
                                [s.raft_address for s in cluster.specs])
    print(json.dumps(report["state"]), flush=True)
    report["load_in_one_process"] = _in_child(_load, str(cluster.node_dir(1) / "ledger"))
    print(json.dumps(report["load_in_one_process"]), flush=True)
    for spec in cluster.specs[1:]:
        _copy_node_state(cluster.node_dir(1), cluster.node_dir(spec.number))

    watch = TermWatch(cluster)
    started_at = time.time()
    cluster.start()
    watch.start()
    try:
        addresses = {spec.number: spec.grpc_address for spec in cluster.specs}
        report["first_start_to_ready_s"] = {f"node{n}": _time_to_ready(watch, a, started_at) for n, a in addresses.items()}
        print(json.dumps({"first_start_to_ready_s": report["first_start_to_ready_s"]}), flush=True)
        cluster.install_genesis()
        with cluster.client(timeout_s=20.0) as client:
            client.submit([demo_price("scale-bench-px", MARKET, PRICE, now_ms())])
        leader = watch.leader()
        leader_address = next(a for n, a in addresses.items() if f"node{n}" == leader.node_id)

        idle = _followers(watch, addresses)[0]  # a restart with no load: the store's load and the node's start alone
        killed_at = time.time()
        cluster.kill(idle)
        cluster.start(idle)
        report["restart_idle"] = {"node": f"node{idle}", "kill_to_ready_s": _time_to_ready(watch, addresses[idle], killed_at)}
        print(json.dumps(report["restart_idle"]), flush=True)
        leader = watch.leader()
        leader_address = next(a for n, a in addresses.items() if f"node{n}" == leader.node_id)

        load: dict = {}
        load_thread = threading.Thread(target=lambda: load.update(measure_batch(
            leader_address, 1_000, args.load_seconds, args.clients, 0, 0, data)), name="load", daemon=True)
        first_index = leader.applied_index
        load_thread.start()
        waited = _wait(lambda: (watch.leader() is not None and watch.leader().applied_index > first_index + 20), load_start_timeout_s)
        load_started_at = time.time()
        report["load_started_after_s"] = waited
        time.sleep(20)  # steady load first, compaction included

        restarted = _followers(watch, addresses)[0]
        address = addresses[restarted]
        killed_at = time.time()
        cluster.kill(restarted)
        cluster.start(restarted)
        to_ready = _time_to_ready(watch, address, killed_at)
        to_caught_up = _wait(lambda: _caught_up(watch, address), ready_timeout_s)
        report["restart_under_load"] = {"node": f"node{restarted}", "kill_to_ready_s": to_ready,
                                        "then_to_caught_up_s": to_caught_up}
        print(json.dumps(report["restart_under_load"]), flush=True)

        wiped = _followers(watch, addresses)[-1]
        address = addresses[wiped]
        killed_at = time.time()
        cluster.kill(wiped)
        for item in cluster.node_dir(wiped).iterdir():
            if item.name not in ("node.toml", "node.log"):
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        cluster.start(wiped)
        to_ready = _time_to_ready(watch, address, killed_at)
        to_caught_up = _wait(lambda: _caught_up(watch, address), ready_timeout_s)
        report["wiped_follower_under_load"] = {"node": f"node{wiped}", "wipe_to_ready_s": to_ready,
                                               "then_to_caught_up_s": to_caught_up,
                                               "installed": _installed_line(cluster, wiped),
                                               "snapshots_refused_cut_short": (cluster.node_dir(wiped) / "node.log")
                                               .read_text(errors="replace").count("cut short")}
        print(json.dumps(report["wiped_follower_under_load"]), flush=True)

        load_thread.join(timeout=args.load_seconds + 600)
        report["load"] = load
        report["tick_pause_ms_max_under_load"] = _longest_pauses(cluster, load_started_at)
        report["tick_pause_ms_max_under_load_of_the_leader"] = report["tick_pause_ms_max_under_load"][leader.node_id]
        report["terms_seen"] = watch.terms
        first_term = min((t["term"] for t in watch.terms if t["at"] >= started_at), default=0)
        changes = sorted({t["term"] for t in watch.terms} - {first_term})
        report["leader_changes"] = len(changes)
        report["leader"] = {"first": f"{leader.node_id} (term {leader.term})",
                            "last": f"{watch.leader().node_id} (term {watch.leader().term})" if watch.leader() else None}
    finally:
        cluster.stop()
        watch.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "restart-at-scale.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
