"""Writing one applied entry: its touched records, the applied index and the state hash, inside
the caller's write transaction, so they become visible and durable together or not at all."""

from __future__ import annotations

import lmdb

from node.ledger import LedgerState
from node.ledger.state_hash import hash_bytes

from .environment import Databases
from .layout import (
    KEY_APPLIED_INDEX,
    KEY_SCHEMA_VERSION,
    KEY_STATE_HASH,
    STORE_DB,
    encode_applied_index,
    encode_schema_version,
    key_bytes_max,
    schema_version,
)


def write_entry(txn: lmdb.Transaction, dbs: Databases, state: LedgerState, stored_index: int) -> None:
    assert state.applied_index > stored_index, (state.applied_index, stored_index)
    if stored_index == 0:
        # A fresh LedgerState folds the insurance fund and the meta totals into its hash at
        # construction and then clears `touched`: only writing every record makes the first
        # commit's records match its hash.
        for table, key, value in state.records():
            _put(txn, dbs[table], key, value)
        txn.put(KEY_SCHEMA_VERSION, encode_schema_version(schema_version), db=dbs[STORE_DB])
    for (table, key), value in state.touched.items():
        if value is None:
            txn.delete(key.encode(), db=dbs[table])
        else:
            _put(txn, dbs[table], key, value)
    txn.put(KEY_APPLIED_INDEX, encode_applied_index(state.applied_index), db=dbs[STORE_DB])
    txn.put(KEY_STATE_HASH, hash_bytes(state.state_hash), db=dbs[STORE_DB])


def _put(txn: lmdb.Transaction, db: "lmdb._Database", key: str, value: bytes) -> None:
    key_bytes = key.encode()
    assert 0 < len(key_bytes) <= key_bytes_max, key
    txn.put(key_bytes, value, db=db)
