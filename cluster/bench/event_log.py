"""Measures what keeping events costs the store, and how fast they replay.

    python -m cluster.bench.event_log [--entries 2000] [--retention 1000] [--replay-entries 20000]

Not a test (no pass or fail; the figures depend on the disk and the machine's load).

1. LedgerStore.commit of empty entries carrying 0, 1, 10 or 100 liquidation events each (the
   event record is the only difference between the runs), split into the entries before the
   retention window fills and those after it (every commit then also prunes one record); and the
   bytes an event adds to the data file. The synced commit's fsyncs dominate it, so also: the
   event log's own part of a commit (write_entry_events, two prunes included) timed alone inside a
   write transaction that is then aborted.
2. LedgerStore.read_events over everything kept, in pieces of 256 entries: events read per second.
3. WatchEvents(from_index=1) through the real gRPC server and the SDK's watch, over an in-process
   replica holding `--replay-entries` entries of one event each: events delivered per second.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from node.client import SettlementClient
from node.ledger import LedgerState, LogEntry, apply
from node.ledger.events import Liquidation
from node.runtime import tune_garbage_collector
from node.server.limits import watch_replay_entries_per_read
from node.store import LedgerStore
from node.store.environment import open_live
from node.store.event_log import write_entry_events
from node.store.layout import DATA_FILE_NAME, map_size_bytes_default
from tests.server.fake_replica import FakeReplica
from tests.server.serving import address, serving


def _events(count: int, index: int) -> tuple[Liquidation, ...]:
    return tuple(Liquidation(f"acct-{index}-{k}", "BTC-PERP", 10 + k, 50_000, 25, 0, 0, 10 + k, 0, 0) for k in range(count))


def _microseconds(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median_us": round(statistics.median(ordered) * 1e6),
        "p99_us": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e6),
    }


def _commit_run(directory: Path, events_per_entry: int, entries: int, retention: int) -> dict:
    state = LedgerState()
    commit_s: list[float] = []
    with LedgerStore(directory / "store", events_retention_entries=retention) as store:
        for index in range(1, entries + 1):
            apply(state, LogEntry(index, 1_000 * index, ()))
            events = _events(events_per_entry, index)
            t0 = time.perf_counter()
            store.commit(state, events)
            commit_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        read, total = store.read_events(1, watch_replay_entries_per_read), 0
        while True:
            total += sum(len(entry.events) for entry in read.entries)
            if read.through_index >= read.applied_index:
                break
            read = store.read_events(read.through_index + 1, watch_replay_entries_per_read)
        read_s = time.perf_counter() - t0
    kept_entries = min(entries, retention)
    return {
        "events_per_entry": events_per_entry,
        "commit_before_retention_full": _microseconds(commit_s[:retention]),
        "commit_while_pruning": _microseconds(commit_s[retention:]) if entries > retention else None,
        "data_file_bytes": (directory / "store" / DATA_FILE_NAME).stat().st_size,
        "events_kept": total,
        "read_events_per_s": round(total / read_s) if total else None,
        "entries_kept": kept_entries,
    }


def _event_log_part(directory: Path, repeats: int = 2_000) -> dict:
    """write_entry_events alone, with two records due for pruning, in aborted transactions."""
    env, dbs = open_live(directory / "alone", map_size_bytes_default)
    try:
        with env.begin(write=True) as txn:
            for index in (1, 2, 3):
                write_entry_events(txn, dbs, index, index, _events(1, index), index - 1, 1_000)
        out = {}
        for count in (0, 1, 10, 100):
            events, samples = _events(count, 9), []
            for _ in range(repeats if count < 100 else repeats // 10):
                with env.begin(write=True) as txn:
                    t0 = time.perf_counter()
                    write_entry_events(txn, dbs, 10_000, 1, events, 9_999, 1_000)
                    samples.append(time.perf_counter() - t0)
                    txn.abort()
            out[f"{count}_events"] = {"median_us": round(statistics.median(samples) * 1e6, 1),
                                      "min_us": round(min(samples) * 1e6, 1)}
        return out
    finally:
        env.close()


async def _replay(entries: int) -> dict:
    fake = FakeReplica()
    for n in range(entries):
        fake.commit_entry(_events(1, n))
    async with serving(fake) as server:
        async with SettlementClient([address(server)]) as client:
            received = 0
            t0 = time.perf_counter()
            async for event in client.watch_events(from_index=1):
                received += 1
                if event.applied_index == entries:
                    break
            elapsed = time.perf_counter() - t0
    return {"events": received, "seconds": round(elapsed, 3), "events_per_s": round(received / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=2_000)
    parser.add_argument("--retention", type=int, default=1_000)
    parser.add_argument("--replay-entries", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to create the stores (default: a temp dir)")
    args = parser.parse_args()
    tune_garbage_collector()  # as settle-node runs
    runs = []
    for events_per_entry in (0, 1, 10, 100):
        with tempfile.TemporaryDirectory(dir=args.dir) as directory:
            runs.append(_commit_run(Path(directory), events_per_entry, args.entries, args.retention))
    empty = runs[0]["data_file_bytes"]
    for run in runs[1:]:
        stored = run["entries_kept"] * run["events_per_entry"]
        run["data_file_bytes_per_event_kept"] = round((run["data_file_bytes"] - empty) / stored)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        part = _event_log_part(Path(directory))
    print(json.dumps({
        "benchmark": "event_log",
        "entries": args.entries,
        "events_retention_entries": args.retention,
        "commits": runs,
        "event_log_part_of_a_commit": part,
        "replay": asyncio.run(_replay(args.replay_entries)),
        "python": platform.python_version(),
    }, indent=1))


if __name__ == "__main__":
    main()
