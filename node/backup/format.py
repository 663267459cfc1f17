"""The backup file: a JSON header, the store's compact LMDB copy, and a SHA-256 over both.

Layout (lengths big-endian):

    magic "SETTLEBACKUP\\0\\1"
    u32 header length + canonical JSON {"format", "cluster_id", "node_id", "applied_index",
                                        "state_hash", "created_ms"}
    the LMDB copy (node/store/snapshots.write_snapshot: one read transaction, so its records,
    applied index and state hash are one commit)
    32-byte SHA-256 of every byte before it

The body is the same compact LMDB copy pysyncobj snapshots ship (node/replica/snapshot.py), so a
restore reuses the store's own verified install path. The checksum only catches a damaged or
truncated file; it proves nothing about who wrote it: restore always recomputes the state hash
from the records (node/store/snapshots.load_snapshot) and compares it with the header.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

BACKUP_MAGIC = b"SETTLEBACKUP\x00\x01"
BACKUP_FORMAT = 1
backup_header_bytes_max = 4096
backup_file_mode = 0o600  # every balance of the venue: readable by the operator alone
backup_chunk_bytes = 1 << 20  # one streamed gRPC message (gRPC's default limit is 4 MiB)
_U32 = struct.Struct(">I")
_CHECKSUM_BYTES = 32


class BackupError(ValueError):
    """A file that is not a complete, intact backup, or one that does not match its header."""


@dataclass(frozen=True, slots=True)
class BackupHeader:
    cluster_id: str
    node_id: str
    applied_index: int
    state_hash: bytes
    created_ms: int

    def to_bytes(self) -> bytes:
        return json.dumps({
            "format": BACKUP_FORMAT, "cluster_id": self.cluster_id, "node_id": self.node_id,
            "applied_index": self.applied_index, "state_hash": self.state_hash.hex(),
            "created_ms": self.created_ms,
        }, sort_keys=True, separators=(",", ":")).encode()


def write_backup(path: Path, header: BackupHeader, lmdb_copy: Path) -> None:
    """Header, copy and checksum into `path`, fsynced."""
    digest = hashlib.sha256()
    body = header.to_bytes()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, backup_file_mode)
    with os.fdopen(fd, "wb") as out, open(lmdb_copy, "rb") as data:
        for part in (BACKUP_MAGIC, _U32.pack(len(body)), body):
            digest.update(part)
            out.write(part)
        while chunk := data.read(backup_chunk_bytes):
            digest.update(chunk)
            out.write(chunk)
        out.write(digest.digest())
        out.flush()
        os.fsync(out.fileno())


def verify_checksum(path: Path) -> None:
    size = path.stat().st_size
    if size < len(BACKUP_MAGIC) + _U32.size + _CHECKSUM_BYTES:
        raise BackupError(f"{path}: too short to be a backup ({size} bytes)")
    digest, left = hashlib.sha256(), size - _CHECKSUM_BYTES
    with open(path, "rb") as f:
        while left:
            chunk = f.read(min(left, backup_chunk_bytes))
            if not chunk:
                raise BackupError(f"{path}: truncated")
            digest.update(chunk)
            left -= len(chunk)
        if f.read() != digest.digest():
            raise BackupError(f"{path}: checksum mismatch (damaged or truncated backup)")


def read_header(path: Path) -> tuple[BackupHeader, int]:
    """The header and the offset where the LMDB copy starts (call verify_checksum first)."""
    with open(path, "rb") as f:
        if f.read(len(BACKUP_MAGIC)) != BACKUP_MAGIC:
            raise BackupError(f"{path} is not a settlement backup (bad magic)")
        (length,) = _U32.unpack(f.read(_U32.size))
        if length > backup_header_bytes_max:
            raise BackupError(f"{path}: header of {length} bytes")
        try:
            body = json.loads(f.read(length))
            if body["format"] != BACKUP_FORMAT:
                raise BackupError(f"{path}: unknown backup format {body['format']!r}")
            header = BackupHeader(
                cluster_id=str(body["cluster_id"]), node_id=str(body["node_id"]),
                applied_index=int(body["applied_index"]), state_hash=bytes.fromhex(body["state_hash"]),
                created_ms=int(body["created_ms"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise BackupError(f"{path}: bad header: {error}") from None
    return header, len(BACKUP_MAGIC) + _U32.size + length


def extract_lmdb(path: Path, offset: int, out_file: Path) -> None:
    """The LMDB copy alone, into `out_file` (fsynced)."""
    left = path.stat().st_size - _CHECKSUM_BYTES - offset
    with open(path, "rb") as src, open(out_file, "wb") as out:
        src.seek(offset)
        while left > 0:
            chunk = src.read(min(left, backup_chunk_bytes))
            out.write(chunk)
            left -= len(chunk)
        out.flush()
        os.fsync(out.fileno())
