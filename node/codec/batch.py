"""A batch of commands and the submitter's signature over it, as Submit receives them.

The signed-batch fields are carried, not checked, here: every replica verifies them when it
applies the entry (docs/design.md#signed-batches, node/ledger/signed_batches.py). What is signed
covers `commands_digest`, which the submitter and every replica compute the same way from the
commands' deterministic protobuf encoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from node.api.settlement.v1 import commands_pb2, log_pb2, settlement_pb2
from node.codec.commands import command_from_proto
from node.codec.errors import CodecError
from node.codec.fields import int64_from_uint64
from node.ledger import limits
from node.ledger.commands import Command


@dataclass(frozen=True, slots=True)
class SignedBatch:
    """Who submitted a batch and their Ed25519 signature over it; empty while unsigned."""

    key_id: str = ""
    sequence: int = 0  # stream << 32 | counter (signed_batches.py); int64 range
    signature: bytes = b""
    signed_at_ms: int = 0  # the submitter's clock


UNSIGNED = SignedBatch()


@dataclass(frozen=True, slots=True)
class Batch:
    """One Submit call's commands and its submitter's signature; several share one Raft entry.

    `wire` optionally holds the request's own Command messages, already decoded into `commands`
    (so known to be valid) and stripped of unknown fields: the leader logs them as they are
    instead of re-encoding `commands`, which gives the same bytes for less work.
    """

    commands: tuple[Command, ...]
    signed: SignedBatch = UNSIGNED
    wire: tuple[commands_pb2.Command, ...] = ()


def commands_from_proto(messages: Sequence[commands_pb2.Command]) -> tuple[Command, ...]:
    """Decodes one batch in order; it must hold 1..batch_commands_max commands."""
    if not messages:
        raise CodecError("commands", "empty batch")
    if len(messages) > limits.batch_commands_max:
        raise CodecError("commands", f"{len(messages)} commands, at most {limits.batch_commands_max}")
    decoded = []
    for position, message in enumerate(messages):
        try:
            decoded.append(command_from_proto(message))
        except CodecError as error:
            raise error.within(f"commands[{position}]") from None
    return tuple(decoded)


def commands_digest(messages: Sequence[commands_pb2.Command]) -> bytes:
    """SHA-256 of the batch's commands as one deterministic protobuf encoding: what a submitter
    signs (with its key id, sequence and clock) and what every replica recomputes from the log."""
    encoded = log_pb2.SubmittedBatch(commands=messages).SerializeToString(deterministic=True)
    return hashlib.sha256(encoded).digest()


def signed_batch_from_proto(message: settlement_pb2.SubmitRequest | log_pb2.SubmittedBatch) -> SignedBatch:
    """The signed-batch fields of a SubmitRequest or a logged SubmittedBatch (same field names)."""
    if not message.key_id and not message.sequence and not message.signature and not message.signed_at_ms:
        return UNSIGNED
    return SignedBatch(
        key_id=message.key_id,
        sequence=int64_from_uint64(message.sequence, "sequence"),
        signature=message.signature,
        signed_at_ms=message.signed_at_ms,
    )


def submit_request_from_proto(request: settlement_pb2.SubmitRequest) -> tuple[tuple[Command, ...], SignedBatch]:
    """Everything Submit logs: the decoded commands and the signature over them."""
    return commands_from_proto(request.commands), signed_batch_from_proto(request)


def batch_from_request(request: settlement_pb2.SubmitRequest) -> Batch:
    """The batch to log for a Submit call, keeping the validated wire messages (see Batch).
    Unknown fields (from a newer client) are dropped first: the log must hold exactly what every
    replica of this version applies, or a later version replaying it could read more into it."""
    commands, signed = submit_request_from_proto(request)
    request.DiscardUnknownFields()
    return Batch(commands, signed, tuple(request.commands))
