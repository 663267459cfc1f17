"""Process-wide settings a node runs with (and benchmarks use, so their figures are comparable).

Python's cyclic garbage collector stops every thread while it runs, pysyncobj's tick thread
included, so its pauses are pauses of the node's heartbeats (docs/design.md#pauses-of-the-tick-thread).
Its cost is the number of container objects it scans, and the ledger is made of millions of
long-lived ones (accounts, positions, one dedup record per command applied) that contain no
reference cycles. So:

- the old generation is never collected automatically: a full collection scans the whole ledger
  (4 s at a million accounts and five million dedup records), and what reaches it is what lived
  through two young collections: the ledger's records;
- with no full collections to trigger, frequent young collections are cheap, and short: a young
  collection is due after `gc_generation0_threshold` net allocations and the middle generation
  every `gc_generation1_collections` of them, so a pause scans at most a few tens of thousands of
  objects. Measured with `python -m cluster.bench.gc_pauses --trades 600000` (fills in entries of
  1,000, collector time in process CPU time): the previous (50,000, 10) paused up to 51 ms per
  young and 470 ms per middle collection; (10,000, 2) at most 21 and 40 ms, for 4.8% of the apply
  time. CPython's (700, 10) pauses briefly but takes ~10% (and its full collections of the growing
  heap took more, and longer, as the ledger grew);
- a state loaded in bulk at start is made with the collector paused, then frozen out of every
  future collection: loading millions of records otherwise runs young collections over each of
  them.

The GIL is handed over after `gil_switch_interval_s` (CPython: 5 ms): pysyncobj's tick thread
gives it up at every socket call and waits for it again while the apply thread and the asyncio
loop compute. One back-to-back run each under plain load (cluster/bench/cluster.py, 60 s, batch
1,000): at 1 ms no tick paused over 250 ms and 12.0K trades/s; at 5 ms ticks paused up to 982 ms,
the leader changed, 3.0K trades/s (a busier machine too: the figure is indicative).

What this gives up: a reference cycle that lives through two young collections and dies later is
reclaimed only by an explicit `gc.collect()`.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

gc_generation0_threshold = 10_000
gc_generation1_collections = 2
# CPython's threshold is a C int: a full collection would need this many middle-generation ones.
gc_generation2_collections_never = 2**31 - 1
# How long a thread waiting for the GIL waits before it asks the running one to let go (CPython:
# 5 ms). pysyncobj's tick thread gives the GIL up at every socket call and waits for it again,
# while the apply thread and the asyncio loop compute: at 5 ms a tick paid it many times over.
gil_switch_interval_s = 0.001


def tune_garbage_collector() -> None:
    gc.set_threshold(gc_generation0_threshold, gc_generation1_collections, gc_generation2_collections_never)
    sys.setswitchinterval(gil_switch_interval_s)


def freeze_long_lived_objects() -> None:
    """After loading the ledger: keep what exists now out of every future collection."""
    gc.collect()
    gc.freeze()


@contextmanager
def loading_long_lived_objects() -> Iterator[None]:
    """Around loading a large state that lives on (the store, at start): the young generations
    are collected first, the collector is paused while the state's objects are made, and
    everything that exists at the end is frozen out of future collections. So the block must
    leave no reference cycle it drops later: frozen objects are still freed by reference
    counting, never by the collector. (A snapshot installed while the node runs is loaded with
    the collector on: pausing it would pause it for every thread.)"""
    gc.collect(1)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
