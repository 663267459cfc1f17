"""Process-wide settings a node runs with (and benchmarks use, so their figures are comparable)."""

from __future__ import annotations

import gc

# Applying an entry allocates many short-lived records and no reference cycles on its hot path;
# with Python's default gen-0 threshold (700) the collector took ~10% of a loaded leader's time,
# and more as the ledger grows (every collection of the old generation scans all of it).
gc_generation0_threshold = 50_000


def tune_garbage_collector() -> None:
    gc.set_threshold(gc_generation0_threshold, *gc.get_threshold()[1:])


def freeze_long_lived_objects() -> None:
    """After loading the ledger: keep what exists now out of every future collection."""
    gc.collect()
    gc.freeze()
