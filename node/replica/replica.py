"""The replica: pysyncobj orders entries, the ledger decides, the store persists. Implements the
ReplicaPort the gRPC server talks to.

Threads: pysyncobj's tick thread applies entries (under `_lock`); the asyncio loop submits
entries, runs read views (under `_lock`) and receives results and events through
`loop.call_soon_threadsafe`. Anything that breaks the ledger's invariants or the store stops the
process loudly: a node must never serve a balance it cannot vouch for. Checkpoint work
(node/checkpoint) hooks in after each commit; it fences the node when its state disagrees with its
store or with a certified checkpoint, and then restores it from its peers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

from pysyncobj import FAIL_REASON
from pysyncobj.journal import FileJournal

from node.backup.format import BackupHeader
from node.backup.restore import RESTORED_MARKER, restored_index
from node.backup.take import take_backup
from node.checkpoint.keeper import CheckpointKeeper
from node.identity.signer_set import SignerSetError
from node.checkpoint.voting import sdk_submitter
from node.identity.credentials import ClientIdentity, SigningKey
from node.tls.client import node_client_tls
from node.ledger.governance import ROLE_NODE
from node.codec import Batch, CodecError, decode_log_entry, log_entry_to_bytes
from node.config import ConfigError, NodeConfig, load_node_key
from node.identity.keys import verify_ed25519
from node.ledger import LedgerState, apply
from node.ledger.commands import LogEntry
from node.ledger.state_hash import hash_bytes
from node.metrics import NodeMetrics, StateCollector
from node.logs import log_event, log_ledger_events
from node.replica import snapshot
from node.replica.journal import RESTORE_FROM_PEERS
from node.replica.port import (
    AmbiguousOutcome,
    AppliedEvent,
    NotLeader,
    PeerStatus,
    ReplicaStatus,
    Role,
    SubmitOutcome,
    Unavailable,
)
from node.replica.raft import LedgerRaft
from node.store import LedgerStore

log = logging.getLogger("settle.replica")
T = TypeVar("T")

drain_poll_s = 0.02  # how often a drain looks whether leadership moved (and asks again)
fatal_exit_code = 70  # EX_SOFTWARE: the node stopped itself on a broken invariant or store error

_AMBIGUOUS = {FAIL_REASON.DISCARDED, FAIL_REASON.LEADER_CHANGED, FAIL_REASON.UNKNOWN_OUTCOME}


class JournalBehindStore(Exception):
    """The Raft journal lost entries the ledger had already applied (storage that did not keep a
    sync). The node would skip every new entry up to its stored index: it must not start."""


def _stop_loudly(what: str) -> None:
    log.critical("STOPPING NODE: %s", what, exc_info=True)
    logging.shutdown()
    os._exit(fatal_exit_code)


class Replica:
    def __init__(self, config: NodeConfig, loop: asyncio.AbstractEventLoop) -> None:
        self.node_id = config.node_id
        self.config = config  # read-only for the shells (the guardian service finds the node key)
        self._config = config
        self._loop = loop
        self._lock = threading.Lock()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = LedgerStore(config.store_dir, map_size_bytes=config.map_size_bytes)
        self.state: LedgerState = self.store.load()  # StoreCorruptError: refuse to start
        log.info("loaded ledger at applied index %d, hash %s", self.state.applied_index,
                 hash_bytes(self.state.state_hash).hex()[:16])
        self._ready = threading.Event()
        # Prometheus instruments in this node's own registry (node/metrics); served only if configured.
        self.metrics = NodeMetrics()
        self.metrics.registry.register(StateCollector(self))
        self._closed = False
        self._subscribers: set[asyncio.Queue] = set()
        self._barrier_gathering: asyncio.Future | None = None
        self._barrier_lock = asyncio.Lock()
        self._grpc_by_raft = {p.raft_address: p.grpc_address for p in config.peers}
        self._grpc_by_raft[config.raft_address] = config.grpc_address
        self._id_by_raft = {p.raft_address: p.node_id for p in config.peers}
        self._id_by_raft[config.raft_address] = config.node_id
        self._draining = False
        self._on_tick_once: list[Callable[[], None]] = []  # run once on the tick thread (drain)
        self._check_journal_covers_store()
        self.checkpoints = self._checkpoint_keeper(config, loop)
        # Constructed last, on the main thread: from here on the tick thread may call apply.
        self.raft = LedgerRaft(config, self._apply_logged, self._write_snapshot, self._read_snapshot, self._ready.set)
        self.raft.addOnTickCallback(self._run_tick_once)

    def _run_tick_once(self) -> None:  # tick thread: pysyncobj's leader state is safe to touch here
        with self._lock:
            pending, self._on_tick_once = self._on_tick_once, []
        for action in pending:
            action()

    def _check_journal_covers_store(self) -> None:
        """A node applies only entries of its own log, so its journal (or, after a compaction,
        the dump) always reaches the store's applied index, unless a sync was lost.

        One exception: `settle restore` (node/backup/restore.py) leaves a store at index N, no
        journal and a marker naming N. The log behind the store is then allowed to be short, and
        only while the store still stands exactly at the marker's N (nothing applied since the
        restore); the leader's log or snapshot catches the node up, and entries at or below N are
        skipped as already applied. Once the journal or dump covers the store the marker goes."""
        journal_file = self._config.journal_file
        if self.state.applied_index == 0:
            return
        journal_end = read_journal_end(journal_file) if journal_file.exists() else 0
        dump_end = snapshot.read_header(self._config.dump_file)[0].last_entry[1] if self._config.dump_file.exists() else 0
        restored = restored_index(self._config.data_dir)
        if max(journal_end, dump_end) >= self.state.applied_index:
            if restored is not None:
                (self._config.data_dir / RESTORED_MARKER).unlink(missing_ok=True)
            return
        if restored == self.state.applied_index:
            log.warning("store restored from a backup at index %d, log ends at %d: catching up from the leader",
                        restored, max(journal_end, dump_end))
            return
        raise JournalBehindStore(
            f"the Raft journal ends at index {max(journal_end, dump_end)} but the ledger applied "
            f"{self.state.applied_index}: acknowledged entries were lost from this node's log. "
            + RESTORE_FROM_PEERS
        )

    def _checkpoint_keeper(self, config: NodeConfig, loop: asyncio.AbstractEventLoop) -> CheckpointKeeper:
        node_key = load_node_key(config)  # ConfigError: the node refuses to start without it
        # A vote goes where a client's command would: this node first (it may lead), then its peers.
        # Votes go in batches signed by this node's key.
        identity = ClientIdentity(config.node_key_id, (SigningKey(config.node_key_id, ROLE_NODE, node_key),),
                                  tls=node_client_tls(config), cluster=config.cluster_id)
        submit_vote, self._close_votes = sdk_submitter([config.grpc_address, *(p.grpc_address for p in config.peers)], identity)
        try:
            return CheckpointKeeper(
                config, loop, self.store, self.state, node_key=node_key, submit_vote=submit_vote,
                is_leader=self._is_leader, stop_replica=self.close,
            )
        except SignerSetError as error:
            raise ConfigError(f"expected_signers_file: {error}") from None

    def _is_leader(self) -> bool:
        raft = getattr(self, "raft", None)
        return raft is not None and raft._isLeader()

    # -- the apply path (tick thread) --------------------------------------------------------

    def _apply_logged(self, index: int, data: bytes):
        try:
            if index <= self.state.applied_index:
                return None  # replayed after a restart: already in the store
            try:
                decoded = decode_log_entry(data, index)
                entry, sizes = decoded.entry, decoded.batch_sizes
            except CodecError:
                # Every replica sees the same bytes and refuses them the same way.
                log.error("entry %d is not a LogEntry this node can read; applied as empty", index)
                entry, sizes = LogEntry(index, 0, ()), ()
            with self._lock:
                started = time.perf_counter()
                outcome = apply(self.state, entry, verify_ed25519)
                applied_at = time.perf_counter()
                self.store.commit(self.state)
                self.metrics.entry_applied(entry.commands, outcome.results, applied_at - started, time.perf_counter() - applied_at)
                if outcome.events:
                    self._checkpoint_bookkeeping(outcome.events)
            if outcome.events:
                log_ledger_events(index, outcome.events)  # structured state-change lines (node/logs.py)
            results, start = [], 0
            for size in sizes:
                results.append(outcome.results[start:start + size])
                start += size
            if outcome.events and self._subscribers:
                applied = [AppliedEvent(index, self.state.ledger_time_ms, e) for e in outcome.events]
                self._loop.call_soon_threadsafe(self._publish, applied)
            return SubmitOutcome(index, tuple(results))
        except BaseException as error:  # noqa: BLE001 - stop, never continue half-applied
            _stop_loudly(f"applying entry {index}: {error!r}")

    def _checkpoint_bookkeeping(self, events) -> None:
        """Checkpoint votes, store checks and certificate checks only record and hand off here;
        a failure in them is logged, never a reason to stop applying."""
        try:
            self.checkpoints.after_commit(self.state, events, ready=self._ready.is_set())
        except Exception:  # noqa: BLE001
            log.exception("checkpoint bookkeeping failed at index %d", self.state.applied_index)

    # -- snapshots (tick thread, pysyncobj's serializer hooks) --------------------------------

    def _write_snapshot(self, path: str, raft_data) -> None:
        last_entry, previous_entry, cluster = raft_data
        with tempfile.TemporaryDirectory(dir=self._config.data_dir) as tmp:
            copy = Path(tmp) / "data.mdb"
            with self._lock:
                self.store.copy_to(copy)
                header = snapshot.SnapshotHeader(
                    last_entry=tuple(last_entry), previous_entry=tuple(previous_entry),
                    cluster=tuple(sorted(n.address for n in cluster)),
                    applied_index=self.state.applied_index, state_hash=hash_bytes(self.state.state_hash),
                )
            snapshot.write_snapshot(Path(path), header, copy)
        log.info("snapshot written at applied index %d", header.applied_index)

    def _read_snapshot(self, path: str):
        header, offset = snapshot.read_header(Path(path))
        with self._lock:
            if header.applied_index > self.state.applied_index:
                # Catching up from a peer's snapshot: it replaces the live store.
                lmdb_file = snapshot.extract_lmdb(Path(path), offset, self._config.data_dir)
                try:
                    self.state = self.store.install(lmdb_file)  # verified against its hash
                finally:
                    lmdb_file.unlink(missing_ok=True)
                if hash_bytes(self.state.state_hash) != header.state_hash:
                    _stop_loudly("installed snapshot does not match its own state hash")
                log_event("snapshot_installed", f"installed snapshot at applied index {self.state.applied_index}",
                          snapshot_index=self.state.applied_index)
                keeper = getattr(self, "checkpoints", None)  # None while the constructor restores
                if keeper is not None:
                    keeper.check_signer_set(self.state)  # the snapshot brought the signer set too
            # else: a restart; the live store is at least as new as the dump and stays.
        other = tuple(a for a in header.cluster if a != self._config.raft_address)
        return header.last_entry, header.previous_entry, other

    # -- ReplicaPort (asyncio loop) ----------------------------------------------------------

    def _check_serving(self) -> None:
        if self.checkpoints.divergence is not None:
            raise Unavailable(f"diverged {self.checkpoints.divergence}")
        if not self._ready.is_set():
            raise Unavailable("not ready: replaying the log")

    def _leader_address(self) -> str | None:
        leader = self.raft._getLeader()
        return self._grpc_by_raft.get(leader.address) if leader is not None else None

    async def _log(self, batches: Sequence[Batch], timeout_s: float) -> SubmitOutcome:
        # Leadership first: once a drain has handed it over, the old leader names the new one at
        # once (NotLeader + x-leader), rather than refusing without a hint until the drain returns.
        if not self.raft._isLeader():
            leader = self._leader_address()
            if leader is None:
                raise Unavailable("no leader: election in progress or no quorum")
            raise NotLeader(leader)
        if self._draining:
            raise Unavailable("draining: this leader is handing leadership over; retry on the next leader")
        data = log_entry_to_bytes(time.time_ns() // 1_000_000, batches)
        future = self._loop.create_future()

        def on_applied(result, error):  # tick thread
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
            raise NotLeader(self._leader_address())
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

    # -- membership and drain (operator RPCs, asyncio loop) ----------------------------------

    def _require_leader(self) -> None:
        if not self.raft._isLeader():
            leader = self._leader_address()
            if leader is None:
                raise Unavailable("no leader: election in progress or no quorum")
            raise NotLeader(leader)

    def members(self) -> list[str]:
        """Raft addresses of the membership as this node sees it (itself included)."""
        return sorted([self._config.raft_address] + [n.address for n in self.raft.otherNodes])

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
        name = {v: k for k, v in vars(FAIL_REASON).items() if isinstance(v, int)}.get(error, str(error))
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
                if not self.raft._isLeader():
                    leader = self.raft._getLeader()
                    return True, "", self._id_by_raft.get(leader.address, "") if leader else ""
                if not sent_at or time.monotonic() - sent_at[-1] > resend_after_s:
                    with self._lock:
                        self._on_tick_once.append(lambda: self.raft.transferLeadership(callback=on_transfer))
                await asyncio.sleep(drain_poll_s)
            return False, f"leadership did not move within {timeout_s}s (no caught-up connected follower?)", ""
        finally:
            self._draining = False

    def read(self, view: Callable[[LedgerState], T]) -> tuple[T, int]:
        with self._lock:
            return view(self.state), self.state.applied_index

    def status(self) -> ReplicaStatus:
        raft = self.raft
        leader = raft._getLeader()
        role = Role.LEADER if raft._isLeader() else Role.FOLLOWER
        with self._lock:
            applied, state_hash = self.state.applied_index, hash_bytes(self.state.state_hash)
        peers = tuple(
            PeerStatus(
                node_id=p.node_id, address=p.grpc_address,
                connected=any(n.address == p.raft_address and raft.isNodeConnected(n) for n in raft.otherNodes),
                match_index=raft.match_index(p.raft_address) if role is Role.LEADER else 0,
            )
            for p in self._config.peers
            if any(n.address == p.raft_address for n in raft.otherNodes)
        ) + tuple(
            PeerStatus(
                node_id=self._id_by_raft.get(n.address, n.address), address=self._grpc_by_raft.get(n.address, ""),
                connected=raft.isNodeConnected(n),
                match_index=raft.match_index(n.address) if role is Role.LEADER else 0,
            )
            for n in raft.otherNodes
            if n.address not in {p.raft_address for p in self._config.peers}
        )
        divergence = self.checkpoints.divergence
        return ReplicaStatus(
            node_id=self.node_id, role=role,
            leader_id=self._id_by_raft.get(leader.address) if leader else None,
            leader_address=self._leader_address(),
            term=raft.raftCurrentTerm, commit_index=raft.raftCommitIndex, applied_index=applied,
            state_hash=state_hash, ready=self._ready.is_set() and divergence is None,
            diverged=divergence is not None, peers=peers,
            diverged_reason=str(divergence) if divergence else "",
            verified_checkpoint_index=self.checkpoints.verified_index,
            signer_set_problem=self.checkpoints.signer_set_problem,
            diverged_copies=tuple(self.checkpoints.diverged_copies),
        )

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
            with self._lock:
                header = take_backup(self.store, self._config.cluster_id, self.node_id, path, self._config.data_dir)
            return header, open(path, "rb")
        finally:
            path.unlink(missing_ok=True)

    def checkpoint_dump(self, index: int) -> tuple[int, Path] | None:
        return self.checkpoints.certified_dump(index)

    def subscribe(self, queue_size: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=queue_size + 1)  # +1: room for the cut marker
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.discard(queue)

    def _publish(self, events: list[AppliedEvent]) -> None:
        for queue in list(self._subscribers):
            for event in events:
                if queue.qsize() >= queue.maxsize - 1:
                    self._subscribers.discard(queue)
                    queue.put_nowait(None)  # fell behind: the stream ends, the client resubscribes
                    break
                queue.put_nowait(event)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stops checkpoint work, pysyncobj and the store (idempotent; any thread but the tick
        thread: the keeper's recovery calls it too)."""
        if self._closed:
            return
        self._closed = True
        self.checkpoints.close()
        if not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._close_votes(), self._loop)
        self.raft.destroy()
        deadline = time.monotonic() + 5
        while self.raft.tick_thread_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._lock:
            self.store.close()


def read_journal_end(journal_file: Path) -> int:
    """The last Raft index in a journal file, read with pysyncobj's own reader, on a copy (the
    reader maps the file writable)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "journal"
        shutil.copyfile(journal_file, copy)
        journal = FileJournal(str(copy))
        try:
            return journal[len(journal) - 1][1] if len(journal) else 0
        finally:
            journal._destroy()


def _settle(future: asyncio.Future, result, error) -> None:
    if not future.done():
        future.set_result((result, error))

