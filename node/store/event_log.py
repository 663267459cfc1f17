"""The ledger's events, kept by log index next to the state, for WatchEvents to replay.

One record per entry that emitted events, keyed by the entry's index (8 bytes big-endian, so
LMDB's order is the log's order): a version byte, then JSON of the entry's ledger time and its
events in the order the ledger emitted them (an event's position is its place in that list). The record is written inside the entry's own commit transaction (writing.py), so an entry
and its events become durable together or not at all, and a replay after a restart finds them.

Events are outputs of the deterministic ledger, not its state: every replica emits the same ones
for the same entry, but they are not in the state hash. So nothing can vouch for events that came
from elsewhere: a snapshot install drops the ones the snapshot carries, and the installing node
keeps events from the snapshot's index on (`events_kept_from` moves up).

Pruning depends only on the log index: after entry i is committed, the records at or below
i - retention go, oldest first, at most `events_pruned_per_entry_max` per entry.
`events_kept_from` is the oldest index from which every event is still here.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Sequence
from dataclasses import dataclass, fields

import lmdb

from node.ledger.events import Event

from .environment import Databases
from .errors import StoreCorruptError
from .layout import (
    EVENTS_DB,
    KEY_APPLIED_INDEX,
    KEY_EVENTS_KEPT_FROM,
    STORE_DB,
    decode_applied_index,
    encode_applied_index,
    events_pruned_per_entry_max,
)

event_record_version = 1
# Every ledger event type by its class name, the name a record carries.
EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in typing.get_args(Event)}


@dataclass(frozen=True, slots=True)
class StoredEntryEvents:
    """The events one entry emitted, in order (a position is an index into `events`)."""

    index: int
    time_ms: int  # the entry's ledger time
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class EventLogRead:
    """What one read of the event log found, from one consistent commit."""

    entries: tuple[StoredEntryEvents, ...]  # index order; each entry whole
    through_index: int  # `entries` holds every kept event from the asked index up to this one
    applied_index: int  # the store's applied index at the read
    kept_from: int  # every event of an entry at or above this index is kept


# -- encoding ---------------------------------------------------------------------------------
# A record: the version byte, then JSON [time_ms, [[type name, field values in declaration
# order...], ...]]. Positional: ~3x smaller and faster than named fields (cluster/bench/event_log.py),
# and a field added at the end of an event type with a default still decodes older records.

# Each event type's field names, in declaration order.
EVENT_FIELDS: dict[type, tuple[str, ...]] = {cls: tuple(f.name for f in fields(cls)) for cls in EVENT_TYPES.values()}


def _json_bytes(value: object) -> object:
    if isinstance(value, bytes):
        return {"hex": value.hex()}
    raise TypeError(f"{type(value).__name__} is not an event field type")


def _field(value: object) -> object:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return bytes.fromhex(value["hex"])
    return value


def encode_entry_events(time_ms: int, events: Sequence[Event]) -> bytes:
    body = [time_ms, [[type(e).__name__, *[getattr(e, name) for name in EVENT_FIELDS[type(e)]]] for e in events]]
    # IntEnum values encode as their numbers, tuples as lists, bytes through _json_bytes.
    return bytes([event_record_version]) + json.dumps(body, separators=(",", ":"), default=_json_bytes).encode()


def decode_entry_events(index: int, raw: bytes) -> StoredEntryEvents:
    try:
        if not raw or raw[0] != event_record_version:
            raise ValueError(f"version byte {raw[:1]!r}")
        time_ms, encoded = json.loads(raw[1:])
        events = tuple(EVENT_TYPES[name](*[_field(value) for value in values]) for name, *values in encoded)
        return StoredEntryEvents(index, int(time_ms), events)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise StoreCorruptError(f"the events stored at index {index} do not decode: {e!r}") from e


# -- writing, inside the entry's commit transaction ---------------------------------------------


def write_entry_events(txn: lmdb.Transaction, dbs: Databases, index: int, time_ms: int, events: Sequence[Event],
                       stored_index: int, retention_entries: int) -> None:
    """Stores entry `index`'s events and prunes what fell out of the retention window.
    `stored_index`: the applied index before this entry."""
    assert retention_entries >= 1, retention_entries
    store, log = dbs[STORE_DB], dbs[EVENTS_DB]
    raw_kept_from = txn.get(KEY_EVENTS_KEPT_FROM, db=store)
    # A store that never kept events (new, or written before events were kept) keeps them from
    # this entry on.
    kept_from = decode_applied_index(raw_kept_from) if raw_kept_from is not None else stored_index + 1
    if events:
        txn.put(encode_applied_index(index), encode_entry_events(time_ms, events), db=log)
    newest_pruned = 0
    with txn.cursor(db=log) as cursor:
        for _ in range(events_pruned_per_entry_max):
            if not cursor.first():
                break
            oldest = decode_applied_index(cursor.key())
            if oldest > index - retention_entries:
                break
            cursor.delete()
            newest_pruned = oldest
    if newest_pruned >= kept_from or raw_kept_from is None:
        txn.put(KEY_EVENTS_KEPT_FROM, encode_applied_index(max(kept_from, newest_pruned + 1)), db=store)


def forget_events(txn: lmdb.Transaction, dbs: Databases, applied_index: int) -> None:
    """Drops every stored event: the store keeps events from the entry after `applied_index` on."""
    txn.drop(dbs[EVENTS_DB], delete=False)
    txn.put(KEY_EVENTS_KEPT_FROM, encode_applied_index(applied_index + 1), db=dbs[STORE_DB])


# -- reading ------------------------------------------------------------------------------------


def read_entry_events(txn: lmdb.Transaction, dbs: Databases, from_index: int, entries_max: int) -> EventLogRead:
    """The stored events of entries from `from_index` on, at most `entries_max` entries (those
    that had events), from the commit `txn` sees."""
    assert from_index >= 1 and entries_max >= 1, (from_index, entries_max)
    store = dbs[STORE_DB]
    raw_applied = txn.get(KEY_APPLIED_INDEX, db=store)
    applied_index = decode_applied_index(raw_applied) if raw_applied is not None else 0
    raw_kept_from = txn.get(KEY_EVENTS_KEPT_FROM, db=store)
    kept_from = decode_applied_index(raw_kept_from) if raw_kept_from is not None else applied_index + 1
    entries: list[StoredEntryEvents] = []
    through_index = max(applied_index, from_index - 1)
    with txn.cursor(db=dbs[EVENTS_DB]) as cursor:
        found = cursor.set_range(encode_applied_index(from_index))
        while found:
            if len(entries) == entries_max:
                through_index = entries[-1].index
                break
            index = decode_applied_index(cursor.key())
            entries.append(decode_entry_events(index, cursor.value()))
            found = cursor.next()
    return EventLogRead(tuple(entries), through_index, applied_index, kept_from)
