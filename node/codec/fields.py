"""Checks for single wire values that the ledger's types cannot hold."""

from __future__ import annotations

import enum
from typing import TypeVar

from node.codec.errors import CodecError
from node.ledger.limits import INT64_MAX

E = TypeVar("E", bound=enum.IntEnum)


def ledger_enum(kind: type[E], number: int, field: str) -> E:
    """Proto3 enums are open: a newer client can send a number this node has never heard of, and
    an UNSPECIFIED zero has no ledger counterpart. Neither may reach the ledger."""
    try:
        return kind(number)
    except ValueError:
        raise CodecError(field, f"{number} is not a {kind.__name__}") from None


def int64_from_uint64(value: int, field: str) -> int:
    """The ledger computes in int64 range; a uint64 above it would silently change meaning."""
    if value > INT64_MAX:
        raise CodecError(field, f"{value} exceeds int64")
    return value


def or_default(value: int, default: int) -> int:
    """Proto3 cannot tell 0 from "not set": for a field whose 0 means nothing, 0 is the default."""
    return value if value else default


def if_present(message, name: str, default: int) -> int:
    """A proto3 `optional` field whose 0 means something (a rule off): only "not set" is the default."""
    return getattr(message, name) if message.HasField(name) else default


def bounded_bytes(value: bytes, bytes_max: int, field: str) -> bytes:
    """A key or signature far beyond any well-formed size is junk, refused before it is logged."""
    if len(value) > bytes_max:
        raise CodecError(field, f"{len(value)} bytes, at most {bytes_max}")
    return value
