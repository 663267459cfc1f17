"""The wall clock a signer stamps its statements with: a batch's signed_at_ms, a feeder's source
time. The ledger bounds its own time by the submitters' clocks (node/ledger/ledger_clock.py), so
every signer reads the same clock the same way."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Wall-clock milliseconds: a feeder's source time (the ledger takes it within 10 s ahead of,
    and stale_after_ms behind, the leader's clock)."""
    return time.time_ns() // 1_000_000
