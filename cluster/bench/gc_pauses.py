"""How long the garbage collector pauses a node's threads while the ledger applies fills.

    python -m cluster.bench.gc_pauses [--trades 200000] [--accounts 2000] [--thresholds 700,10 50000,10 10000,2]

Each threshold pair (young, middle; full collections off, as node/runtime.py runs) is measured in
a fresh process: the ledger is opened and frozen as a node freezes its loaded state, then
`--trades` fills in entries of 1,000 are applied while gc.callbacks time every collection in
process CPU time (the process's own work, not the machine's other load). The pair the node runs
with is node/runtime.py's. Prints one JSON object per pair. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time

from node.runtime import gc_generation0_threshold, gc_generation1_collections, gc_generation2_collections_never


def measure(trades: int, accounts: int, young: int, middle: int) -> dict:
    from cluster.ledger_workload import opening_entries, trade_entries
    from node.identity.keys import verify_ed25519
    from node.ledger import LedgerState, apply

    state = LedgerState()
    opening = opening_entries(accounts)
    for entry in opening:
        apply(state, entry, verify_ed25519)
    entries = trade_entries(accounts, trades, 1_000, opening[-1].index + 1, 1, 0)
    gc.collect()
    gc.freeze()  # as settle-node does after loading its store: only what apply makes is scanned
    gc.set_threshold(young, middle, gc_generation2_collections_never)
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started = [0.0]

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            pauses[info["generation"]].append(time.process_time() - started[0])

    gc.callbacks.append(timed)
    begun = time.process_time()
    for entry in entries:
        apply(state, entry, verify_ed25519)
    apply_s = time.process_time() - begun
    gc.callbacks.remove(timed)
    report = {"benchmark": "gc_pauses", "trades": trades, "accounts": accounts, "thresholds": [young, middle],
              "runs_in_node": (young, middle) == (gc_generation0_threshold, gc_generation1_collections),
              "apply_cpu_s": round(apply_s, 2)}
    for generation, name in ((0, "young"), (1, "middle"), (2, "full")):
        found = pauses[generation]
        report[f"{name}_collections"] = len(found)
        report[f"{name}_pause_ms_max"] = round(max(found, default=0.0) * 1000, 1)
    report["collector_cpu_share"] = round(sum(sum(p) for p in pauses.values()) / apply_s, 3)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--thresholds", nargs="*", default=["700,10", "50000,10", f"{gc_generation0_threshold},{gc_generation1_collections}"])
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child measuring one pair
    args = parser.parse_args()
    if args.one:
        young, middle = (int(v) for v in args.one.split(","))
        print(json.dumps(measure(args.trades, args.accounts, young, middle)), flush=True)
        return
    for pair in args.thresholds:
        subprocess.run([sys.executable, "-m", "cluster.bench.gc_pauses", "--trades", str(args.trades),
                        "--accounts", str(args.accounts), "--one", pair], check=True, timeout=3_600)


if __name__ == "__main__":
    main()
