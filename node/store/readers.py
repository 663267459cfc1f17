"""StoreReader: one LMDB read transaction, a consistent view of one commit, read from any thread.

The checkpoint check opens a reader on the replica's thread right after an entry's commit (so it
sees exactly that entry's state) and walks it on a background thread while the replica goes on
committing; a snapshot is copied from one the same way (node/replica/snapshot_writer.py). py-lmdb opens every environment MDB_NOTLS, so a read transaction may move between
threads; what must never happen is the environment closing (store close, snapshot install) while
a thread is inside LMDB on its behalf. So the walk takes the reader's lock for each chunk of
records, and `LedgerStore.close()` first closes every open reader under that lock: the walk
then stops at its next chunk with ReaderClosed, never touching an unmapped file.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import lmdb

from node.ledger.records import TABLES

from .environment import Databases
from .layout import StoredMeta
from .reading import read_meta

# Records copied out of LMDB per lock hold: short enough that closing the store waits at most
# about a millisecond, long enough that the lock costs nothing next to hashing the records.
reader_chunk_records = 512


class ReaderClosed(Exception):
    """The store closed (shutdown, snapshot install) while the reader was open."""


class StoreReader:
    def __init__(self, env: lmdb.Environment, txn: lmdb.Transaction, dbs: Databases, on_close) -> None:
        self._env = env
        self._txn: lmdb.Transaction | None = txn
        self._dbs = dbs
        self._lock = threading.Lock()
        self._on_close = on_close
        with self._lock:
            self.meta: StoredMeta = read_meta(txn, dbs)

    @property
    def applied_index(self) -> int:
        return self.meta.applied_index

    def records(self) -> Iterator[tuple[bytes, bytes, bytes]]:
        """Every ledger record as (table, key bytes, value bytes), table by table in key order:
        exactly what is on disk, undecoded. Raises ReaderClosed if the store closes meanwhile."""
        for table in TABLES:
            after: bytes | None = None
            while True:
                chunk = self._chunk(table, after)
                for key, value in chunk:
                    yield table, key, value
                if len(chunk) < reader_chunk_records:
                    break
                after = chunk[-1][0]

    def _chunk(self, table: bytes, after: bytes | None) -> list[tuple[bytes, bytes]]:
        with self._lock:
            if self._txn is None:
                raise ReaderClosed("the store closed while a reader was open")
            out: list[tuple[bytes, bytes]] = []
            with self._txn.cursor(db=self._dbs[table]) as cursor:
                found = cursor.set_range(after) if after is not None else cursor.first()
                if found and after is not None and cursor.key() == after:
                    found = cursor.next()
                while found and len(out) < reader_chunk_records:
                    out.append((cursor.key(), cursor.value()))
                    found = cursor.next()
            return out

    def copy_compact(self, fd: int) -> None:
        """Writes a compact LMDB copy of exactly this reader's commit to `fd`, from its current
        position on (a file may start with a header of its own). The copy runs in liblmdb with
        the GIL released, so other threads go on meanwhile; it holds the reader's lock
        throughout, so closing the store waits for it to end. Raises ReaderClosed if the store
        closed first."""
        with self._lock:
            if self._txn is None:
                raise ReaderClosed("the store closed before the copy started")
            self._env.copyfd(fd, compact=True, txn=self._txn)

    def close(self) -> None:
        """Ends the transaction (idempotent; any thread). LMDB may reuse its pages from now on."""
        with self._lock:
            txn, self._txn = self._txn, None
            if txn is not None:
                txn.abort()
        self._on_close(self)

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
