"""The apply thread: committed entries are applied here, one at a time and in log order, never on
pysyncobj's tick thread.

pysyncobj calls its state machine on the same thread that sends heartbeats and answers the
leader, so a large entry (4,000 commands: tens of milliseconds, far more on a busy machine), a
backlog of them after a restart, or installing a snapshot kept a node silent long enough for a
healthy leader to be deposed. So the tick thread only hands each committed entry to this thread
(a Future of its outcome) and goes on; whatever must happen at a given point of the log (taking a
snapshot of the state as of an entry, installing a peer's snapshot) is queued behind the entries
before it, so it sees exactly those applied. The tick thread stops handing entries over while
`apply_queue_entries_max` are waiting: a follower replaying a long log holds them in its log, not
in memory twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Entries (and snapshot steps) handed to the apply thread and not yet done. A 4,000-command entry
# is a few hundred KB, so this bounds the copies waiting in memory to tens of MB.
apply_queue_entries_max = 64


class ApplyThread:
    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apply")
        self._waiting = 0
        self._lock = threading.Lock()

    def submit(self, work: Callable[..., T], *args) -> Future:
        """Runs work(*args) after everything submitted before it; its Future holds the result."""
        with self._lock:
            self._waiting += 1
        future = self._executor.submit(work, *args)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future) -> None:
        with self._lock:
            self._waiting -= 1

    @property
    def waiting(self) -> int:
        """Work submitted and not finished yet (the one running included)."""
        return self._waiting

    @property
    def has_room(self) -> bool:
        return self._waiting < apply_queue_entries_max

    def close(self) -> None:
        """Drops what has not started (a restart applies it again from the log) and waits for
        what is running. Never from the apply thread itself."""
        self._executor.shutdown(wait=True, cancel_futures=True)
