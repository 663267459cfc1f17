"""How many bytes of the LMDB map an account, a position and a dedup record take.

    python -m cluster.bench.map_size [--accounts 200000] [--dedup-records 1000000] [--memory]

Builds a state with cluster/bench/scale_state.py (every account funded and holding one position,
refused withdrawals making up the dedup records), writes it to a store, takes the compact copy a
snapshot holds, and divides each table's pages (LMDB's own statistics: branch, leaf and overflow
pages times the page size) by its records. Prints one JSON object. For sizing `map_size_bytes`
see README "LMDB map size".

--memory also measures what a dedup record costs in a node's memory: the resident size of a
process that built the state with `--dedup-records` more records than another one that built the
same accounts with the fewest records their own commands leave, divided by the difference (two
fresh child processes, after a full collection). For sizing the retention window see README
"Running for months".
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import tempfile
from pathlib import Path

from cluster.bench.scale_state import build_scale_state, write_scale_store
from node.ledger.records import TABLE_ACCOUNT, TABLE_DEDUP, TABLE_POSITION, TABLES
from node.runtime import tune_garbage_collector
from node.store import LedgerStore
from node.store.environment import open_snapshot

map_size_bytes = 8 << 30


def table_bytes(snapshot_file: Path) -> dict[bytes, tuple[int, int]]:
    """table -> (bytes of its pages, entries) in an LMDB data file."""
    env, dbs = open_snapshot(snapshot_file)
    try:
        with env.begin() as txn:
            found = {}
            for table in TABLES:
                stat = txn.stat(dbs[table])
                pages = stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]
                found[table] = (pages * stat["psize"], stat["entries"])
            return found
    finally:
        env.close()


def _resident_bytes_after_building(accounts: int, dedup_records: int, answer) -> None:
    tune_garbage_collector()
    state = build_scale_state(accounts, dedup_records)
    gc.collect()
    with open("/proc/self/status") as status:
        resident_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    answer.put((resident_kb * 1024, len(state.dedup)))


def resident_bytes(accounts: int, dedup_records: int) -> tuple[int, int]:
    """(resident bytes, dedup records held) of a fresh process that built that state."""
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    child = context.Process(target=_resident_bytes_after_building, args=(accounts, dedup_records, answer))
    child.start()
    try:
        return answer.get(timeout=1_800)
    finally:
        child.join(timeout=60)


def dedup_bytes_in_memory(accounts: int, dedup_records: int) -> dict:
    fewest_rss, fewest = resident_bytes(accounts, 0)  # the accounts' own deposits and trades
    more_rss, more = resident_bytes(accounts, fewest + dedup_records)
    return {"memory_dedup_records_compared": more - fewest,
            "memory_bytes_per_dedup_record": round((more_rss - fewest_rss) / (more - fewest), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--dedup-records", type=int, default=1_000_000)
    parser.add_argument("--memory", action="store_true", help="also measure a dedup record's bytes in memory")
    args = parser.parse_args()
    tune_garbage_collector()
    state = build_scale_state(args.accounts, args.dedup_records)
    with tempfile.TemporaryDirectory(prefix="settle-map-size-") as tmp:
        store_dir, copy = Path(tmp) / "ledger", Path(tmp) / "compact.mdb"
        write_scale_store(state, store_dir, map_size_bytes)
        with LedgerStore(store_dir, map_size_bytes=map_size_bytes) as store:
            store.copy_to(copy)
        tables = table_bytes(copy)
        compact_bytes = copy.stat().st_size
    accounts_bytes, _ = tables[TABLE_ACCOUNT]
    positions_bytes, _ = tables[TABLE_POSITION]
    dedup_bytes, _ = tables[TABLE_DEDUP]
    positions = sum(len(p) for p in state.positions.values())
    memory = dedup_bytes_in_memory(args.accounts, args.dedup_records) if args.memory else {}
    print(json.dumps({
        "benchmark": "map_size",
        "accounts": len(state.accounts), "positions": positions, "dedup_records": len(state.dedup),
        "compact_file_bytes": compact_bytes,
        "bytes_per_account": round(accounts_bytes / len(state.accounts), 1),
        "bytes_per_position": round(positions_bytes / positions, 1),
        "bytes_per_dedup_record": round(dedup_bytes / len(state.dedup), 1),
        "tables_bytes": {table.decode(): size for table, (size, _) in tables.items()},
        **memory,
    }))


if __name__ == "__main__":
    main()
