"""Ed25519 keys and signatures (cryptography): the verifier the replica hands the ledger, the
signing helpers the SDK, the feeders and the replay tool use, and the raw and hex forms keys are
given in (a market registers each source's public key: 32 bytes, 64 hex digits on the command line).

Keys are raw 32-byte values everywhere (config, market definitions, the signer set): no PEM, no
key files in the repository (key_files.py reads and writes those an operator keeps). A private
key can be derived from a seed for tests and replays, so the same scenario signs the same bytes on
every run (Ed25519 signing is deterministic).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from node.ledger.signatures import ed25519_public_key_bytes, ed25519_signature_bytes, price_update_bytes

ed25519_private_key_bytes = 32
# Distinct public keys the verifier keeps parsed (oracle sources and signers: a few hundred).
parsed_public_keys_max = 4096
# Valid signatures the verifier remembers, the latest ones: a leader checks a batch's signature
# before logging it and again when it applies the entry a moment later (docs/design.md#nothing-
# unverifiable-is-logged), and the second check is then a lookup. Only valid ones are kept, so
# signatures nobody in the signer set made cannot crowd them out. About 0.4 KB each.
verified_signatures_kept_max = 4096


class KeyFormatError(ValueError):
    """A key (file or hex text) that is not one raw Ed25519 key; the message says what is wrong."""


@lru_cache(maxsize=parsed_public_keys_max)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


@lru_cache(maxsize=verified_signatures_kept_max)
def _verified(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True, or raises: an invalid signature (an exception) is never remembered."""
    _public_key(public_key).verify(signature, message)
    return True


def verified_signatures_answered_from_memory() -> int:
    """How many checks so far were answered by a signature the verifier remembered."""
    return _verified.cache_info().hits


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The ledger's SignatureVerifier: False for a wrong signature or a malformed key. A pure
    function of its arguments (remembering valid signatures changes no answer)."""
    if len(public_key) != ed25519_public_key_bytes or len(signature) != ed25519_signature_bytes:
        return False
    try:
        return _verified(bytes(public_key), bytes(message), bytes(signature))
    except (InvalidSignature, ValueError):
        return False


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


def private_key(key: Ed25519PrivateKey | bytes) -> Ed25519PrivateKey:
    """An Ed25519PrivateKey given as one, or as its 32 raw bytes."""
    if isinstance(key, Ed25519PrivateKey):
        return key
    if isinstance(key, bytes) and len(key) == ed25519_private_key_bytes:
        return private_key_from_raw(key)
    raise KeyFormatError(f"a private key is an Ed25519PrivateKey or its {ed25519_private_key_bytes} raw bytes")


def public_key_bytes(key: Ed25519PrivateKey | bytes) -> bytes:
    """The raw public key to register for a source: derived from its private key object, or 32
    bytes taken as a public key (never pass a private key's raw bytes here: they would be
    registered, and so published, as the public key)."""
    if isinstance(key, bytes) and len(key) == ed25519_public_key_bytes:
        return key
    if isinstance(key, Ed25519PrivateKey):
        return raw_public_key(key)
    raise KeyFormatError(f"a public key is {ed25519_public_key_bytes} raw bytes (or the private key it belongs to)")


def parse_public_key_hex(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raw = b""
    if len(raw) != ed25519_public_key_bytes:
        raise KeyFormatError(f"an Ed25519 public key is {2 * ed25519_public_key_bytes} hex digits, not {text!r}")
    return raw
