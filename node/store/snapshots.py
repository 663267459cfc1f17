"""Snapshots: one compact LMDB data file, written durably, checked before anything trusts it.

A snapshot may come from a peer (pysyncobj ships it to a follower that fell behind), so it is
untrusted input: its page structure is walked by py-lmdb's offline verifier (pure Python, which
a hostile file cannot crash) before liblmdb maps it, and its records must hash to the state hash
it carries before it replaces the live environment. Every file appears under its final name
only once it is complete and fsynced (temp name, fsync, rename, fsync the directory), so a crash
leaves the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

import lmdb
import lmdb.verify

from node.ledger import LedgerState

from .environment import LMDB_CORRUPTION_ERRORS, fsync_directory, open_snapshot
from .errors import StoreCorruptError
from .event_log import forget_events
from .layout import EVENTS_DB, STORE_DB, readers_max, sub_databases_max
from .reading import DECODE_ERRORS, fresh_state_hash, read_meta, read_state

PARTIAL_SUFFIX = ".partial"
snapshot_file_mode = 0o600


def write_snapshot(env: lmdb.Environment, path: Path) -> None:
    """A compact copy of one consistent read transaction of `env`, durable at `path`."""
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, snapshot_file_mode)
    try:
        try:
            env.copyfd(fd, compact=True)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def stage_copy(snapshot_file: Path, staging: Path) -> None:
    """Copy a snapshot next to the live data file and fsync it, so that installing it is one
    rename on the same filesystem, and what was verified is exactly what gets installed."""
    shutil.copyfile(snapshot_file, staging)
    fd = os.open(staging, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# LMDB 0.9's data file (liblmdb here is 0.9): two meta pages first, integers in host order; the
# meta record starts after the 16-byte page header.
_LMDB_PAGE_HEADER_BYTES = 16
_LMDB_MAGIC = 0xBEEFC0DE
_U32 = struct.Struct(("<" if sys.byteorder == "little" else ">") + "I")
_U64 = struct.Struct(("<" if sys.byteorder == "little" else ">") + "Q")
lmdb_meta_pages_bytes_max = 2 * 0x8000  # two meta pages of LMDB 0.9's largest page size


def data_file_bytes_claimed(head: bytes) -> int:
    """How many bytes an LMDB data file must hold, from its first two pages (`head`): its
    committed meta page's last page number plus one, in pages. A file shorter than that lost
    its end (a snapshot cut short in transit), which this finds in microseconds, long before
    the full structural check. ValueError if `head` does not start with two meta pages."""
    def meta(base: int) -> tuple[int, int, int]:  # (page size, last page, txn id)
        m = base + _LMDB_PAGE_HEADER_BYTES
        if _U32.unpack_from(head, m)[0] != _LMDB_MAGIC:
            raise ValueError("not an LMDB meta page")
        return _U32.unpack_from(head, m + 24)[0], _U64.unpack_from(head, m + 120)[0], _U64.unpack_from(head, m + 128)[0]

    try:
        page_bytes, last_page, txn = meta(0)
        if page_bytes < 256 or page_bytes & (page_bytes - 1) or 2 * page_bytes > len(head):
            raise ValueError(f"implausible LMDB page size {page_bytes}")
        _, other_last_page, other_txn = meta(page_bytes)
    except struct.error as error:
        raise ValueError(f"too short for two LMDB meta pages: {error}") from None
    committed_last_page = other_last_page if other_txn > txn else last_page
    return (committed_last_page + 1) * page_bytes


def snapshot_summary(snapshot_file: Path) -> tuple[int, bytes]:
    """(applied_index, state_hash) of a snapshot file, without installing or fully loading it."""
    _check_structure(snapshot_file)
    env, dbs = open_snapshot(snapshot_file)
    try:
        with env.begin() as txn:
            meta = read_meta(txn, dbs)
    except LMDB_CORRUPTION_ERRORS as e:
        raise StoreCorruptError(f"snapshot {snapshot_file}: {e}") from e
    finally:
        env.close()
    return meta.applied_index, meta.state_hash or fresh_state_hash()


def load_snapshot(snapshot_file: Path) -> LedgerState:
    """The state in a snapshot file, verified structurally and against its state hash."""
    _check_structure(snapshot_file)
    env, dbs = open_snapshot(snapshot_file)
    try:
        with env.begin() as txn:
            return read_state(txn, dbs)
    except LMDB_CORRUPTION_ERRORS as e:
        raise StoreCorruptError(f"snapshot {snapshot_file}: {e}") from e
    finally:
        env.close()


def forget_snapshot_events(staged_file: Path, applied_index: int, map_size_bytes: int) -> None:
    """Drops the events a staged (verified, not yet live) snapshot carries, in one synced write:
    the store installed from it keeps events from the entry after `applied_index` on."""
    env = lmdb.open(
        str(staged_file), subdir=False, lock=False, create=False, sync=True, metasync=True,
        map_size=max(map_size_bytes, staged_file.stat().st_size), max_dbs=sub_databases_max, max_readers=readers_max,
    )
    try:
        dbs = {name: env.open_db(name, create=True) for name in (STORE_DB, EVENTS_DB)}
        with env.begin(write=True) as txn:
            forget_events(txn, dbs, applied_index)
    except LMDB_CORRUPTION_ERRORS as e:
        raise StoreCorruptError(f"snapshot {staged_file}: {e}") from e
    finally:
        env.close()


def _check_structure(snapshot_file: Path) -> None:
    try:
        problems = lmdb.verify.verify(str(snapshot_file), subdir=False)
    except (lmdb.verify.VerifyError, *DECODE_ERRORS) as e:
        raise StoreCorruptError(f"snapshot {snapshot_file} is not an LMDB data file: {e}") from e
    if problems:
        raise StoreCorruptError(f"snapshot {snapshot_file} is structurally damaged: {'; '.join(problems[:5])}")
