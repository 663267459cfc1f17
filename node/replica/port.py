"""What the gRPC server needs from the replica: the contract between node/server and node/replica.

The server never sees pysyncobj: it hands the replica batches to log, asks for read barriers,
reads the state under the replica's lock, and subscribes to events. Keeping the consensus engine
behind this surface is what lets it be replaced without touching the ledger, store or server.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from node.backup.format import BackupHeader
from node.codec.batch import Batch
from node.ledger.events import Event
from node.ledger.results import Result
from node.ledger.state import LedgerState

T = TypeVar("T")

__all__ = ["Batch", "SubmitOutcome", "NotLeader", "Unavailable", "AmbiguousOutcome", "Role", "PeerStatus",
           "ReplicaStatus", "AppliedEvent", "StoredEvents", "ReplicaPort"]


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    applied_index: int
    results: tuple[tuple[Result, ...], ...]  # one tuple per batch, in the order given


class NotLeader(Exception):
    """This node is a follower; `leader_address` is the leader's gRPC host:port if known."""

    def __init__(self, leader_address: str | None) -> None:
        super().__init__(f"not the leader; leader is {leader_address or 'unknown'}")
        self.leader_address = leader_address


class Unavailable(Exception):
    """No leader, not ready (still replaying), diverged, or stopping. Nothing was logged."""


class AmbiguousOutcome(Exception):
    """The entry may or may not be committed (leader change, timeout). Retrying with the same
    command ids is safe: dedup answers what was applied."""


class Role(enum.Enum):
    LEADER = "leader"
    FOLLOWER = "follower"
    CANDIDATE = "candidate"


@dataclass(frozen=True, slots=True)
class PeerStatus:
    node_id: str
    address: str  # gRPC host:port
    connected: bool
    match_index: int = 0


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    node_id: str
    role: Role
    leader_id: str | None
    leader_address: str | None  # gRPC host:port
    term: int
    commit_index: int
    applied_index: int
    state_hash: bytes
    ready: bool
    diverged: bool
    peers: tuple[PeerStatus, ...] = field(default_factory=tuple)
    diverged_reason: str = ""  # why it is fenced (node/checkpoint/divergence.py)
    verified_checkpoint_index: int = 0  # the latest certified checkpoint its own hash matched
    signer_set_problem: str = ""  # how the installed signer set differs from the expected one
    diverged_copies: tuple[str, ...] = ()  # its data directories moved aside after divergences


@dataclass(frozen=True, slots=True)
class AppliedEvent:
    """A ledger event as applied: (applied_index, position) identifies it on every replica."""

    applied_index: int
    time_ms: int
    event: Event
    position: int = 0  # its place among the events its entry emitted, from 0


@dataclass(frozen=True, slots=True)
class StoredEvents:
    """One read of the events this replica keeps (node/store/event_log.py), from one commit."""

    events: tuple[AppliedEvent, ...]  # in (applied_index, position) order, whole entries only
    through_index: int  # `events` holds every kept event from the asked index up to this one
    applied_index: int  # the applied index of the commit read
    kept_from: int  # every event of an entry at or above this index is kept; older ones are not


class ReplicaPort(Protocol):
    node_id: str

    async def submit(self, batches: Sequence[Batch], timeout_s: float) -> SubmitOutcome:
        """Log the batches as ONE entry and wait until it is applied here.
        Raises NotLeader, Unavailable or AmbiguousOutcome."""

    async def read_barrier(self, timeout_s: float) -> int:
        """Linearizable read point: returns an applied index that includes every write
        acknowledged before the call. Raises NotLeader, Unavailable or AmbiguousOutcome."""

    def read(self, view: Callable[[LedgerState], T]) -> tuple[T, int]:
        """Run `view` on this replica's state under its lock; returns (view result, applied index)."""

    def status(self) -> ReplicaStatus: ...

    def subscribe(self, queue_size: int) -> asyncio.Queue[AppliedEvent | None]:
        """Events applied from now on; None is put when the subscriber fell behind and was cut."""

    def unsubscribe(self, queue: asyncio.Queue[AppliedEvent | None]) -> None: ...

    def stored_events(self, from_index: int, entries_max: int) -> StoredEvents:
        """The kept events of entries from `from_index` (>= 1) on, at most `entries_max` entries
        that had events. An event applied after this read is published to every queue that was
        subscribed before the read: subscribe first, then read, to miss nothing."""

    def checkpoint_dump(self, index: int) -> tuple[int, Path] | None:
        """(index, file) of the state dump this node kept of the certified checkpoint `index`
        (0: the newest it kept), or None."""

    def backup(self) -> tuple[BackupHeader, BinaryIO]:
        """A backup of the store as an open file (blocking: call it off the event loop; the
        caller closes the file). Raises Unavailable when this node keeps no store to copy."""

    def members(self) -> list[str]:
        """Raft addresses of the membership as this node sees it (itself included)."""

    async def change_membership(self, add: bool, raft_address: str, node_id: str, grpc_address: str,
                                timeout_s: float) -> tuple[bool, str]:
        """Adds or removes one member, on the leader: (done, why not). Raises NotLeader or
        Unavailable."""

    async def drain(self, timeout_s: float) -> tuple[bool, str, str]:
        """Hands leadership to a caught-up follower: (done, why not, new leader's node id).
        Raises NotLeader or Unavailable."""
