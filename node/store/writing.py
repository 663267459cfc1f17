"""Writing applied entries: the records they changed, the applied index and the state hash, inside
the caller's write transaction, so they become visible and durable together or not at all.

One entry or a run of consecutive ones (`UnwrittenEntries`): a run writes each record once, as
the last entry of the run left it, which is the state as of the run's last entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import lmdb

from node.ledger import LedgerState
from node.ledger.events import Event
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


@dataclass(frozen=True, slots=True)
class AppliedEntryEvents:
    index: int
    time_ms: int  # the entry's ledger time
    events: tuple[Event, ...]


@dataclass(slots=True)
class UnwrittenEntries:
    """Entries applied one after the other to the in-memory state and not yet in the store: every record
    they changed (table, key) -> value as the latest of them left it (None: deleted), and each
    entry's index, ledger time and events, in log order."""

    touched: dict[tuple[bytes, str], bytes | None] = field(default_factory=dict)
    entries: list[AppliedEntryEvents] = field(default_factory=list)

    def add(self, state: LedgerState, events: Sequence[Event]) -> None:
        """Takes in the entry `state` just finished (its `touched` records and its events)."""
        assert not self.entries or state.applied_index > self.entries[-1].index, \
            (state.applied_index, self.entries[-1].index)
        self.touched.update(state.touched)
        self.entries.append(AppliedEntryEvents(state.applied_index, state.ledger_time_ms, tuple(events)))

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        self.touched = {}
        self.entries = []


def write_entry(txn: lmdb.Transaction, dbs: Databases, state: LedgerState, stored_index: int,
                touched: dict[tuple[bytes, str], bytes | None]) -> None:
    """The records `touched` (every record changed since `stored_index`), then the applied index
    and state hash of `state`."""
    assert state.applied_index > stored_index, (state.applied_index, stored_index)
    if stored_index == 0:
        # A fresh LedgerState folds the insurance fund and the meta totals into its hash at
        # construction and then clears `touched`: only writing every record makes the first
        # commit's records match its hash.
        for table, key, value in state.records():
            _put(txn, dbs[table], key, value)
        txn.put(KEY_SCHEMA_VERSION, encode_schema_version(schema_version), db=dbs[STORE_DB])
    for (table, key), value in touched.items():
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
