"""The replica: pysyncobj orders entries, the ledger decides, the store persists. Implements the
ReplicaPort the gRPC server talks to (node/replica/port.py).

The pieces, each in its own module: LedgerRaft (raft.py: pysyncobj and the durability contract),
LedgerStateMachine (state_machine.py: apply, snapshot, restore), EventSubscribers
(subscribers.py), the start-up log check (log_coverage.py) and the checkpoint keeper
(node/checkpoint). This class wires them and answers the server: submit, read barriers, reads,
status, membership, drain, backups. node/main.py builds what the node hands in (metrics, the
checkpoint vote submitter).

Threads: pysyncobj's tick thread hands committed entries to the apply thread, which applies them
(under the state machine's lock); the asyncio loop submits entries, runs read views (under the
same lock) and receives results and events through `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

from pysyncobj import FAIL_REASON

from node.backup.format import BackupHeader
from node.backup.take import take_backup
from node.checkpoint.keeper import CheckpointKeeper
from node.identity.signer_set import SignerSetError
from node.checkpoint.voting import SubmitVote
from node.codec import Batch, log_entry_to_bytes
from node.config import ConfigError, NodeConfig, load_node_key
from node.ledger import LedgerState
from node.ledger.events import Event
from node.ledger.state_hash import hash_bytes
from node.metrics import NodeMetrics
from node.replica.emptying import empty_for_restore
from node.replica.log_coverage import check_log_covers_store
from node.replica.port import (
    AmbiguousOutcome,
    AppliedEvent,
    NotLeader,
    PeerStatus,
    ReplicaStatus,
    Role,
    StoredEvents,
    SubmitOutcome,
    Unavailable,
)
from node.replica.raft import LedgerRaft, RaftOverrides
from node.replica.state_machine import AppliedEntryHooks, LedgerStateMachine
from node.replica.subscribers import EventSubscribers
from node.replica.tick_watch import TickWatch
from node.store import LedgerStore

log = logging.getLogger("settle.replica")
T = TypeVar("T")

drain_poll_s = 0.02  # how often a drain looks whether leadership moved (and asks again)
close_wait_s = 5.0  # how long close() waits for pysyncobj's tick thread to end

_AMBIGUOUS = {FAIL_REASON.DISCARDED, FAIL_REASON.LEADER_CHANGED, FAIL_REASON.UNKNOWN_OUTCOME}
_FAIL_REASON_NAMES = {v: k for k, v in vars(FAIL_REASON).items() if isinstance(v, int)}


class Replica:
    def __init__(
        self,
        config: NodeConfig,
        loop: asyncio.AbstractEventLoop,
        *,
        metrics: NodeMetrics,
        submit_vote: SubmitVote | None = None,
        close_votes: Callable[[], Awaitable[None]] | None = None,
        raft_overrides: RaftOverrides = RaftOverrides(),
    ) -> None:
        """Loads the store, checks the log still covers it (JournalBehindStore), starts the
        checkpoint keeper and then pysyncobj. Construct it on the main thread: pysyncobj's tick
        thread dies with the thread that constructed it."""
        self.node_id = config.node_id
        self._config = config
        self._loop = loop
        self.metrics = metrics
        self._close_votes = close_votes
        self._closed = False
        self._ready = threading.Event()
        self._barrier_gathering: asyncio.Future | None = None
        self._barrier_lock = asyncio.Lock()
        self._grpc_by_raft = {p.raft_address: p.grpc_address for p in config.peers}
        self._grpc_by_raft[config.raft_address] = config.grpc_address
        self._id_by_raft = {p.raft_address: p.node_id for p in config.peers}
        self._id_by_raft[config.raft_address] = config.node_id
        self._draining = False
        self._on_tick_once: list[Callable[[], None]] = []  # run once on the tick thread (drain)
        # Its own lock, never the state machine's: the apply thread holds that one for a whole
        # entry, and the tick thread must not wait for an entry (tick_watch.py).
        self._tick_once_lock = threading.Lock()
        self.subscribers = EventSubscribers(loop)

        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = LedgerStore(config.store_dir, map_size_bytes=config.map_size_bytes,
                                 events_retention_entries=config.events_retention_entries)
        self.machine = LedgerStateMachine(self.store, config.data_dir, config.raft_address, metrics, config.dump_file)
        log.info("loaded ledger at applied index %d, hash %s", self.machine.state.applied_index,
                 hash_bytes(self.machine.state.state_hash).hex()[:16])
        check_log_covers_store(config, self.machine.state.applied_index)
        self.checkpoints = self._checkpoint_keeper(config, loop, submit_vote)
        self.machine.hooks = AppliedEntryHooks(
            after_commit=self._after_commit, publish=self.subscribers.publish_from_apply_thread,
            after_restore=self.checkpoints.check_signer_set,
        )
        self.raft: LedgerRaft | None = None
        # Constructed last: from here on the tick thread may hand entries to the apply thread.
        self.raft = LedgerRaft(config, self.machine.apply_in_order, self.machine.snapshot, self.machine.restore,
                               self._on_raft_ready, raft_overrides,
                               snapshot_progress=self.machine.snapshot_progress, may_apply=self.machine.may_apply)
        self.raft.addOnTickCallback(self._run_tick_once)
        self.tick_watch = TickWatch(journal_sync_s=lambda: self.raft.journal.sync_seconds)
        self.raft.addOnTickCallback(self.tick_watch.on_tick)

    def _checkpoint_keeper(self, config: NodeConfig, loop: asyncio.AbstractEventLoop,
                           submit_vote: SubmitVote | None) -> CheckpointKeeper:
        node_key = load_node_key(config)  # ConfigError: the node refuses to start without it
        try:
            return CheckpointKeeper(
                config, loop, self.store, self.machine.state, node_key=node_key, submit_vote=submit_vote,
                is_leader=self._is_leader, stop_replica=self.close, empty_for_restore=empty_for_restore,
            )
        except SignerSetError as error:
            raise ConfigError(f"expected_signers_file: {error}") from None

    def _on_raft_ready(self) -> None:  # tick thread: every entry committed so far is handed over
        self.machine.applying.submit(self._ready.set)  # ready once they are applied too

    def _is_leader(self) -> bool:
        return self.raft is not None and self.raft.is_leader()

    def _after_commit(self, state: LedgerState, events: Sequence[Event]) -> None:
        """Checkpoint votes, store checks and certificate checks only record and hand off here;
        a failure in them is logged, never a reason to stop applying."""
        try:
            self.checkpoints.after_commit(state, events, ready=self._ready.is_set())
        except Exception:  # noqa: BLE001
            log.exception("checkpoint bookkeeping failed at index %d", state.applied_index)

    def _run_tick_once(self) -> None:  # tick thread: pysyncobj's leader state is safe to touch here
        with self._tick_once_lock:
            pending, self._on_tick_once = self._on_tick_once, []
        for action in pending:
            action()

    @property
    def state(self) -> LedgerState:
        return self.machine.state

    # -- ReplicaPort: writes and reads (asyncio loop) ------------------------------------------

    def _check_serving(self) -> None:
        if self.checkpoints.divergence is not None:
            raise Unavailable(f"diverged {self.checkpoints.divergence}")
        if not self._ready.is_set():
            raise Unavailable("not ready: replaying the log")
        if self.machine.installing:
            raise Unavailable("not ready: installing a snapshot from the leader")

    def leader_address(self) -> str | None:
        """The leader's gRPC host:port as this node knows it, or None."""
        leader = self.raft.leader_raft_address()
        return self._grpc_by_raft.get(leader) if leader is not None else None

    def member_id(self, raft_address: str) -> str:
        """A member's node id (its Raft address when unknown)."""
        return self._id_by_raft.get(raft_address, raft_address)

    def _require_leader(self) -> None:
        if not self.raft.is_leader():
            leader = self.leader_address()
            if leader is None:
                raise Unavailable("no leader: election in progress or no quorum")
            raise NotLeader(leader)

    async def _log(self, batches: Sequence[Batch], timeout_s: float) -> SubmitOutcome:
        # Leadership first: once a drain has handed it over, the old leader names the new one at
        # once (NotLeader + x-leader), rather than refusing without a hint until the drain returns.
        self._require_leader()
        if self._draining:
            raise Unavailable("draining: this leader is handing leadership over; retry on the next leader")
        data = log_entry_to_bytes(time.time_ns() // 1_000_000, batches)
        future = self._loop.create_future()

        def on_applied(result, error):  # tick thread: result is the Future of the entry's outcome
            if isinstance(result, concurrent.futures.Future):
                result.add_done_callback(lambda applied: self._loop.call_soon_threadsafe(
                    _settle, future, applied.result(), error))
            else:
                self._loop.call_soon_threadsafe(_settle, future, result, error)

        self.raft.apply_entry(data, callback=on_applied)
        try:
            result, error = await asyncio.wait_for(future, timeout_s)
        except asyncio.TimeoutError:
            raise AmbiguousOutcome(f"not applied within {timeout_s}s") from None
        if error == FAIL_REASON.SUCCESS and isinstance(result, SubmitOutcome):
            return result
        if error in _AMBIGUOUS or error == FAIL_REASON.SUCCESS:
            raise AmbiguousOutcome(f"outcome unknown (reason {error})")
        if error == FAIL_REASON.NOT_LEADER:
            raise NotLeader(self.leader_address())
        raise Unavailable(f"not logged (reason {error})")  # QUEUE_FULL, MISSING_LEADER, REQUEST_DENIED

    async def submit(self, batches: Sequence[Batch], timeout_s: float) -> SubmitOutcome:
        self._check_serving()
        if not batches:
            raise ValueError("submit needs at least one batch")
        return await self._log(batches, timeout_s)

    async def read_barrier(self, timeout_s: float) -> int:
        """A no-op entry through the log: once applied here, every earlier acknowledged write is
        too. Reads that arrive while one barrier is in flight share the next one."""
        self._check_serving()
        if self._barrier_gathering is None:
            self._barrier_gathering = self._loop.create_future()
            asyncio.ensure_future(self._run_barrier(self._barrier_gathering, timeout_s))
        return await asyncio.wait_for(asyncio.shield(self._barrier_gathering), timeout_s)

    async def _run_barrier(self, future: asyncio.Future, timeout_s: float) -> None:
        async with self._barrier_lock:
            self._barrier_gathering = None  # readers from now on need a barrier issued later
            try:
                outcome = await self._log((), timeout_s)
                future.set_result(outcome.applied_index)
            except Exception as error:  # noqa: BLE001 - handed to every waiting reader
                future.set_exception(error)
                future.exception()  # mark retrieved: readers may all have timed out

    def read(self, view: Callable[[LedgerState], T]) -> tuple[T, int]:
        with self.machine.lock:
            return view(self.machine.state), self.machine.state.applied_index

    def subscribe(self, queue_size: int) -> asyncio.Queue:
        return self.subscribers.subscribe(queue_size)

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.subscribers.unsubscribe(queue)

    def stored_events(self, from_index: int, entries_max: int) -> StoredEvents:
        # Under the lock: a snapshot install closes the store (and apply commits under it too).
        with self.machine.lock:
            if self._closed:
                raise Unavailable("stopping")
            read = self.store.read_events(from_index, entries_max)
        events = tuple(
            AppliedEvent(entry.index, entry.time_ms, event, position)
            for entry in read.entries
            for position, event in enumerate(entry.events)
        )
        return StoredEvents(events, read.through_index, read.applied_index, read.kept_from)

    # -- ReplicaPort: status -------------------------------------------------------------------

    def status(self) -> ReplicaStatus:
        raft = self.raft
        role = Role.LEADER if raft.is_leader() else Role.FOLLOWER
        leader = raft.leader_raft_address()
        with self.machine.lock:
            applied, state_hash = self.machine.state.applied_index, hash_bytes(self.machine.state.state_hash)
        others = raft.other_members()
        configured = [p for p in self._config.peers if p.raft_address in others]
        configured_addresses = {p.raft_address for p in self._config.peers}
        peers = tuple(
            PeerStatus(
                node_id=p.node_id, address=p.grpc_address, connected=raft.is_connected(p.raft_address),
                match_index=raft.match_index(p.raft_address) if role is Role.LEADER else 0,
            )
            for p in configured
        ) + tuple(
            PeerStatus(
                node_id=self.member_id(address), address=self._grpc_by_raft.get(address, ""),
                connected=raft.is_connected(address),
                match_index=raft.match_index(address) if role is Role.LEADER else 0,
            )
            for address in others
            if address not in configured_addresses
        )
        divergence = self.checkpoints.divergence
        return ReplicaStatus(
            node_id=self.node_id, role=role,
            leader_id=self._id_by_raft.get(leader) if leader else None,
            leader_address=self.leader_address(),
            term=raft.current_term, commit_index=raft.commit_index, applied_index=applied,
            state_hash=state_hash, ready=self._ready.is_set() and divergence is None and not self.machine.installing,
            diverged=divergence is not None, peers=peers,
            diverged_reason=str(divergence) if divergence else "",
            verified_checkpoint_index=self.checkpoints.verified_index,
            signer_set_problem=self.checkpoints.signer_set_problem,
            diverged_copies=tuple(self.checkpoints.diverged_copies),
        )

    # -- ReplicaPort: membership and drain (operator RPCs, asyncio loop) ------------------------

    def members(self) -> list[str]:
        """Raft addresses of the membership as this node sees it (itself included)."""
        return sorted([self._config.raft_address] + self.raft.other_members())

    async def change_membership(self, add: bool, raft_address: str, node_id: str, grpc_address: str,
                                timeout_s: float) -> tuple[bool, str]:
        """Adds or removes one node through pysyncobj's dynamic membership, on the leader; waits
        at most timeout_s for its result callback (the change is committed, or refused)."""
        self._require_leader()
        if not add and raft_address == self._config.raft_address:
            return False, "the leader cannot remove itself: drain it first, then remove it from the new leader"
        future = self._loop.create_future()

        def done(result, error):  # tick thread
            self._loop.call_soon_threadsafe(_settle, future, result, error)

        if add:
            if node_id:
                self._id_by_raft[raft_address] = node_id
            if grpc_address:
                self._grpc_by_raft[raft_address] = grpc_address
            self.raft.addNodeToCluster(raft_address, callback=done)
        else:
            self.raft.removeNodeFromCluster(raft_address, callback=done)
        try:
            _, error = await asyncio.wait_for(future, timeout_s)
        except asyncio.TimeoutError:
            return False, f"not committed within {timeout_s}s (outcome unknown: check settle status)"
        if error == FAIL_REASON.SUCCESS:
            return True, ""
        name = _FAIL_REASON_NAMES.get(error, str(error))
        return False, f"refused by pysyncobj: {name} (already a member / not one, or another change pending)"

    async def drain(self, timeout_s: float) -> tuple[bool, str, str]:
        """Stops taking writes, then hands leadership to a caught-up follower with pysyncobj's
        transferLeadership (Raft TimeoutNow: the target campaigns at once; safety is Raft's own,
        the target's log is complete). A request pysyncobj denies (no follower has matched the
        last entries yet: writes were still in flight) is asked again on the next poll; a sent
        one is given an election timeout before it is sent again. Leadership is checked every
        poll, so the refusing window is the transfer itself, not a fixed period."""
        self._require_leader()
        self._draining = True
        deadline = time.monotonic() + timeout_s
        resend_after_s = self._config.raft.election_timeout_max_ms / 1000
        sent_at: list[float] = []  # when the last transfer request went out (tick thread appends)

        def on_transfer(_, error):  # tick thread
            if error == FAIL_REASON.SUCCESS:
                sent_at.append(time.monotonic())

        try:
            while time.monotonic() < deadline:
                if not self.raft.is_leader():
                    leader = self.raft.leader_raft_address()
                    return True, "", self._id_by_raft.get(leader, "") if leader else ""
                if not sent_at or time.monotonic() - sent_at[-1] > resend_after_s:
                    with self._tick_once_lock:
                        self._on_tick_once.append(lambda: self.raft.transferLeadership(callback=on_transfer))
                await asyncio.sleep(drain_poll_s)
            return False, f"leadership did not move within {timeout_s}s (no caught-up connected follower?)", ""
        finally:
            self._draining = False

    # -- ReplicaPort: backups and checkpoint dumps ----------------------------------------------

    def backup(self) -> tuple[BackupHeader, BinaryIO]:
        """A backup of the store, as an open file already unlinked from the data dir (blocking:
        run it off the event loop; the caller closes it). Holds the apply lock for the copy so a
        snapshot install cannot close the store under it; that stalls applying for the copy's
        duration (a compact copy: about the live data's size). The server refuses it while
        diverged (a fenced node's store is exactly what must not be copied)."""
        fd, name = tempfile.mkstemp(prefix="backup-", suffix=".partial", dir=self._config.data_dir)
        os.close(fd)
        path = Path(name)
        try:
            with self.machine.lock:
                header = take_backup(self.store, self._config.cluster_id, self.node_id, path, self._config.data_dir)
            return header, open(path, "rb")
        finally:
            path.unlink(missing_ok=True)

    def checkpoint_dump(self, index: int) -> tuple[int, Path] | None:
        return self.checkpoints.certified_dump(index)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stops checkpoint work, pysyncobj and the store (idempotent; any thread but the tick
        thread: the keeper's recovery calls it too)."""
        if self._closed:
            return
        self._closed = True
        self.checkpoints.close()
        if self._close_votes is not None and not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._close_votes(), self._loop)
        self.raft.destroy()
        deadline = time.monotonic() + close_wait_s
        while self.raft.tick_thread_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.machine.close()  # the apply thread: what it has not started, the log replays
        self.tick_watch.close()
        with self.machine.lock:
            self.store.close()


def _settle(future: asyncio.Future, result, error) -> None:
    if not future.done():
        future.set_result((result, error))
