"""How many bytes of the LMDB map an account, a position and a dedup record take.

    python -m cluster.bench.map_size [--accounts 200000] [--dedup-records 1000000]

Builds a state with cluster/bench/scale_state.py (every account funded and holding one position,
refused withdrawals making up the dedup records), writes it to a store, takes the compact copy a
snapshot holds, and divides each table's pages (LMDB's own statistics: branch, leaf and overflow
pages times the page size) by its records. Prints one JSON object. For sizing `map_size_bytes`
see README "LMDB map size".
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--dedup-records", type=int, default=1_000_000)
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
    print(json.dumps({
        "benchmark": "map_size",
        "accounts": len(state.accounts), "positions": positions, "dedup_records": len(state.dedup),
        "compact_file_bytes": compact_bytes,
        "bytes_per_account": round(accounts_bytes / len(state.accounts), 1),
        "bytes_per_position": round(positions_bytes / positions, 1),
        "bytes_per_dedup_record": round(dedup_bytes / len(state.dedup), 1),
        "tables_bytes": {table.decode(): size for table, (size, _) in tables.items()},
    }))


if __name__ == "__main__":
    main()
