"""A batch of commands and the submitter's signature over it, as Submit receives them.

The signed-batch fields are carried, not checked, here: the leader checks them before it logs a
batch and every replica again when it applies the entry (docs/design.md#signed-batches,
node/ledger/signed_batches.py). What is signed covers `commands_digest`: the SHA-256 of the
commands' bytes exactly as the submitter sent them, which the leader logs unchanged, so any
protobuf library can compute it from bytes it holds (never from a re-encoding).

A command carrying a field this node does not know is refused, not stripped: the signature covers
the field, but this node would apply the command without it.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet

from node.api.settlement.v1 import commands_pb2, log_pb2
from node.codec.commands import command_from_proto, command_to_proto
from node.codec.errors import CodecError
from node.codec.fields import int64_from_uint64
from node.ledger import limits
from node.ledger.commands import BatchSignature, Command

# Each command's bytes are framed by their length, 4 bytes big-endian (a Submit is at most 4 MiB).
_COMMAND_LENGTH = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class SignedBatch:
    """Who submitted a batch and their Ed25519 signature over it; empty while unsigned."""

    key_id: str = ""
    sequence: int = 0  # stream << 32 | counter (signed_batches.py); int64 range
    signature: bytes = b""
    signed_at_ms: int = 0  # the submitter's clock

    @property
    def signed(self) -> bool:
        return bool(self.key_id or self.signature)


UNSIGNED = SignedBatch()


@dataclass(frozen=True, slots=True)
class Batch:
    """One Submit call's commands and its submitter's signature; several share one Raft entry.

    `encoded` holds each command's bytes exactly as the submitter sent them, already decoded into
    `commands` (so known to be valid and free of unknown fields): the leader logs these bytes and
    the commands digest is taken over them. Empty for a batch no client sent (tests, tools): the
    log then carries the commands' deterministic encoding (`encode_commands`).
    """

    commands: tuple[Command, ...]
    signed: SignedBatch = UNSIGNED
    encoded: tuple[bytes, ...] = ()

    def encoded_commands(self) -> tuple[bytes, ...]:
        return self.encoded or encode_commands(self.commands)


def encode_commands(commands: Sequence[Command]) -> tuple[bytes, ...]:
    """The deterministic protobuf encoding of each command: what this node's SDK sends. Any
    other valid encoding of the same commands is as good; the digest is over what is sent."""
    return tuple(command_to_proto(command).SerializeToString(deterministic=True) for command in commands)


def commands_digest(encoded: Sequence[bytes]) -> bytes:
    """SHA-256 over the batch's commands as sent: for each command in order, its length as 4 bytes
    big-endian, then its bytes. What a submitter signs (with its key id, sequence and clock) and
    what every replica recomputes from the logged bytes."""
    digest = hashlib.sha256()
    for command in encoded:
        digest.update(_COMMAND_LENGTH.pack(len(command)))
        digest.update(command)
    return digest.digest()


def unknown_field(message: Message) -> tuple[str, int] | None:
    """(path, field number) of the first field `message` or a message inside it carries that this
    node's schema does not define, or None. Walks every message: for small ones (a batch's own
    fields, a log entry); commands take the cheaper test in `command_from_bytes`."""
    return _find_unknown_field(message, "")


def _find_unknown_field(message: Message, path: str) -> tuple[str, int] | None:
    unknown = UnknownFieldSet(message)
    if len(unknown):
        return path, unknown[0].field_number
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        for position, inner in enumerate(value) if field.is_repeated else ((None, value),):
            name = f"{field.name}[{position}]" if position is not None else field.name
            found = _find_unknown_field(inner, f"{path}.{name}" if path else name)
            if found is not None:
                return found
    return None


def refuse_unknown_fields(message: Message, where: str) -> None:
    """CodecError naming the first field `message` carries that this node does not know."""
    found = unknown_field(message)
    if found is not None:
        path, number = found
        raise CodecError(
            ".".join(part for part in (where, path) if part),
            f"field {number} is not known to this node: refused, not ignored (it would be signed but not applied)",
        )


def command_from_bytes(data: bytes) -> Command:
    """One command from the bytes a submitter sent: a settlement.v1.Command with no unknown field
    at any depth, that the ledger can represent. CodecError's field path starts inside the
    command ("" for the command itself)."""
    try:
        message = commands_pb2.Command.FromString(data)
    except DecodeError as error:
        raise CodecError("", f"not a settlement.v1.Command: {error}") from None
    # Cheap on the hot path: the encoded size drops only if discarding unknown fields (at any
    # depth) removed something; then parse again to name the field.
    size = message.ByteSize()
    message.DiscardUnknownFields()
    if message.ByteSize() != size:
        refuse_unknown_fields(commands_pb2.Command.FromString(data), "")
    return command_from_proto(message)


def commands_from_bytes(encoded: Sequence[bytes]) -> tuple[Command, ...]:
    """Decodes one batch of commands as sent, in order; it must hold 1..batch_commands_max."""
    if not encoded:
        raise CodecError("commands", "empty batch")
    if len(encoded) > limits.batch_commands_max:
        raise CodecError("commands", f"{len(encoded)} commands, at most {limits.batch_commands_max}")
    decoded = []
    for position, data in enumerate(encoded):
        try:
            decoded.append(command_from_bytes(data))
        except CodecError as error:
            where = f"commands[{position}]"
            raise CodecError(f"{where}.{error.field}" if error.field else where, error.reason) from None
    return tuple(decoded)


def signed_batch_from_proto(message: log_pb2.SubmittedBatch) -> SignedBatch:
    """The signed-batch fields of a SubmittedBatch (a Submit request, or a logged batch)."""
    if not message.key_id and not message.sequence and not message.signature and not message.signed_at_ms:
        return UNSIGNED
    return SignedBatch(
        key_id=message.key_id,
        sequence=int64_from_uint64(message.sequence, "sequence"),
        signature=message.signature,
        signed_at_ms=message.signed_at_ms,
    )


def batch_from_submitted(message: log_pb2.SubmittedBatch, *, unknown_fields_checked: bool = False) -> Batch:
    """The batch a SubmittedBatch carries: a Submit request parsed as one (see log.proto), or a
    batch read back from the log. Its commands decoded from their bytes, which it keeps; a field
    this node does not know, anywhere, is refused (CodecError). `unknown_fields_checked`: the
    message's own fields were checked already (a log entry checks all its batches at once)."""
    if not unknown_fields_checked and len(UnknownFieldSet(message)):  # its fields are scalars and bytes
        refuse_unknown_fields(message, "request")
    encoded = tuple(message.commands)
    return Batch(commands_from_bytes(encoded), signed_batch_from_proto(message), encoded)


def batch_signature(batch: Batch, digest: Callable[[Sequence[bytes]], bytes] = commands_digest) -> BatchSignature:
    """What the ledger checks of a batch: its signed fields and the digest this node computed
    itself from the commands' bytes (only for a signed batch: an unsigned one has nothing to check)."""
    signed = batch.signed
    return BatchSignature(
        len(batch.commands), signed.key_id, signed.sequence, signed.signed_at_ms, signed.signature,
        digest(batch.encoded_commands()) if signed.signed else b"",
    )

