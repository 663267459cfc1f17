"""LedgerStore: the node's one LMDB environment, holding the ledger state as of an applied index.

The replica's contract with it: after `commit(state, events)` returns, the records `state`
touched, its applied index, its state hash and the entry's events are on disk together (one
synced write transaction), and `load()` gives back exactly that state or raises. The events are
kept for a retention window of entries (event_log.py) and read back with `read_events`. The store never decides anything about money;
it persists what the ledger computed and refuses to hand back anything that does not hash to
what was committed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import lmdb

from node.ledger import LedgerState
from node.ledger.events import Event
from node.ledger.state_hash import hash_bytes

from .environment import LMDB_CORRUPTION_ERRORS, Databases, fsync_directory, open_live
from .errors import StoreCorruptError, StoreFullError
from .event_log import EventLogRead, read_entry_events, write_entry_events
from .layout import DATA_FILE_NAME, events_retention_entries_default, map_size_bytes_default
from .readers import StoreReader
from .reading import fresh_state_hash, read_meta, read_state
from .snapshots import forget_snapshot_events, load_snapshot, snapshot_summary, stage_copy, write_snapshot
from .writing import UnwrittenEntries, write_entry

INSTALLING_SUFFIX = ".installing"


class LedgerStore:
    def __init__(self, path: Path, map_size_bytes: int = map_size_bytes_default,
                 events_retention_entries: int = events_retention_entries_default) -> None:
        assert events_retention_entries >= 1, events_retention_entries
        self.path = Path(path)
        self.map_size_bytes = map_size_bytes
        self.events_retention_entries = events_retention_entries
        self._env: lmdb.Environment | None = None
        self._dbs: Databases = {}
        self._readers: dict[int, StoreReader] = {}
        self._readers_lock = threading.Lock()
        self._open()

    # -- the replica's three verbs: commit an entry, load at start, snapshot / install ---------

    def commit(self, state: LedgerState, events: Sequence[Event] = ()) -> None:
        """Persist the entry `state` just finished and the events it emitted, atomically and
        durably; prune the events that fell out of the retention window."""
        unwritten = UnwrittenEntries()
        unwritten.add(state, events)
        self.commit_entries(state, unwritten)

    def commit_entries(self, state: LedgerState, unwritten: UnwrittenEntries) -> None:
        """Persist consecutive entries applied since the last commit, the last of which `state`
        just finished, with their events, in one synced transaction: after a crash the store
        holds all of them or none (the node then applies them again from its Raft log)."""
        assert unwritten.entries and unwritten.entries[-1].index == state.applied_index, \
            (unwritten.entries[-1:], state.applied_index)
        env = self._live()
        try:
            with env.begin(write=True) as txn:
                stored_index = read_meta(txn, self._dbs).applied_index
                assert unwritten.entries[0].index > stored_index, (unwritten.entries[0].index, stored_index)
                write_entry(txn, self._dbs, state, stored_index, unwritten.touched)
                before = stored_index
                for entry in unwritten.entries:
                    write_entry_events(txn, self._dbs, entry.index, entry.time_ms, entry.events,
                                       before, self.events_retention_entries)
                    before = entry.index
        except lmdb.MapFullError as e:
            # The transaction was aborted: the store still holds the previous entry, and the
            # in-memory state is now ahead of it, so the caller must stop, not carry on.
            raise StoreFullError(
                f"LMDB map of {self.map_size_bytes} bytes at {self.path} is full: entries "
                f"{unwritten.entries[0].index}-{state.applied_index} were not written; restart with a larger map_size_bytes"
            ) from e
        except LMDB_CORRUPTION_ERRORS as e:
            raise StoreCorruptError(f"{self.path}: LMDB reports corruption while writing: {e}") from e

    def load(self) -> LedgerState:
        """The committed state, verified against the stored state hash."""
        env = self._live()
        try:
            with env.begin() as txn:
                return read_state(txn, self._dbs)
        except LMDB_CORRUPTION_ERRORS as e:
            raise StoreCorruptError(f"{self.path}: LMDB reports corruption: {e}") from e

    def read_events(self, from_index: int, entries_max: int) -> EventLogRead:
        """The kept events of entries from `from_index` on (at most `entries_max` entries that
        had events), with the applied index and the oldest index kept, from one commit. The
        caller keeps install() away meanwhile, as for every read."""
        env = self._live()
        try:
            with env.begin() as txn:
                return read_entry_events(txn, self._dbs, from_index, entries_max)
        except LMDB_CORRUPTION_ERRORS as e:
            raise StoreCorruptError(f"{self.path}: LMDB reports corruption: {e}") from e

    def copy_to(self, path: Path) -> None:
        """Write a compact, consistent, fsynced snapshot of the store to the file `path`."""
        write_snapshot(self._live(), Path(path))

    def install(self, snapshot_file: Path) -> LedgerState:
        """Replace the live environment with a copy of a snapshot, atomically: after a crash the
        directory holds either the old data file or the new one. The snapshot is verified
        (structure, records, state hash) before it replaces anything, so a bad one leaves the
        live store untouched. Returns the verified state, so the caller need not load() it a
        second time. The caller must keep every other thread off the store meanwhile: the
        environment is closed and reopened."""
        staging = self.path / (DATA_FILE_NAME + INSTALLING_SUFFIX)
        try:
            stage_copy(Path(snapshot_file), staging)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
        return self.install_verified(staging, self.verify_snapshot(staging))

    def verify_snapshot(self, snapshot_file: Path) -> LedgerState:
        """The state in a snapshot file, verified (structure, records, state hash), for
        install_verified. Never touches the live environment, so it may run on any thread while
        the store goes on committing. StoreCorruptError (the file removed) if it fails."""
        try:
            verified = load_snapshot(Path(snapshot_file))
            # The events a snapshot carries are dropped before it goes live: the state hash does
            # not cover them, so nothing vouches for them; this store keeps events from the
            # snapshot's index on.
            forget_snapshot_events(Path(snapshot_file), verified.applied_index, self.map_size_bytes)
            return verified
        except StoreCorruptError as e:
            Path(snapshot_file).unlink(missing_ok=True)
            raise StoreCorruptError(f"snapshot {snapshot_file} refused, live store kept: {e}") from e
        except BaseException:
            Path(snapshot_file).unlink(missing_ok=True)
            raise

    def install_verified(self, snapshot_file: Path, verified: LedgerState) -> LedgerState:
        """Replace the live environment with `snapshot_file`, which verify_snapshot checked and
        nothing has written since: a private, fsynced file on this store's filesystem. It is
        moved into place (one rename, then the directory fsynced: a crash leaves the old data
        file or the new one). Closes and reopens the environment: the caller keeps every other
        thread off the store meanwhile (open readers are closed first, a copy in progress is
        waited for)."""
        self.close()
        os.replace(snapshot_file, self.path / DATA_FILE_NAME)
        fsync_directory(self.path)
        self._open()
        assert self.applied_index == verified.applied_index, (self.applied_index, verified.applied_index)
        assert self.state_hash == hash_bytes(verified.state_hash), self.state_hash.hex()
        return verified

    def open_reader(self) -> StoreReader:
        """A read transaction on the last commit, to walk from another thread (StoreReader).
        Close it soon: LMDB keeps every page it can see, so a forgotten reader grows the file.
        Closing the store (or installing a snapshot) closes every open reader first."""
        env = self._live()
        reader = StoreReader(env, env.begin(), self._dbs, self._forget_reader)
        with self._readers_lock:
            self._readers[id(reader)] = reader
        return reader

    def _forget_reader(self, reader: StoreReader) -> None:
        with self._readers_lock:
            self._readers.pop(id(reader), None)

    # (applied_index, state_hash) of a snapshot file, without installing it.
    snapshot_summary = staticmethod(snapshot_summary)

    # -- cheap reads of the store's metadata ------------------------------------------------

    @property
    def applied_index(self) -> int:
        with self._live().begin() as txn:
            return read_meta(txn, self._dbs).applied_index

    @property
    def state_hash(self) -> bytes:
        with self._live().begin() as txn:
            return read_meta(txn, self._dbs).state_hash or fresh_state_hash()

    # -- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        with self._readers_lock:
            readers = list(self._readers.values())
        for reader in readers:
            reader.close()
        if self._env is not None:
            self._env.close()
            self._env = None
            self._dbs = {}

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> None:
        assert self._env is None
        self._env, self._dbs = open_live(self.path, self.map_size_bytes)
        # A crash during install() can leave its staging copy behind; it was never live.
        (self.path / (DATA_FILE_NAME + INSTALLING_SUFFIX)).unlink(missing_ok=True)
        # Refuse a store of another schema, or with broken metadata, at open, not at first use.
        try:
            with self._env.begin() as txn:
                read_meta(txn, self._dbs)
        except LMDB_CORRUPTION_ERRORS as e:
            self.close()
            raise StoreCorruptError(f"{self.path}: LMDB reports corruption: {e}") from e
        except BaseException:
            self.close()
            raise

    def _live(self) -> lmdb.Environment:
        assert self._env is not None, f"store at {self.path} is closed"
        return self._env
