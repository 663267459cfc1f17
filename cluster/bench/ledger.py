"""Ledger-only micro-benchmark: settle_trade applications per second on one core.

    python -m cluster.bench.ledger [--accounts 10000] [--trades 200000] [--batch 1000] [--makers 0] [--economics]

--makers 0 draws both sides of every fill uniformly from all accounts: the worst case, since no
account repeats within an entry and every record is encoded and hashed once per fill. With
--makers N, one side of each fill is one of N market makers, as on a real venue, and their
records are encoded and hashed once per entry however many fills they take part in.

Prints one JSON object. Not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from cluster.ledger_workload import opening_entries, trade_entries
from node.identity.keys import verify_ed25519
from node.ledger import LedgerState, apply
from node.runtime import tune_garbage_collector
from node.ledger.results import ResultCode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--makers", type=int, default=0, help="accounts on one side of every fill (0: uniform)")
    parser.add_argument("--economics", action="store_true",
                        help="markets with a fee schedule, minute funding and a call level; fills name their maker")
    args = parser.parse_args()
    tune_garbage_collector()  # as settle-node runs

    state = LedgerState()
    opening = opening_entries(args.accounts, economics=args.economics)
    for entry in opening:
        apply(state, entry, verify_ed25519)
    entries = trade_entries(args.accounts, args.trades, args.batch, opening[-1].index + 1, args.seed, args.makers, args.economics)

    ok = 0
    started = time.perf_counter()
    for entry in entries:
        ok += sum(1 for r in apply(state, entry, verify_ed25519).results if r.code == ResultCode.OK)
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "benchmark": "ledger_settle_trade",
        "accounts": args.accounts,
        "trades": args.trades,
        "batch": args.batch,
        "makers": args.makers,
        "economics": args.economics,
        "settled_ok": ok,
        "seconds": round(elapsed, 3),
        "trades_per_second": round(args.trades / elapsed),
        "microseconds_per_trade": round(elapsed / args.trades * 1e6, 2),
        "python": platform.python_version(),
    }))


if __name__ == "__main__":
    main()
