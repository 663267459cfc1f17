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

Entries found waiting one behind the other are taken together, up to `apply_group_entries_max`,
and handed to `apply_entries` as one run, so that the store can write them in one synced commit
(docs/design.md#durability-contract). Nothing waits for a run to fill: an entry that arrives alone
is applied alone, at once. A step (a snapshot, an install, marking the node ready) is never part
of a run: the entries before it are applied and written first.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

# Entries (and snapshot steps) handed to the apply thread and not yet done. A 4,000-command entry
# is a few hundred KB, so this bounds the copies waiting in memory to tens of MB.
apply_queue_entries_max = 64
# Consecutive waiting entries applied as one run (one synced store commit for all of them).
apply_group_entries_max = apply_queue_entries_max

EntryArgs = tuple[Any, ...]
ApplyEntries = Callable[[Sequence[EntryArgs]], Sequence[Any]]  # one result per entry, in order


@dataclass(frozen=True, slots=True)
class _Work:
    future: Future
    args: tuple[Any, ...]
    step: Callable[..., Any] | None  # None: an entry, for apply_entries


class ApplyThread:
    def __init__(self, apply_entries: ApplyEntries) -> None:
        self._apply_entries = apply_entries
        self._queue: deque[_Work] = deque()
        self._changed = threading.Condition()
        self._waiting = 0  # queued or running
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="apply", daemon=True)
        self._thread.start()

    def submit_entry(self, *args) -> Future:
        """Queues an entry for apply_entries, after everything submitted before it; its Future
        holds the entry's result once the run it belongs to is done."""
        return self._queue_work(_Work(Future(), args, None))

    def submit(self, work: Callable[..., Any], *args) -> Future:
        """Runs work(*args) after everything submitted before it, alone; its Future holds the result."""
        return self._queue_work(_Work(Future(), args, work))

    def _queue_work(self, work: _Work) -> Future:
        with self._changed:
            if self._closed:
                raise RuntimeError("the apply thread is closed")
            self._queue.append(work)
            self._waiting += 1
            self._changed.notify()
        return work.future

    def _next_run(self) -> list[_Work] | None:
        """The next step alone, or the entries waiting one behind the other (up to the group
        bound); None once closed."""
        with self._changed:
            while not self._queue and not self._closed:
                self._changed.wait()
            if self._closed:
                return None
            run = [self._queue.popleft()]
            if run[0].step is None:
                while self._queue and self._queue[0].step is None and len(run) < apply_group_entries_max:
                    run.append(self._queue.popleft())
            return run

    def _run(self) -> None:
        while (run := self._next_run()) is not None:
            try:
                started = [work for work in run if work.future.set_running_or_notify_cancel()]
                if not started:
                    continue
                first = started[0]
                if first.step is not None:
                    _settle(first.future, first.step, first.args)
                else:
                    try:
                        results = self._apply_entries([work.args for work in started])
                    except BaseException as error:  # noqa: BLE001 - handed to every waiter
                        for work in started:
                            work.future.set_exception(error)
                    else:
                        assert len(results) == len(started), (len(results), len(started))
                        for work, result in zip(started, results):
                            work.future.set_result(result)
            finally:
                with self._changed:
                    self._waiting -= len(run)

    @property
    def waiting(self) -> int:
        """Work submitted and not finished yet (the run being applied included)."""
        return self._waiting

    @property
    def has_room(self) -> bool:
        return self._waiting < apply_queue_entries_max

    def close(self) -> None:
        """Drops what has not started (a restart applies it again from the log) and waits for
        what is running. Never from the apply thread itself."""
        with self._changed:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            self._waiting -= len(dropped)
            self._changed.notify_all()
        for work in dropped:
            work.future.cancel()
        self._thread.join()


def _settle(future: Future, step: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = step(*args)
    except BaseException as error:  # noqa: BLE001 - the Future carries it to whoever waits
        future.set_exception(error)
    else:
        future.set_result(result)
