"""Group commit: concurrent Submit calls share one replica.submit call, i.e. one Raft entry.

Throughput comes from many commands per entry (docs/design.md#group-commit), so a request does not go
to the replica on its own: it waits up to `coalesce_wait_ms` for company, or less when the entry
is full. Up to `submits_in_flight_max` entries are in flight at once; while every slot is busy,
requests keep gathering, so a loaded server builds full entries without waiting on the timer.
Every caller gets exactly its own batch's results back, in order.

Before an entry is logged, `judge` (batch_precheck.py: the ledger's verdict on each batch) may
answer some of its batches itself: those callers get their refusal and the entry carries the
others, or is not logged at all when none is left.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from node.ledger.limits import command_id_bytes_max
from node.ledger.results import Result
from node.replica.port import AmbiguousOutcome, Batch, ReplicaPort, SubmitOutcome, Unavailable


# For each batch of an entry: (its results, the applied index they were decided at) when it is
# answered without being logged, or None when it is to be logged.
Judge = Callable[[Sequence[Batch]], list[tuple[tuple[Result, ...], int] | None]]


class Overloaded(Exception):
    """Too many commands are queued; nothing was logged, the caller may retry later."""


@dataclass(slots=True)
class _Waiting:
    batch: Batch
    arrived_s: float
    answer: asyncio.Future[tuple[tuple[Result, ...], int]] = field(repr=False)


class SubmitCoalescer:
    def __init__(
        self,
        replica: ReplicaPort,
        *,
        entry_commands_max: int,
        coalesce_wait_ms: float,
        submits_in_flight_max: int,
        queued_commands_max: int,
        submit_timeout_ms: int,
        judge: Judge | None = None,
    ) -> None:
        assert entry_commands_max >= 1 and submits_in_flight_max >= 1 and coalesce_wait_ms >= 0
        self._replica = replica
        self._judge = judge
        self._entry_commands_max = entry_commands_max
        self._wait_s = coalesce_wait_ms / 1000
        self._queued_commands_max = queued_commands_max
        self._submit_timeout_s = submit_timeout_ms / 1000
        self._waiting: deque[_Waiting] = deque()
        self._waiting_commands = 0
        self._arrived = asyncio.Event()
        self._slots = asyncio.Semaphore(submits_in_flight_max)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def queued_commands(self) -> int:
        """Commands waiting for an entry (not yet handed to the replica)."""
        return self._waiting_commands

    async def submit(self, batch: Batch) -> tuple[tuple[Result, ...], int]:
        """This batch's results and the index of the entry that carried it. Raises what the
        replica raised (NotLeader, Unavailable, AmbiguousOutcome) or Overloaded."""
        if self._closed:
            raise Unavailable("stopping")
        size = len(batch.commands)
        assert size >= 1, size
        if self._waiting_commands + size > self._queued_commands_max:
            raise Overloaded(f"busy: {self._waiting_commands} commands queued, at most {self._queued_commands_max}")
        loop = asyncio.get_running_loop()
        if self._dispatcher is None:
            self._dispatcher = loop.create_task(self._dispatch(), name="submit-coalescer")
        waiting = _Waiting(batch, loop.time(), loop.create_future())
        self._waiting.append(waiting)
        self._waiting_commands += size
        self._arrived.set()
        try:
            return await waiting.answer
        except asyncio.CancelledError:
            # The caller went away (deadline, disconnect). If its batch was not taken yet, it is
            # not logged behind its back; once taken, the outcome is the replica's.
            self._forget(waiting)
            raise

    def _forget(self, waiting: _Waiting) -> None:
        try:
            self._waiting.remove(waiting)
        except ValueError:
            return
        self._waiting_commands -= len(waiting.batch.commands)

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._waiting:
                self._arrived.clear()
                await self._arrived.wait()
            await self._slots.acquire()
            # Linger for company, counted from the oldest waiting request's arrival: when every
            # slot was busy for longer than that, the entry leaves at once.
            while self._waiting and self._waiting_commands < self._entry_commands_max:
                remaining_s = self._waiting[0].arrived_s + self._wait_s - loop.time()
                if remaining_s <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining_s)
                except TimeoutError:
                    break
            group = self._take()
            if not group:
                self._slots.release()
                continue
            task = loop.create_task(self._log(group), name="submit-entry")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def _take(self) -> list[_Waiting]:
        """The oldest waiting batches that fit one entry; a batch never splits across entries."""
        group: list[_Waiting] = []
        commands = 0
        while self._waiting:
            size = len(self._waiting[0].batch.commands)
            if group and commands + size > self._entry_commands_max:
                break
            waiting = self._waiting.popleft()
            self._waiting_commands -= size
            if waiting.answer.done():  # cancelled by its caller
                continue
            group.append(waiting)
            commands += size
        return group

    async def _log(self, group: list[_Waiting]) -> None:
        try:
            if self._judge is not None:
                group = await self._answer_refused(group)
                if not group:
                    return
            batches = [waiting.batch for waiting in group]
            outcome = await self._submit(batches)
        except asyncio.CancelledError:
            _fail(group, AmbiguousOutcome("stopped while the entry was in flight"))
            raise
        except Exception as error:  # every caller of the entry must hear why it failed
            _fail(group, error)
            return
        finally:
            self._slots.release()
        for waiting, results in zip(group, outcome.results, strict=True):
            if not waiting.answer.done():
                waiting.answer.set_result((results, outcome.applied_index))

    async def _answer_refused(self, group: list[_Waiting]) -> list[_Waiting]:
        """Answers the batches the judge refuses (nothing of them is logged); the rest. Off the
        event loop: the judge waits for the replica's lock while an entry applies."""
        loop = asyncio.get_running_loop()
        refusals = await loop.run_in_executor(None, self._judge, [waiting.batch for waiting in group])
        passing = []
        for waiting, refused in zip(group, refusals, strict=True):
            if refused is None:
                passing.append(waiting)
            elif not waiting.answer.done():
                waiting.answer.set_result(refused)
        return passing

    async def _submit(self, batches: list[Batch]) -> SubmitOutcome:
        try:
            async with asyncio.timeout(self._submit_timeout_s * 2):
                outcome = await self._replica.submit(batches, self._submit_timeout_s)
        except TimeoutError:
            # The replica overran its own timeout: the entry may still commit.
            raise AmbiguousOutcome("replica did not answer in time") from None
        _check_outcome(batches, outcome)
        return outcome

    async def close(self) -> None:
        """Refuses new batches, fails the waiting ones (nothing was logged for them) and waits for
        the entries in flight, whose outcome the replica decides."""
        self._closed = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        while self._waiting:
            waiting = self._waiting.popleft()
            if not waiting.answer.done():
                waiting.answer.set_exception(Unavailable("stopping"))
        self._waiting_commands = 0
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)


def _fail(group: list[_Waiting], error: BaseException) -> None:
    for waiting in group:
        if not waiting.answer.done():
            waiting.answer.set_exception(error)


def _check_outcome(batches: list[Batch], outcome: SubmitOutcome) -> None:
    """The replica's answer must match what was asked, batch for batch and command for command."""
    assert len(outcome.results) == len(batches), (len(outcome.results), len(batches))
    for batch, results in zip(batches, outcome.results):
        assert len(results) == len(batch.commands), (len(results), len(batch.commands))
        for command, result in zip(batch.commands, results):
            # The ledger truncates an over-long (invalid) id in its result.
            assert result.id == command.id[:command_id_bytes_max], (command.id, result.id)
    assert outcome.applied_index >= 1, outcome.applied_index
