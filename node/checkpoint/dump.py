"""The state dump of a checkpoint: every ledger record at one applied index, as stored.

An auditor recomputes the state hash from it offline (the same per-record sum as
node/ledger/state_hash.py) and compares it with a certified checkpoint, so the records are kept
exactly as the store holds them: table, key and value bytes, never re-encoded.

File layout (all lengths big-endian):

    magic "SETTLEDUMP\\0\\1"
    header   u32 length + canonical JSON {"format": 1, "index": I}
    records  "R" + u8 table length + table + u16 key length + key + u32 value length + value
    trailer  "E" + u64 record count + 32-byte state hash the writer computed

The trailer only detects a truncated or unfinished file; it proves nothing: the reader always
recomputes the hash from the records.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from node.ledger.state_hash import hash_bytes, hash_modulus, record_hash

DUMP_MAGIC = b"SETTLEDUMP\x00\x01"
DUMP_FORMAT = 1
_RECORD_TAG = b"R"
_END_TAG = b"E"
_U8, _U16, _U32 = struct.Struct(">B"), struct.Struct(">H"), struct.Struct(">I")
_TRAILER = struct.Struct(">Q32s")
dump_header_bytes_max = 4096
# A record's parts as the store bounds them: table tags are short, LMDB keys at most 511 bytes.
dump_key_bytes_max = 511
dump_value_bytes_max = 64 * 1024 * 1024
_write_buffer_bytes = 1 << 20


class DumpError(ValueError):
    """A file that is not a complete, well-formed dump."""


Record = tuple[bytes, bytes, bytes]  # (table, key, value) as stored


def add_record(total: int, table: bytes, key: bytes, value: bytes) -> int:
    """The running state hash with one more stored record (a key that is not UTF-8 is not a
    record the ledger wrote: UnicodeDecodeError)."""
    return (total + record_hash(table, key.decode("utf-8"), value)) % hash_modulus


class DumpWriter:
    """Writes a dump to `path` + ".partial" and hashes it on the way; `finish()` makes it
    durable under `path`. Nothing appears under `path` unless it is complete."""

    def __init__(self, path: Path, index: int) -> None:
        self.path = Path(path)
        self.index = index
        self.records = 0
        self.state_hash = 0
        self.undecodable = 0  # records whose key is not UTF-8: kept in the file, not in the hash
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._file = open(self._partial, "wb", buffering=_write_buffer_bytes)
        header = json.dumps({"format": DUMP_FORMAT, "index": index}, sort_keys=True, separators=(",", ":")).encode()
        self._file.write(DUMP_MAGIC + _U32.pack(len(header)) + header)

    def add(self, table: bytes, key: bytes, value: bytes) -> None:
        try:
            self.state_hash = add_record(self.state_hash, table, key, value)
        except UnicodeDecodeError:
            self.undecodable += 1
        self._file.write(b"".join((_RECORD_TAG, _U8.pack(len(table)), table, _U16.pack(len(key)), key,
                                   _U32.pack(len(value)), value)))
        self.records += 1

    def finish(self) -> bytes:
        """Writes the trailer, fsyncs and renames; returns the state hash of the records."""
        digest = hash_bytes(self.state_hash)
        self._file.write(_END_TAG + _TRAILER.pack(self.records, digest))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._partial, self.path)
        return digest

    def abandon(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class DumpSummary:
    index: int
    records: int
    state_hash: bytes  # recomputed from the records
    claimed_hash: bytes  # what the trailer says


def read_header(f) -> int:
    """Reads magic and header from an open file; returns the dump's index."""
    if f.read(len(DUMP_MAGIC)) != DUMP_MAGIC:
        raise DumpError("not a checkpoint dump (bad magic)")
    (length,) = _unpack(_U32, f)
    if length > dump_header_bytes_max:
        raise DumpError(f"header of {length} bytes")
    try:
        header = json.loads(_read_exactly(f, length))
    except ValueError:
        raise DumpError("header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != DUMP_FORMAT:
        raise DumpError(f"unknown dump format {header.get('format') if isinstance(header, dict) else header!r}")
    index = header.get("index")
    if type(index) is not int or index < 1:
        raise DumpError("header index must be a positive integer")
    return index


def records(path: Path) -> Iterator[Record]:
    """Every record of a dump, in file order. Raises DumpError at the first malformed byte, and
    at the end if the trailer is missing, trailing bytes follow it, or its count disagrees."""
    with open(path, "rb", buffering=_write_buffer_bytes) as f:
        read_header(f)
        count = 0
        while True:
            tag = f.read(1)
            if tag == _RECORD_TAG:
                (table_length,) = _unpack(_U8, f)
                table = _read_exactly(f, table_length)
                (key_length,) = _unpack(_U16, f)
                if key_length > dump_key_bytes_max:
                    raise DumpError(f"record {count}: key of {key_length} bytes")
                key = _read_exactly(f, key_length)
                (value_length,) = _unpack(_U32, f)
                if value_length > dump_value_bytes_max:
                    raise DumpError(f"record {count}: value of {value_length} bytes")
                yield table, key, _read_exactly(f, value_length)
                count += 1
            elif tag == _END_TAG:
                claimed_count, _ = _unpack(_TRAILER, f)
                if claimed_count != count:
                    raise DumpError(f"trailer counts {claimed_count} records, the file holds {count}")
                if f.read(1):
                    raise DumpError("bytes after the trailer")
                return
            elif not tag:
                raise DumpError(f"truncated after {count} records (no trailer)")
            else:
                raise DumpError(f"record {count}: unknown tag {tag!r}")


def summarize(path: Path) -> DumpSummary:
    """Recomputes the state hash of a dump from its records."""
    total, count = 0, 0
    for table, key, value in records(path):
        try:
            total = add_record(total, table, key, value)
        except UnicodeDecodeError:
            raise DumpError(f"record {count}: key is not UTF-8") from None
        count += 1
    with open(path, "rb") as f:
        index = read_header(f)
        f.seek(-_TRAILER.size, os.SEEK_END)
        _, claimed = _TRAILER.unpack(f.read(_TRAILER.size))
    return DumpSummary(index, count, hash_bytes(total), claimed)


def _unpack(layout: struct.Struct, f) -> tuple:
    return layout.unpack(_read_exactly(f, layout.size))


def _read_exactly(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DumpError("truncated")
    return data
