"""The bytes of one Raft entry <-> the ledger's LogEntry.

Replicas must agree on what an entry means forever, so the encoding carries a version and a
replica refuses any version it does not know. The Raft index is not stored: pysyncobj supplies
it when the entry is applied. One entry carries several Submit calls' batches (group commit);
the ledger sees their commands as one sequence, and `DecodedEntry.batch_sizes` lets the replica
hand each caller back its own results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from node.api.settlement.v1 import log_pb2
from node.codec.batch import Batch, SignedBatch, commands_digest, commands_from_proto, signed_batch_from_proto
from node.codec.commands import command_to_proto
from node.codec.errors import CodecError
from node.ledger.commands import BatchSignature, LogEntry
from node.ledger.limits import entry_commands_max

LOG_ENTRY_VERSION = 1


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
                commands=batch.wire or [command_to_proto(command) for command in batch.commands],
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


def decode_log_entry(data: bytes, index: int) -> DecodedEntry:
    """The entry at Raft `index`, its batch boundaries and the submitters' signatures.

    Raises CodecError for anything that is not a LogEntry of a known version; the replica must
    treat that deterministically (every replica sees the same bytes), never crash on it.
    """
    try:
        message = log_pb2.LogEntry.FromString(data)
    except (DecodeError, TypeError) as error:
        raise CodecError("log_entry", f"malformed bytes: {error}") from None
    # Arbitrary bytes can parse as a message of unknown fields: the version check catches those.
    if message.version != LOG_ENTRY_VERSION:
        raise CodecError("version", f"unknown LogEntry version {message.version}, this node reads {LOG_ENTRY_VERSION}")
    commands: list = []
    sizes: list[int] = []
    signatures: list[SignedBatch] = []
    sealed: list[BatchSignature] = []
    for position, batch in enumerate(message.batches):
        try:
            decoded = commands_from_proto(batch.commands)
            signed = signed_batch_from_proto(batch)
        except CodecError as error:
            raise error.within(f"batches[{position}]") from None
        commands.extend(decoded)
        sizes.append(len(decoded))
        signatures.append(signed)
        # The digest is this replica's own, from the logged commands: never the leader's word.
        digest = commands_digest(batch.commands) if signed.key_id or signed.signature else b""
        sealed.append(BatchSignature(len(decoded), signed.key_id, signed.sequence, signed.signed_at_ms, signed.signature, digest))
    if len(commands) > entry_commands_max:
        raise CodecError("batches", f"{len(commands)} commands in one entry, at most {entry_commands_max}")
    entry = LogEntry(index=index, timestamp_ms=message.timestamp_ms, commands=tuple(commands), batches=tuple(sealed))
    return DecodedEntry(entry, tuple(sizes), tuple(signatures))


def log_entry_from_bytes(data: bytes, index: int) -> LogEntry:
    """The entry at Raft `index` with every batch's commands in order."""
    return decode_log_entry(data, index).entry
