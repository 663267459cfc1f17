"""A ReplicaPort on top of the real pure ledger, with no consensus: one node that a test can make
a leader, a follower, a replaying node or a diverged one, and that can fail a submit ambiguously.

It logs the batches of one submit as ONE LogEntry (their commands flattened in order), applies it
with node.ledger.apply and the real Ed25519 verifier, and splits the results back per batch by
their lengths, exactly what the real replica promises. Each submit's entry is stamped `time_ms`
+ 1 s (time_ms starts at 1_000_000): a signed price's source time must be fresh on that clock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from node.codec.log import log_entry_to_bytes
from node.ledger import LedgerState
from node.replica.port import (
    AmbiguousOutcome,
    AppliedEvent,
    Batch,
    NotLeader,
    PeerStatus,
    ReplicaStatus,
    Role,
    SubmitOutcome,
    Unavailable,
)
from node.replica.logged_entry import apply_logged_entry
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
        self._lock = threading.Lock()
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
        for event in applied.outcome.events:
            self._publish(AppliedEvent(index, applied.entry.timestamp_ms, event))
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
        # One slot more than asked for, so the None that cuts a slow subscriber always fits.
        queue: asyncio.Queue[AppliedEvent | None] = asyncio.Queue(queue_size + 1)
        self._subscribers[id(queue)] = (queue, queue_size)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[AppliedEvent | None]) -> None:
        self._subscribers.pop(id(queue), None)

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

    def _publish(self, event: AppliedEvent) -> None:
        for key, (queue, size) in list(self._subscribers.items()):
            if queue.qsize() >= size:
                queue.put_nowait(None)
                del self._subscribers[key]
            else:
                queue.put_nowait(event)
