"""Watching pysyncobj's tick thread for pauses.

Every heartbeat a leader sends and every answer a follower gives comes from that one thread; a
pause of it longer than the election timeout (500 ms at the least) costs a healthy leader its
term (docs/design.md#pauses-of-the-tick-thread). A tick callback measures the time between two
ticks; a gap longer than `tick_pause_logged_ms` is logged with how much of it the garbage
collector took (it stops every thread) and how much the journal's syncs took (the tick thread
msyncs the journal every tick: a disk that stalls stalls it), so an operator (and the benchmarks)
can see a pause coming before it deposes anyone, and tell the machine's part from the node's.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("settle.replica")

# Half the shortest election timeout (RaftTuning.election_timeout_min_ms): a pause this long is
# worth a line; twice as long loses the leader.
tick_pause_logged_ms = 250


class TickWatch:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 journal_sync_s: Callable[[], float] = lambda: 0.0) -> None:
        """`journal_sync_s`: the seconds the journal has spent syncing so far (a running total)."""
        self._clock = clock
        self._journal_sync_s = journal_sync_s
        self._synced_s_at_last_tick = journal_sync_s()
        self._last_tick: float | None = None
        self._collector_s = 0.0  # the collector's time since the last tick, on any thread
        self._collection_started: float | None = None
        self.longest_pause_ms = 0  # the longest gap between two ticks since the start
        gc.callbacks.append(self._on_collection)

    def _on_collection(self, phase: str, _info: dict) -> None:
        if phase == "start":
            self._collection_started = self._clock()
        elif self._collection_started is not None:
            self._collector_s += self._clock() - self._collection_started
            self._collection_started = None

    def on_tick(self) -> None:  # a tick callback: pysyncobj's tick thread, once per tick
        now = self._clock()
        collector_s, self._collector_s = self._collector_s, 0.0
        synced_s = self._journal_sync_s()
        syncing_s, self._synced_s_at_last_tick = synced_s - self._synced_s_at_last_tick, synced_s
        if self._last_tick is not None:
            pause_ms = round((now - self._last_tick) * 1000)
            self.longest_pause_ms = max(self.longest_pause_ms, pause_ms)
            if pause_ms > tick_pause_logged_ms:
                log.warning("tick thread paused %d ms (the garbage collector %d ms of it, the journal's syncs %d ms)",
                            pause_ms, round(collector_s * 1000), round(syncing_s * 1000))
        self._last_tick = now

    def close(self) -> None:
        if self._on_collection in gc.callbacks:
            gc.callbacks.remove(self._on_collection)
