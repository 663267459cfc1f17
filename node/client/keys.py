"""Oracle signing keys for feeders and operators: key files, and the public keys to register.

A key file holds one raw Ed25519 private key, either as its 32 bytes or as 64 hex digits
(surrounding whitespace allowed). Nothing else: no PEM, no passphrase. Keep it 0600 and out of
git; `write_private_key` creates it so. A market registers each source's public key (32 bytes,
written as 64 hex digits on the command line).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.keys import new_private_key, private_key_from_raw, raw_private_key, raw_public_key
from node.ledger.signatures import ed25519_public_key_bytes

ed25519_private_key_bytes = 32
key_file_bytes_max = 256  # a key file is 32 raw bytes or 64 hex digits; anything larger is not one
key_file_mode = 0o600


class KeyFormatError(ValueError):
    """A key (file or hex text) that is not one raw Ed25519 key; the message says what is wrong."""


def read_private_key(path: Path | str) -> Ed25519PrivateKey:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(key_file_bytes_max + 1)
    except OSError as error:
        raise KeyFormatError(f"cannot read key file {path}: {error.strerror or error}") from None
    if len(data) == ed25519_private_key_bytes:
        return private_key_from_raw(data)
    try:
        raw = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raw = b""
    if len(raw) != ed25519_private_key_bytes:
        raise KeyFormatError(
            f"{path} is not an Ed25519 private key: expected {ed25519_private_key_bytes} raw bytes "
            f"or {2 * ed25519_private_key_bytes} hex digits"
        )
    return private_key_from_raw(raw)


def write_private_key(path: Path | str, key: Ed25519PrivateKey | None = None) -> Ed25519PrivateKey:
    """Creates `path` (mode 0600, refusing to overwrite) holding `key` (default: a fresh one) as
    hex digits and a newline; returns the key."""
    key = key or new_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, key_file_mode)
    with os.fdopen(fd, "w") as f:
        f.write(raw_private_key(key).hex() + "\n")
    return key


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
