"""The ledger as Raft sees it: three verbs, apply, snapshot and restore (hashicorp/raft's FSM).

pysyncobj asks for all three on its tick thread: `apply` for every committed entry (through
LedgerRaft.apply_entry), `snapshot` and `restore` as its serializer and deserializer hooks. None
of them does its work there: the tick thread sends heartbeats and answers the leader, and a
pause of it long enough deposes a healthy leader (docs/design.md#pauses-of-the-tick-thread). So
each entry, and each snapshot step that belongs at a point of the log, is queued to the apply
thread (apply_thread.py) in log order, and a snapshot file is written by a thread of its own
(snapshot_writer.py). The ledger state and its LMDB store are touched under `lock`, which the
asyncio side takes too for its reads (node/replica/replica.py).

Apply: the entry's effects, its dedup records, the applied index, the state hash and its events
are written in ONE synced LMDB transaction, together with the entries that were waiting right
before or after it (a run, apply_thread.py), before any of their outcomes is answered; an index at
or below the stored applied index is skipped (pysyncobj re-applies everything since its last dump
after a restart). Anything that breaks the
ledger's invariants or the store stops the process loudly: a node must never serve a balance it
cannot vouch for (docs/design.md#durability-contract).

Snapshot: once the entries before it are applied, a read transaction of the store is opened and
handed to the snapshot writer: a compact LMDB copy of it plus pysyncobj's metadata, without
pickle (snapshot.py); pysyncobj polls `snapshot_progress` meanwhile. Restore: a snapshot newer
than the live store replaces it (catch-up): on the apply thread, after the entries before it, it
is extracted beside the store, verified against its own hash and moved in. An older or equal one
is a restart, and the live store stays.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from node.config import fsync_directory, fsync_file
from node.ledger import LedgerState
from node.ledger.events import Event
from node.ledger.state_hash import hash_bytes
from node.logs import log_event, log_ledger_events
from node.metrics import NodeMetrics
from node.replica import snapshot
from node.replica.logged_entry import apply_logged_entry
from node.replica.port import SubmitOutcome
from node.replica.apply_thread import ApplyThread
from node.replica.snapshot_writer import SnapshotProgress, SnapshotWriter
from node.runtime import loading_long_lived_objects
from node.store import LedgerStore, UnwrittenEntries

log = logging.getLogger("settle.replica")

fatal_exit_code = 70  # EX_SOFTWARE: the node stopped itself on a broken invariant or store error


def stop_loudly(what: str) -> None:
    """Ends the process at once: applying half an entry, or serving past a broken invariant,
    would be worse than a node down (its peers carry on; it restarts and replays)."""
    log.critical("STOPPING NODE: %s", what, exc_info=True)
    logging.shutdown()
    os._exit(fatal_exit_code)


@dataclass(frozen=True, slots=True)
class AppliedEntryHooks:
    """What the rest of the node does after an entry is committed (apply thread, under the lock
    for `after_commit`): checkpoint bookkeeping, and handing events to subscribers."""

    after_commit: Callable[[LedgerState, Sequence[Event]], None]
    publish: Callable[[int, int, Sequence[Event]], None]  # (index, ledger time, events)
    after_restore: Callable[[LedgerState], None]


class LedgerStateMachine:
    def __init__(self, store: LedgerStore, data_dir: Path, raft_address: str, metrics: NodeMetrics,
                 dump_file: Path) -> None:
        self.lock = threading.Lock()
        self.store = store
        with loading_long_lived_objects():  # millions of records at scale: see node/runtime.py
            self.state: LedgerState = store.load()  # StoreCorruptError: refuse to start
        self._data_dir = data_dir
        self._raft_address = raft_address
        self._metrics = metrics
        self.hooks: AppliedEntryHooks | None = None  # set once the node around it is assembled
        self.applying = ApplyThread(self.apply_entries)
        self.dump_file = Path(dump_file)
        self._writer = SnapshotWriter(dump_file)
        self._snapshot_queued = False  # asked for, waiting for the entries before it
        self._snapshot_failed = False  # could not start, or dropped by an install: FAILED once
        self._installs = 0  # peers' snapshots queued and not yet in place
        self._installs_lock = threading.Lock()  # counted up on the tick thread, down on the apply thread
        self._generation = 0  # counts installs: a snapshot asked for before one is dropped
        self._newest_install = 0  # the applied index of the newest peer's snapshot queued

    # -- apply --------------------------------------------------------------------------------

    def apply(self, index: int, data: bytes) -> SubmitOutcome | None:
        """Applies one entry and writes it (apply_entries of a run of one)."""
        return self.apply_entries([(index, data)])[0]

    def apply_entries(self, entries: Sequence[tuple[int, bytes]]) -> list[SubmitOutcome | None]:
        """Applies consecutive committed entries found waiting together (apply_thread.py) and
        writes them in one synced commit, before any of their outcomes is handed back. An entry
        that emitted events is written at once, before its events go to the checkpoint keeper
        and the watchers: they may read the store as of that entry."""
        unwritten = UnwrittenEntries()
        try:
            outcomes = [self._apply_one(index, data, unwritten) for index, data in entries]
            if unwritten:
                with self.lock:
                    self._write(unwritten)
            return outcomes
        except BaseException as error:  # noqa: BLE001 - stop, never continue half-applied
            stop_loudly(f"applying entries {entries[0][0]}-{entries[-1][0]}: {error!r}")

    def _apply_one(self, index: int, data: bytes, unwritten: UnwrittenEntries) -> SubmitOutcome | None:
        if index <= self.state.applied_index:
            return None  # replayed after a restart: already in the store
        with self.lock:
            started = time.perf_counter()
            applied = apply_logged_entry(self.state, index, data)
            self._metrics.entry_applied(applied.entry.commands, applied.outcome.results, time.perf_counter() - started)
            events = applied.outcome.events
            unwritten.add(self.state, events)  # events are kept for WatchEvents to replay
            if events:
                self._write(unwritten)
                if self.hooks is not None:
                    self.hooks.after_commit(self.state, events)
        if not applied.decodable:
            log.error("entry %d is not a LogEntry this node can read; applied as empty", index)
        if events:
            log_ledger_events(index, events)  # structured state-change lines (node/logs.py)
            if self.hooks is not None:
                self.hooks.publish(index, self.state.ledger_time_ms, events)
        return SubmitOutcome(index, applied.results_per_batch)

    def _write(self, unwritten: UnwrittenEntries) -> None:  # under the lock
        started = time.perf_counter()
        self.store.commit_entries(self.state, unwritten)
        self._metrics.entries_written(len(unwritten), time.perf_counter() - started)
        unwritten.clear()

    # -- pysyncobj's side (tick thread): hand everything to the apply thread, in log order ----

    def apply_in_order(self, index: int, data: bytes):
        """LedgerRaft's applier: queues the entry behind those before it; the Future holds what
        `apply` returns."""
        return self.applying.submit_entry(index, data)

    def may_apply(self) -> bool:
        """Whether the tick thread may hand over the next committed entry (LedgerRaft asks)."""
        return self.applying.has_room

    @property
    def installing(self) -> bool:
        """A peer's snapshot is on its way into the store: the state is older than the log says."""
        return self._installs > 0

    def snapshot(self, path: str, raft_data) -> None:
        """pysyncobj's serializer hook: a snapshot of the state as of the last entry handed over,
        which pysyncobj's raft data describes; it starts once that entry is applied, and
        pysyncobj polls snapshot_progress() until it is written."""
        assert Path(path) == self.dump_file, (path, self.dump_file)
        self._snapshot_queued = True
        self.applying.submit(self._start_snapshot, raft_data, self._generation)

    def _start_snapshot(self, raft_data, generation: int) -> None:  # apply thread
        try:
            if generation != self._generation:
                self._snapshot_failed = True  # a peer's snapshot replaced the state it was asked for
                return
            last_entry, previous_entry, cluster = raft_data
            with self.lock:  # between two applies: the store's last commit is the state's
                reader = self.store.open_reader()
                header = snapshot.SnapshotHeader(
                    last_entry=tuple(last_entry), previous_entry=tuple(previous_entry),
                    cluster=tuple(sorted(n.address for n in cluster)),
                    applied_index=self.state.applied_index, state_hash=hash_bytes(self.state.state_hash),
                )
            assert reader.applied_index == header.applied_index, (reader.applied_index, header.applied_index)
            self._writer.start(header, reader)
        except Exception:  # noqa: BLE001 - a snapshot that cannot start is retried by pysyncobj
            log.exception("snapshot could not start")
            self._snapshot_failed = True
        finally:
            self._snapshot_queued = False

    def snapshot_progress(self) -> SnapshotProgress:
        """pysyncobj's serializer checker: WRITING until the snapshot is written and moved over
        the dump (WRITTEN, once) or given up (FAILED, once)."""
        if self._snapshot_queued:
            return SnapshotProgress.WRITING
        if self._snapshot_failed:
            self._snapshot_failed = False
            return SnapshotProgress.FAILED
        return self._writer.progress()

    def restore(self, path: str):
        """pysyncobj's deserializer hook, at start (its own dump: a restart, the live store
        stays) and when the leader sent a snapshot: if it is newer than what this node holds or
        is installing, it is queued for the apply thread, read from a file opened now (pysyncobj
        may write the next snapshot it receives over the dump)."""
        header, offset = snapshot.read_header(Path(path))
        if header.applied_index > max(self.state.applied_index, self._newest_install):
            # A file cut short in transit is refused here, while pysyncobj can still ask again
            # (it logs the error and the leader sends the snapshot anew); later it is too late.
            snapshot.check_complete(Path(path), offset)
            # pysyncobj renamed the received file over the dump without a sync, and acknowledges
            # it once this returns: a power cut must not leave an acknowledged snapshot unreadable.
            fsync_file(Path(path))
            fsync_directory(Path(path).parent)
            self._generation += 1
            self._writer.abandon()  # a snapshot of the older state must not replace this dump
            with self._installs_lock:
                self._installs += 1
            self._newest_install = header.applied_index
            self.applying.submit(self._install, open(path, "rb"), offset, header)
            log.info("snapshot at applied index %d received: installing it after the entries before it",
                     header.applied_index)
        other = tuple(a for a in header.cluster if a != self._raft_address)
        return header.last_entry, header.previous_entry, other

    def _install(self, source, offset: int, header: snapshot.SnapshotHeader) -> None:  # apply thread
        started = time.monotonic()
        try:
            with source:
                lmdb_file = snapshot.extract_lmdb_from(source, offset, self._data_dir)
            verified = self.store.verify_snapshot(lmdb_file)  # StoreCorruptError: refused
            with self.lock:
                self.state = self.store.install_verified(lmdb_file, verified)
                if hash_bytes(self.state.state_hash) != header.state_hash:
                    stop_loudly("installed snapshot does not match its own state hash")
                log_event("snapshot_installed", f"installed snapshot at applied index {self.state.applied_index} "
                          f"in {time.monotonic() - started:.1f} s", snapshot_index=self.state.applied_index)
                if self.hooks is not None:
                    self.hooks.after_restore(self.state)  # the snapshot brought the signer set too
        except BaseException as error:  # noqa: BLE001 - a node must not go on from a state it cannot vouch for
            stop_loudly(f"installing the leader's snapshot at applied index {header.applied_index}: {error!r}")
        finally:
            with self._installs_lock:
                self._installs -= 1

    def close(self) -> None:
        """Stops the apply thread (what it has not started is applied again after a restart)."""
        self.applying.close()
