"""Ed25519 keys and signatures (cryptography): the verifier the replica hands the ledger, and
the signing helpers the SDK, the feeders and the replay tool use.

Keys are raw 32-byte values everywhere (config, market definitions, the signer set): no PEM, no
key files in the repository. A private key can be derived from a seed for tests and replays, so
the same scenario signs the same bytes on every run (Ed25519 signing is deterministic).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from node.ledger.signatures import ed25519_public_key_bytes, ed25519_signature_bytes, price_update_bytes

# Distinct public keys the verifier keeps parsed (oracle sources and signers: a few hundred).
parsed_public_keys_max = 4096


@lru_cache(maxsize=parsed_public_keys_max)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The ledger's SignatureVerifier: False for a wrong signature or a malformed key."""
    if len(public_key) != ed25519_public_key_bytes or len(signature) != ed25519_signature_bytes:
        return False
    try:
        _public_key(bytes(public_key)).verify(bytes(signature), bytes(message))
    except (InvalidSignature, ValueError):
        return False
    return True


def private_key_from_seed(seed: str | bytes) -> Ed25519PrivateKey:
    """A deterministic key for tests and replays (never for production keys)."""
    data = seed.encode() if isinstance(seed, str) else seed
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"settlement.v1/test-seed\x00" + data).digest())


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_from_raw(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def raw_private_key(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_price(key: Ed25519PrivateKey, market: str, source: str, price: int, source_time_ms: int) -> bytes:
    return key.sign(price_update_bytes(market, source, price, source_time_ms))
