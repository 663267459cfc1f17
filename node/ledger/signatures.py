"""Signed statements the ledger checks, and the verifier it is handed.

Ed25519 lives in `cryptography`, outside the standard library, so the ledger never imports it:
the replica passes a `SignatureVerifier` (a plain callable) into `apply`, and tests can pass the
real one or a fake. Verification is deterministic, so every replica reaches the same verdict.
The canonical bytes of each kind of statement are defined here, once, and used by the signers
(SDK, feeders, replay) and the ledger alike.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

# verify(public_key, message, signature) -> True when the signature is valid.
SignatureVerifier = Callable[[bytes, bytes, bytes], bool]

ed25519_public_key_bytes = 32
ed25519_signature_bytes = 64

PRICE_DOMAIN = b"settlement.v1/price\x00"
_INT64_PAIR = struct.Struct(">qq")


def reject_every_signature(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The default verifier: a ledger nobody handed a verifier accepts no signed statement."""
    return False


def price_update_bytes(market: str, source: str, price: int, source_time_ms: int) -> bytes:
    """What an oracle source signs: domain tag, market, source, price and source time.

    Ids are length-prefixed so that no two (market, source) pairs share an encoding. The price
    and time are signed as int64; a value outside int64 has no canonical bytes (the ledger
    refuses it before it gets here)."""
    market_bytes, source_bytes = market.encode(), source.encode()
    return b"".join((
        PRICE_DOMAIN,
        bytes([len(market_bytes)]), market_bytes,
        bytes([len(source_bytes)]), source_bytes,
        _INT64_PAIR.pack(price, source_time_ms),
    ))
