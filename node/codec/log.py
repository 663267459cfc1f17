"""The bytes of one Raft entry <-> the ledger's LogEntry.

Replicas must agree on what an entry means forever, so the encoding carries a version and a
replica refuses any version it does not know. The Raft index is not stored: pysyncobj supplies
it when the entry is applied.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from node.api.settlement.v1 import log_pb2
from node.codec.batch import UNSIGNED, SignedBatch, commands_from_proto, signed_batch_from_proto
from node.codec.commands import command_to_proto
from node.codec.errors import CodecError
from node.ledger.commands import LogEntry

LOG_ENTRY_VERSION = 1


def log_entry_to_bytes(entry: LogEntry, signed: SignedBatch = UNSIGNED) -> bytes:
    """What the leader appends to the Raft log; `entry.index` is ignored (not known yet)."""
    message = log_pb2.LogEntry(
        version=LOG_ENTRY_VERSION,
        timestamp_ms=entry.timestamp_ms,
        commands=[command_to_proto(command) for command in entry.commands],
        key_id=signed.key_id,
        sequence=signed.sequence,
        signature=signed.signature,
    )
    # Deterministic: equal entries give equal bytes on every node and every run.
    return message.SerializeToString(deterministic=True)


def decode_log_entry(data: bytes, index: int) -> tuple[LogEntry, SignedBatch]:
    """The entry at Raft `index` and the submitter's signature over its batch.

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
    commands = commands_from_proto(message.commands, allow_empty=True)
    entry = LogEntry(index=index, timestamp_ms=message.timestamp_ms, commands=commands)
    return entry, signed_batch_from_proto(message)


def log_entry_from_bytes(data: bytes, index: int) -> LogEntry:
    """The entry at Raft `index`, without its signed-batch fields."""
    return decode_log_entry(data, index)[0]
