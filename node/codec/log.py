"""The bytes of one Raft entry <-> the ledger's LogEntry.

Replicas must agree on what an entry means forever, so the encoding carries a version and a
replica refuses any version it does not know. The Raft index is not stored: pysyncobj supplies
it when the entry is applied. One entry carries several Submit calls' batches (group commit);
the ledger sees their commands as one sequence, and `DecodedEntry.batch_sizes` lets the replica
hand each caller back its own results.

Version 2 logs each command's bytes as the submitter sent them and digests those bytes
(`commands_digest`). Version 1 entries, written before, logged the leader's deterministic
re-encoding of the commands and digested them framed as protobuf's `repeated Command` field: a
node still reads them by that rule, so a journal or a peer's log written before an upgrade
replays to the same state. A leader writes version 2 only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from node.api.settlement.v1 import log_pb2
from node.codec.batch import Batch, SignedBatch, batch_from_submitted, batch_signature, commands_digest, refuse_unknown_fields
from node.codec.errors import CodecError
from node.ledger.commands import LogEntry
from node.ledger.limits import entry_commands_max

LOG_ENTRY_VERSION = 2
LOG_ENTRY_VERSION_RE_ENCODED = 1  # still read, never written


@dataclass(frozen=True, slots=True)
class DecodedEntry:
    entry: LogEntry  # every batch's commands, in order
    batch_sizes: tuple[int, ...]
    signatures: tuple[SignedBatch, ...]


def log_entry_to_bytes(timestamp_ms: int, batches: Sequence[Batch]) -> bytes:
    """What the leader appends to the Raft log. No batches: a read barrier or a time tick."""
    total = sum(len(batch.commands) for batch in batches)
    if total > entry_commands_max:
        raise CodecError("batches", f"{total} commands in one entry, at most {entry_commands_max}")
    message = log_pb2.LogEntry(
        version=LOG_ENTRY_VERSION,
        timestamp_ms=timestamp_ms,
        batches=[
            log_pb2.SubmittedBatch(
                commands=batch.encoded_commands(),  # as the submitter sent them: what it signed
                key_id=batch.signed.key_id,
                sequence=batch.signed.sequence,
                signature=batch.signed.signature,
                signed_at_ms=batch.signed.signed_at_ms,
            )
            for batch in batches
        ],
    )
    # Deterministic: equal entries give equal bytes on every node and every run.
    return message.SerializeToString(deterministic=True)


def re_encoded_commands_digest(encoded: Sequence[bytes]) -> bytes:
    """Version 1's digest: SHA-256 of the commands framed as a protobuf `repeated Command` field 1
    (for each, the byte 0x0A, its length as a varint, its bytes) over the bytes logged."""
    digest = hashlib.sha256()
    for command in encoded:
        digest.update(b"\x0a" + _varint(len(command)))
        digest.update(command)
    return digest.digest()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_DIGEST_BY_VERSION = {LOG_ENTRY_VERSION: commands_digest, LOG_ENTRY_VERSION_RE_ENCODED: re_encoded_commands_digest}


def decode_log_entry(data: bytes, index: int) -> DecodedEntry:
    """The entry at Raft `index`, its batch boundaries and the submitters' signatures.

    Raises CodecError for anything that is not a LogEntry of a known version, and for an entry
    holding a command that does not decode or carries a field this node does not know (only a
    rogue leader logs one: an honest one refuses it at Submit). The replica must treat that
    deterministically (every replica sees the same bytes), never crash on it.
    """
    try:
        message = log_pb2.LogEntry.FromString(data)
    except (DecodeError, TypeError) as error:
        raise CodecError("log_entry", f"malformed bytes: {error}") from None
    # Arbitrary bytes can parse as a message of unknown fields: the version check catches those.
    digest = _DIGEST_BY_VERSION.get(message.version)
    if digest is None:
        raise CodecError("version", f"unknown LogEntry version {message.version}, this node reads "
                                    f"{LOG_ENTRY_VERSION_RE_ENCODED} and {LOG_ENTRY_VERSION}")
    # Cheap when there is none: the encoded size drops only if discarding unknown fields (in the
    # entry or its batches; commands are bytes here) removed something. Then parse again to name it.
    size = message.ByteSize()
    message.DiscardUnknownFields()
    if message.ByteSize() != size:
        refuse_unknown_fields(log_pb2.LogEntry.FromString(data), "log_entry")
    commands: list = []
    sizes: list[int] = []
    signatures: list[SignedBatch] = []
    sealed = []
    for position, logged in enumerate(message.batches):
        try:
            batch = batch_from_submitted(logged, unknown_fields_checked=True)
        except CodecError as error:
            raise error.within(f"batches[{position}]") from None
        commands.extend(batch.commands)
        sizes.append(len(batch.commands))
        signatures.append(batch.signed)
        # The digest is this replica's own, from the logged bytes: never the leader's word.
        sealed.append(batch_signature(batch, digest))
    if len(commands) > entry_commands_max:
        raise CodecError("batches", f"{len(commands)} commands in one entry, at most {entry_commands_max}")
    entry = LogEntry(index=index, timestamp_ms=message.timestamp_ms, commands=tuple(commands), batches=tuple(sealed))
    return DecodedEntry(entry, tuple(sizes), tuple(signatures))


def log_entry_from_bytes(data: bytes, index: int) -> LogEntry:
    """The entry at Raft `index` with every batch's commands in order."""
    return decode_log_entry(data, index).entry
