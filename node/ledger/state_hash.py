"""The incremental state hash: the sum of per-record hashes modulo 2^256.

Adding a record adds its hash, removing one subtracts it, so a write costs O(1) and the total
does not depend on the order records were written in. Replicas that hold the same records hold
the same hash, whatever their history, Python hash seed or dict order.
"""

from __future__ import annotations

import hashlib

hash_modulus = 2**256


def record_hash(table: bytes, key: str, value: bytes) -> int:
    # Length-prefix the key so that (table, key, value) boundaries cannot be shifted.
    key_bytes = key.encode()
    digest = hashlib.sha256(
        table + b"\x00" + len(key_bytes).to_bytes(2, "big") + key_bytes + value
    ).digest()
    return int.from_bytes(digest, "big")


def hash_bytes(state_hash: int) -> bytes:
    assert 0 <= state_hash < hash_modulus
    return state_hash.to_bytes(32, "big")
