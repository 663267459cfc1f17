"""The full dump pysyncobj compacts its log into and ships to lagging followers.

File layout: magic, a 4-byte header length, a JSON header with pysyncobj's metadata (the last two
applied log entries and the cluster membership: what its serializer hooks hand over), the ledger's
applied index and state hash, then a compact copy of the LMDB environment. No pickle: a peer's
snapshot is data, never code.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from node.config import fsync_directory
from node.store.snapshots import data_file_bytes_claimed, lmdb_meta_pages_bytes_max

snapshot_magic = b"SETTLESNAP\x00\x01"
# The header carries pysyncobj's last two log entries, base64: entries are at most half of
# RaftTuning.append_entries_bytes_max (4 MiB), so two of them take up to ~11 MiB. (It was 1 MiB:
# two full 4,000-command entries with long ids outgrew it, and the node could not read its own dump.)
snapshot_header_bytes_max = 16 << 20
_LENGTH = struct.Struct(">I")

RaftEntry = tuple[bytes, int, int]  # (command, index, term) as pysyncobj stores it


class SnapshotError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class SnapshotHeader:
    last_entry: RaftEntry
    previous_entry: RaftEntry
    cluster: tuple[str, ...]  # raft addresses of every member
    applied_index: int
    state_hash: bytes


def _entry_to_json(entry: RaftEntry) -> list:
    command, index, term = entry
    return [base64.b64encode(command).decode(), index, term]


def _entry_from_json(value: list) -> RaftEntry:
    command, index, term = value
    return base64.b64decode(command), int(index), int(term)


def header_bytes(header: SnapshotHeader) -> bytes:
    """What a snapshot file starts with: magic, the header's length, the header."""
    body = json.dumps(
        {
            "last_entry": _entry_to_json(header.last_entry),
            "previous_entry": _entry_to_json(header.previous_entry),
            "cluster": list(header.cluster),
            "applied_index": header.applied_index,
            "state_hash": header.state_hash.hex(),
        },
        sort_keys=True,
    ).encode()
    if len(body) > snapshot_header_bytes_max:
        raise SnapshotError(f"a snapshot header of {len(body)} bytes would be refused on reading")
    return snapshot_magic + _LENGTH.pack(len(body)) + body


def write_snapshot(path: Path, header: SnapshotHeader, lmdb_copy: Path) -> None:
    """A snapshot file at `path` from a header and an LMDB copy in a file of its own, fsynced."""
    with open(path, "wb") as out:
        out.write(header_bytes(header))
        with open(lmdb_copy, "rb") as data:
            shutil.copyfileobj(data, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    fsync_directory(path.parent)


def read_header(path: Path) -> tuple[SnapshotHeader, int]:
    """The header and the offset where the LMDB copy starts."""
    with open(path, "rb") as f:
        if f.read(len(snapshot_magic)) != snapshot_magic:
            raise SnapshotError(f"{path} is not a settlement snapshot")
        (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
        if length > snapshot_header_bytes_max:
            raise SnapshotError(f"{path}: header of {length} bytes")
        try:
            body = json.loads(f.read(length))
            header = SnapshotHeader(
                last_entry=_entry_from_json(body["last_entry"]),
                previous_entry=_entry_from_json(body["previous_entry"]),
                cluster=tuple(str(n) for n in body["cluster"]),
                applied_index=int(body["applied_index"]),
                state_hash=bytes.fromhex(body["state_hash"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise SnapshotError(f"{path}: bad header: {error}") from None
    return header, len(snapshot_magic) + _LENGTH.size + length


def check_complete(path: Path, offset: int) -> None:
    """SnapshotError unless the file holds every page its LMDB copy claims: pysyncobj sends a
    snapshot in chunks without offsets, and a connection lost in between leaves a file with
    chunks missing (seen under load at a million accounts). Cheap: two pages and the size."""
    with open(path, "rb") as f:
        f.seek(offset)
        head = f.read(lmdb_meta_pages_bytes_max)
    try:
        claimed = data_file_bytes_claimed(head)
    except ValueError as error:
        raise SnapshotError(f"{path}: the LMDB copy does not start with its meta pages: {error}") from None
    held = path.stat().st_size - offset
    if held < claimed:
        raise SnapshotError(f"{path}: the LMDB copy holds {held} bytes of the {claimed} it claims (cut short)")


def extract_lmdb(path: Path, offset: int, into_dir: Path) -> Path:
    """Copy the LMDB part of a snapshot to a file of its own (what the store installs)."""
    with open(path, "rb") as src:
        return extract_lmdb_from(src, offset, into_dir)


def extract_lmdb_from(src: BinaryIO, offset: int, into_dir: Path) -> Path:
    """extract_lmdb from a snapshot file already open (one its name may no longer point to)."""
    fd, name = tempfile.mkstemp(prefix="snapshot-", suffix=".mdb", dir=into_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            src.seek(offset)
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
