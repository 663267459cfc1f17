"""A ReplicaPort on top of the real pure ledger, with no consensus: one node that a test can make
a leader, a follower, a replaying node or a diverged one, and that can fail a submit ambiguously.

It logs the batches of one submit as ONE LogEntry (their commands flattened in order), applies it
with node.ledger.apply and the real Ed25519 verifier, and splits the results back per batch by
their lengths, exactly what the real replica promises. Each submit's entry is stamped `time_ms`
+ 1 s (time_ms starts at 1_000_000): a signed price's source time must be fresh on that clock.

Events go as in the real replica: an entry's events are kept (in memory here, with the store's
retention and pruning rule) when it is applied, and published to the subscribers after that, on
the event loop. A test may hold the publications back (`hold_publications`, then
`release_publications()`), as a busy loop delays them, and may commit entries while a replay
reads (`after_stored_read`), to drive the hand-off between the stored events and the live queue.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from node.codec.log import log_entry_to_bytes
from node.ledger import LedgerState
from node.ledger.events import Event
from node.replica.port import (
    AmbiguousOutcome,
    AppliedEvent,
    Batch,
    NotLeader,
    PeerStatus,
    ReplicaStatus,
    Role,
    StoredEvents,
    SubmitOutcome,
    Unavailable,
)
from node.replica.logged_entry import apply_logged_entry
from node.store.layout import events_pruned_per_entry_max, events_retention_entries_default
from node.server.guardian import no_node_key

T = TypeVar("T")

LEADER = "leader"
FOLLOWER = "follower"
NOT_READY = "not_ready"
DIVERGED = "diverged"
NO_LEADER = "no_leader"


class FakeReplica:
    def __init__(self, node_id: str = "node1", *, mode: str = LEADER, leader_address: str | None = None) -> None:
        self.node_id = node_id
        self.mode = mode
        self.leader_address = leader_address  # a follower's hint; None = unknown
        self.state = LedgerState()
        self.time_ms = 1_000_000
        self.term = 1
        # Test knobs.
        self.submit_delay_s = 0.0  # simulated replication round trip
        self.submit_gate: asyncio.Event | None = None  # when set: every submit waits for it to open
        self.ambiguous_submits = 0  # the next N submits raise AmbiguousOutcome ...
        self.ambiguous_after_apply = True  # ... after applying (reply lost) or before (not logged)
        # What the server did.
        self.submit_calls: list[tuple[int, ...]] = []  # per call: commands per batch
        self.signed_at_calls: list[tuple[int, ...]] = []  # per call: each batch's signed clock
        self.barrier_calls = 0
        self.read_calls = 0
        self.dumps: dict[int, Path] = {}  # certified checkpoint dumps this "node" kept
        self.node_key_source = no_node_key  # the key the Guardian service co-signs with
        self.events_retention_entries = events_retention_entries_default
        self.hold_publications = False  # True: applied entries' events wait for release_publications()
        self.after_stored_read: Callable[[int], None] | None = None  # called (read count) after each replay read
        # What it keeps: index -> (ledger time, events), and from which index every event is kept.
        self.event_log: dict[int, tuple[int, tuple[Event, ...]]] = {}
        self.events_kept_from = 1
        self.stored_reads = 0
        self._held: list[AppliedEvent] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: dict[int, tuple[asyncio.Queue[AppliedEvent | None], int]] = {}

    # -- ReplicaPort ------------------------------------------------------------------------

    def _require_leader(self) -> None:
        if self.mode == FOLLOWER:
            raise NotLeader(self.leader_address)
        if self.mode == NO_LEADER:
            raise Unavailable("no leader")
        if self.mode in (NOT_READY, DIVERGED):
            raise Unavailable(self.mode)

    async def submit(self, batches: Sequence[Batch], timeout_s: float) -> SubmitOutcome:
        assert batches and timeout_s > 0
        self._require_leader()
        self.submit_calls.append(tuple(len(b.commands) for b in batches))
        self.signed_at_calls.append(tuple(b.signed.signed_at_ms for b in batches))
        if self.submit_gate is not None:
            await self.submit_gate.wait()
        if self.submit_delay_s:
            await asyncio.sleep(self.submit_delay_s)
        if self.ambiguous_submits and not self.ambiguous_after_apply:
            self.ambiguous_submits -= 1
            raise AmbiguousOutcome("leader changed before commit")
        with self._lock:
            self.time_ms += 1_000
            # Through the log's own encoding, as a replica applies it (signed batches and all).
            index = self.state.applied_index + 1
            applied = apply_logged_entry(self.state, index, log_entry_to_bytes(self.time_ms, batches))
            self._keep_events(index, self.state.ledger_time_ms, applied.outcome.events)
        self._deliver(index, self.state.ledger_time_ms, applied.outcome.events)
        if self.ambiguous_submits:
            self.ambiguous_submits -= 1
            raise AmbiguousOutcome("reply lost after commit")
        return SubmitOutcome(index, applied.results_per_batch)

    async def read_barrier(self, timeout_s: float) -> int:
        self._require_leader()
        self.barrier_calls += 1
        return self.state.applied_index

    def read(self, view: Callable[[LedgerState], T]) -> tuple[T, int]:
        with self._lock:
            self.read_calls += 1
            return view(self.state), self.state.applied_index

    def status(self) -> ReplicaStatus:
        leader = self.mode == LEADER
        return ReplicaStatus(
            node_id=self.node_id,
            role=Role.LEADER if leader else Role.FOLLOWER,
            leader_id=self.node_id if leader else ("leader-node" if self.leader_address else None),
            leader_address=self.leader_address,
            term=self.term,
            commit_index=self.state.applied_index,
            applied_index=self.state.applied_index,
            state_hash=self.state.state_hash.to_bytes(32, "big"),
            ready=self.mode not in (NOT_READY, DIVERGED),
            diverged=self.mode == DIVERGED,
            diverged_reason="at checkpoint 7: a test" if self.mode == DIVERGED else "",
            peers=(PeerStatus("node2", "127.0.0.1:1", connected=True, match_index=self.state.applied_index),),
        )

    def subscribe(self, queue_size: int) -> asyncio.Queue[AppliedEvent | None]:
        self._loop = asyncio.get_running_loop()
        # One slot more than asked for, so the None that cuts a slow subscriber always fits.
        queue: asyncio.Queue[AppliedEvent | None] = asyncio.Queue(queue_size + 1)
        self._subscribers[id(queue)] = (queue, queue_size)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[AppliedEvent | None]) -> None:
        self._subscribers.pop(id(queue), None)

    def stored_events(self, from_index: int, entries_max: int) -> StoredEvents:
        assert from_index >= 1 and entries_max >= 1
        with self._lock:
            self.stored_reads += 1
            reads = self.stored_reads
            indexes = sorted(i for i in self.event_log if i >= from_index)
            picked = indexes[:entries_max]
            applied_index = self.state.applied_index
            through = picked[-1] if len(indexes) > entries_max else max(applied_index, from_index - 1)
            events = tuple(
                AppliedEvent(index, self.event_log[index][0], event, position)
                for index in picked
                for position, event in enumerate(self.event_log[index][1])
            )
            read = StoredEvents(events, through, applied_index, self.events_kept_from)
        if self.after_stored_read is not None:
            self.after_stored_read(reads)
        return read

    def checkpoint_dump(self, index: int) -> tuple[int, Path] | None:
        wanted = index or max(self.dumps, default=0)
        return (wanted, self.dumps[wanted]) if wanted in self.dumps else None

    def backup(self):
        raise Unavailable("a fake replica keeps no store to back up")

    def members(self) -> list[str]:
        return [self.node_id]

    async def change_membership(self, add: bool, raft_address: str, node_id: str, grpc_address: str,
                                timeout_s: float) -> tuple[bool, str]:
        self._require_leader()
        return False, "a fake replica has no membership to change"

    async def drain(self, timeout_s: float) -> tuple[bool, str, str]:
        self._require_leader()
        return False, "a fake replica has no follower to hand leadership to", ""

    # -- helpers ----------------------------------------------------------------------------

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def commit_entry(self, events: Sequence[Event]) -> int:
        """Applies an empty entry and gives it `events` (any ledger events a test wants streamed):
        kept, then published, as a real entry's. Callable from any thread."""
        with self._lock:
            self.time_ms += 1_000
            index = self.state.applied_index + 1
            apply_logged_entry(self.state, index, log_entry_to_bytes(self.time_ms, ()))
            self._keep_events(index, self.state.ledger_time_ms, events)
        self._deliver(index, self.state.ledger_time_ms, events)
        return index

    def release_publications(self) -> None:
        """Publishes what `hold_publications` held back, in order (on the event loop)."""
        held, self._held = self._held, []
        for event in held:
            self._publish(event)

    def _keep_events(self, index: int, time_ms: int, events: Sequence[Event]) -> None:
        """The store's rule (node/store/event_log.py): keep, then prune what fell out of the
        retention window, oldest first, a bounded number per entry."""
        if events:
            self.event_log[index] = (time_ms, tuple(events))
        for _ in range(events_pruned_per_entry_max):
            oldest = min(self.event_log, default=None)
            if oldest is None or oldest > index - self.events_retention_entries:
                break
            del self.event_log[oldest]
            self.events_kept_from = max(self.events_kept_from, oldest + 1)

    def _deliver(self, index: int, time_ms: int, events: Sequence[Event]) -> None:
        applied = [AppliedEvent(index, time_ms, event, position) for position, event in enumerate(events)]
        if self.hold_publications:
            self._held += applied
            return
        loop = self._loop
        if loop is None:
            return  # nobody ever subscribed
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            for event in applied:
                self._publish(event)
        else:  # from another thread, as the real replica's apply thread does
            for event in applied:
                loop.call_soon_threadsafe(self._publish, event)

    def _publish(self, event: AppliedEvent) -> None:
        for key, (queue, size) in list(self._subscribers.items()):
            if queue.qsize() >= size:
                queue.put_nowait(None)
                del self._subscribers[key]
            else:
                queue.put_nowait(event)
