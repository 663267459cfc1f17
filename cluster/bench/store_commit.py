"""Measures what node/store adds per Raft entry: LedgerStore.commit of 1,000-fill entries.

    python -m cluster.bench.store_commit [--accounts 10000] [--entries 200] [--batch 1000]

Not a test (no pass or fail; the figures depend on the disk and the machine's load). It opens
10,000 funded accounts, then applies `--entries` entries of `--batch` SettleTrades drawn
uniformly (the worst case for the store: every fill touches two fresh accounts and positions),
timing the ledger's apply and the store's commit of each entry separately, once with
metasync on (the store's setting) and once with it off (one fdatasync per commit instead of
two), then times load() and a snapshot round trip. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from cluster.ledger_workload import opening_entries, trade_entries
from node.identity.keys import verify_ed25519
from node.ledger import LedgerState, apply
from node.runtime import tune_garbage_collector
from node.store import LedgerStore, environment, snapshot_summary


def _run(directory: Path, args: argparse.Namespace, metasync: bool) -> dict:
    environment.METASYNC = metasync  # measurement only: compare the two flush policies
    state = LedgerState()
    opening = opening_entries(args.accounts)
    entries = trade_entries(args.accounts, args.entries * args.batch, args.batch, opening[-1].index + 1, 1, 0)
    apply_s: list[float] = []
    commit_s: list[float] = []
    touched: list[int] = []
    with LedgerStore(directory / "store") as store:
        for entry in opening:
            apply(state, entry, verify_ed25519)
            store.commit(state)
        for entry in entries:
            t0 = time.perf_counter()
            apply(state, entry, verify_ed25519)
            t1 = time.perf_counter()
            store.commit(state)
            t2 = time.perf_counter()
            apply_s.append(t1 - t0)
            commit_s.append(t2 - t1)
            touched.append(len(state.touched))
        t0 = time.perf_counter()
        loaded = store.load()
        load_s = time.perf_counter() - t0
        assert loaded.state_hash == state.state_hash
        t0 = time.perf_counter()
        store.copy_to(directory / "snapshot")
        copy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    snapshot_summary(directory / "snapshot")
    summary_s = time.perf_counter() - t0
    with LedgerStore(directory / "other") as other:
        t0 = time.perf_counter()
        other.install(directory / "snapshot")
        install_s = time.perf_counter() - t0
    commit_mean = statistics.fmean(commit_s)
    return {
        "metasync": metasync,
        "commit_us_per_entry_mean": round(commit_mean * 1e6),
        "commit_us_per_entry_median": round(statistics.median(commit_s) * 1e6),
        "commit_us_per_entry_p99": round(sorted(commit_s)[int(len(commit_s) * 0.99) - 1] * 1e6),
        "commit_us_per_command": round(commit_mean / args.batch * 1e6, 2),
        "commit_us_per_record": round(commit_mean / statistics.fmean(touched) * 1e6, 2),
        "records_per_entry_mean": round(statistics.fmean(touched)),
        "apply_us_per_command": round(statistics.fmean(apply_s) / args.batch * 1e6, 2),
        "load_s": round(load_s, 3),
        "records_loaded": sum(1 for _ in loaded.records()),
        "snapshot_copy_s": round(copy_s, 3),
        "snapshot_bytes": (directory / "snapshot").stat().st_size,
        "snapshot_summary_s": round(summary_s, 3),
        "install_s": round(install_s, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to create the stores (default: a temp dir)")
    args = parser.parse_args()
    tune_garbage_collector()  # as settle-node runs
    runs = []
    for metasync in (True, False):
        with tempfile.TemporaryDirectory(dir=args.dir) as directory:
            runs.append(_run(Path(directory), args, metasync))
    print(json.dumps({
        "benchmark": "store_commit",
        "accounts": args.accounts,
        "entries": args.entries,
        "commands_per_entry": args.batch,
        "runs": runs,
        "python": platform.python_version(),
    }, indent=1))


if __name__ == "__main__":
    main()
