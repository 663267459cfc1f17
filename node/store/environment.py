"""Opening LMDB: the live environment with its durability flags, and a snapshot file read-only.

Flags of the live environment, and why:
- sync=True: every commit fdatasyncs the pages it wrote before it returns. Without it a power
  loss can leave a torn B-tree behind a meta page that points into it.
- metasync=True: the meta page that publishes the commit is flushed too (a second fdatasync), so
  a commit that returned is durable on its own. MDB_NOMETASYNC would also keep integrity (LMDB
  docs: ACI kept, only D lost): the meta page of the previous commit was flushed by this
  commit's data sync and still points at an intact tree, because LMDB does not reuse the pages
  of the last two commits, so a crash can undo only the last commit, and the replica could
  replay it from its fsynced journal. We keep the flush anyway, so that the stored
  applied_index never goes backwards across a power loss (status, checkpoint votes and the
  auditor have seen it). Measured here: +0.12 ms per commit of a tiny entry (310 vs 187 us),
  within noise for a 1,000-command entry (~10 ms); see tests/store/measure_commit_cost.py.
- writemap=False: LMDB writes through write(2) from private buffers and maps the file read-only,
  so a stray pointer write anywhere in the process faults instead of corrupting the file.
- map_async=False: only meaningful with writemap.
- meminit=True: buffers are zeroed before they are written, so no stale heap bytes reach disk.
- subdir=True, lock=True: one directory per node, with LMDB's lock file coordinating the
  replica's writer and concurrent readers (server threads, snapshot copies).
"""

from __future__ import annotations

import os
from pathlib import Path

import lmdb

from node.ledger.records import TABLES

from .errors import StoreCorruptError
from .layout import EVENTS_DB, STORE_DB, key_bytes_max, readers_max, sub_databases_max

SYNC = True
METASYNC = True
WRITEMAP = False

Databases = dict[bytes, "lmdb._Database"]

# What liblmdb reports for a file that is not, or is no longer, a consistent LMDB environment.
LMDB_CORRUPTION_ERRORS = (
    lmdb.CorruptedError,
    lmdb.InvalidError,
    lmdb.PageNotFoundError,
    lmdb.VersionMismatchError,
    lmdb.IncompatibleError,
    lmdb.BadValsizeError,
    lmdb.PanicError,
)


def open_live(path: Path, map_size_bytes: int) -> tuple[lmdb.Environment, Databases]:
    assert map_size_bytes > 0, map_size_bytes
    path.mkdir(parents=True, exist_ok=True)
    try:
        env = lmdb.open(
            str(path),
            map_size=map_size_bytes,
            subdir=True,
            readonly=False,
            sync=SYNC,
            metasync=METASYNC,
            writemap=WRITEMAP,
            map_async=False,
            meminit=True,
            lock=True,
            max_dbs=sub_databases_max,
            max_readers=readers_max,
        )
    except LMDB_CORRUPTION_ERRORS as e:
        raise StoreCorruptError(f"{path} is not a readable LMDB environment: {e}") from e
    assert env.max_key_size() >= key_bytes_max, env.max_key_size()
    try:
        # Creating the named databases is itself a (synced) write transaction: a new store is
        # complete and empty from here on, before its first commit.
        dbs = {name: env.open_db(name, create=True) for name in (*TABLES, STORE_DB, EVENTS_DB)}
    except LMDB_CORRUPTION_ERRORS as e:
        env.close()
        raise StoreCorruptError(f"{path}: cannot open the store's sub-databases: {e}") from e
    except BaseException:
        env.close()
        raise
    # LMDB syncs the file's contents; a newly created file's name lives in the directory.
    fsync_directory(path)
    return env, dbs


def open_snapshot(snapshot_file: Path) -> tuple[lmdb.Environment, Databases]:
    """A snapshot file opened read-only in place: no lock file (nobody writes a snapshot), no
    sub-directory, nothing created. Its events are not opened: an install does not keep them."""
    try:
        env = lmdb.open(
            str(snapshot_file),
            subdir=False,
            readonly=True,
            lock=False,
            create=False,
            max_dbs=sub_databases_max,
            max_readers=readers_max,
        )
    except LMDB_CORRUPTION_ERRORS as e:
        raise StoreCorruptError(f"{snapshot_file} is not a readable LMDB snapshot: {e}") from e
    try:
        dbs = {name: env.open_db(name, create=False) for name in (*TABLES, STORE_DB)}
    except (lmdb.NotFoundError, *LMDB_CORRUPTION_ERRORS) as e:
        env.close()
        raise StoreCorruptError(f"{snapshot_file} lacks the store's sub-databases: {e}") from e
    return env, dbs


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
