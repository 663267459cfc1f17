"""Ed25519 private key files: what feeders, operators, guardians and nodes keep their signing
keys in.

A key file holds one raw Ed25519 private key, either as its 32 bytes or as 64 hex digits
(surrounding whitespace allowed). Nothing else: no PEM, no passphrase. Keep it 0600 and out of
git; `write_private_key` creates it so.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.identity.keys import KeyFormatError, ed25519_private_key_bytes, new_private_key, private_key_from_raw, raw_private_key

key_file_bytes_max = 256  # a key file is 32 raw bytes or 64 hex digits; anything larger is not one
key_file_mode = 0o600


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

