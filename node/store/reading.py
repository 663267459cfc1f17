"""Reading a state back from LMDB, and refusing it unless it is exactly what was committed.

LMDB has no checksums: a flipped bit on disk comes back as a plausible value. The state hash is
the check. Every record is decoded, the ledger state is rebuilt from the decoded values (which
recomputes the hash over their canonical encoding), and the result must equal the hash that was
committed in the same transaction as the records. Anything that cannot be decoded is corruption
too; it is never skipped.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from functools import cache

import lmdb

from node.ledger import LedgerState
from node.ledger.invariants import check_every_record
from node.ledger.records import TABLES
from node.ledger.state import state_from_records
from node.ledger.state_hash import hash_bytes

from .environment import Databases
from .errors import StoreCorruptError, StoreSchemaError
from .layout import (
    KEY_APPLIED_INDEX,
    KEY_SCHEMA_VERSION,
    KEY_STATE_HASH,
    STORE_DB,
    StoredMeta,
    decode_applied_index,
    decode_schema_version,
    schema_version,
    state_hash_bytes,
)

# How a damaged record fails to decode: short or long values (struct.error, IndexError), a bad
# version byte or unknown table (AssertionError), an unknown enum value or a key that is not
# UTF-8 or not a position key (ValueError).
DECODE_ERRORS = (struct.error, AssertionError, ValueError, IndexError, KeyError)


@cache
def fresh_state_hash() -> bytes:
    """The hash of a ledger nothing was applied to: what an empty store holds."""
    return hash_bytes(LedgerState().state_hash)


def read_meta(txn: lmdb.Transaction, dbs: Databases) -> StoredMeta:
    store = dbs[STORE_DB]
    raw_index = txn.get(KEY_APPLIED_INDEX, db=store)
    raw_hash = txn.get(KEY_STATE_HASH, db=store)
    raw_schema = txn.get(KEY_SCHEMA_VERSION, db=store)
    if raw_index is None:
        if raw_hash is not None or raw_schema is not None:
            raise StoreCorruptError("store metadata without an applied index")
        return StoredMeta(0, None, None)
    try:
        applied_index = decode_applied_index(raw_index)
        version = decode_schema_version(raw_schema) if raw_schema is not None else None
    except AssertionError as e:
        raise StoreCorruptError(f"store metadata has the wrong length: {e}") from e
    if applied_index == 0 or raw_hash is None or len(raw_hash) != state_hash_bytes or version is None:
        raise StoreCorruptError(
            f"store metadata incomplete: applied_index={applied_index}, "
            f"state_hash={raw_hash!r}, schema_version={version}"
        )
    if version != schema_version:
        raise StoreSchemaError(f"store has schema version {version}, this code reads {schema_version}")
    return StoredMeta(applied_index, raw_hash, version)


def read_state(txn: lmdb.Transaction, dbs: Databases) -> LedgerState:
    """The committed state, verified against its stored hash. One read transaction, so the
    records, applied index and hash are one consistent commit."""
    meta = read_meta(txn, dbs)
    if meta.applied_index == 0:
        if any(txn.stat(dbs[table])["entries"] for table in TABLES):
            raise StoreCorruptError("records stored without an applied index")
        return LedgerState()
    try:
        state = state_from_records(_records(txn, dbs), meta.applied_index)
    except DECODE_ERRORS as e:
        raise StoreCorruptError(f"undecodable record at applied index {meta.applied_index}: {e!r}") from e
    recomputed = hash_bytes(state.state_hash)
    if recomputed != meta.state_hash:
        raise StoreCorruptError(
            f"state hash mismatch at applied index {meta.applied_index}: "
            f"stored {meta.state_hash.hex()}, records hash to {recomputed.hex()}"
        )
    # The hash proves these are the committed records; the invariants prove the committed state
    # was sound. A failure here is a ledger bug, not a bad disk: LedgerInvariantError stops the
    # node as it would have at commit time. (The hash was just computed from scratch over the
    # records: check_full's second full recomputation would prove nothing more.)
    check_every_record(state)
    return state


def _records(txn: lmdb.Transaction, dbs: Databases) -> Iterator[tuple[bytes, str, bytes]]:
    for table in TABLES:
        for key, value in txn.cursor(db=dbs[table]):
            yield table, key.decode("utf-8"), value
