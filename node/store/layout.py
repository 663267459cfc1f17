"""What lives where in the node's LMDB environment, and every limit of the store with its unit.

One sub-database per ledger table (node.ledger.records.TABLES), keyed by the record's id as
UTF-8 and holding the ledger's own canonical record encoding, so the bytes on disk are exactly
the bytes the state hash was computed over. One more sub-database, `store`, holds the store's own
metadata: which log index the records are the result of, and the state hash they must match.
A last one, `events`, holds the ledger's events by log index (event_log.py): outputs of the
ledger, not part of its state, so not in the state hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.ledger.records import TABLES

# 2: markets carry oracle, liquidation and guard fields; the oracle_source table (the guards).
# 3: dedup batches carry their entry's ledger time, replay windows their last use (retention).
# 4: the fund_unwind table (each market's fund auction: fund_unwinding.py); backstop records;
#    positions carry a 128-bit funding index; the market_terms, funding and margin_call tables.
# 5: markets carry the adaptive thresholds' parameters and the mark's volatility (volatility.py),
#    and outlier_bps and clamp_after_ms; oracle sources their exclusion and outlier count.
# 6: markets carry the settlement window and its accumulator, and the settlement price.
schema_version = 6

STORE_DB = b"store"
KEY_APPLIED_INDEX = b"applied_index"
KEY_STATE_HASH = b"state_hash"
KEY_SCHEMA_VERSION = b"schema_version"
EVENTS_DB = b"events"
# In STORE_DB: every event of an entry at or above this index is still in EVENTS_DB (older ones
# were pruned, or never stored here: a snapshot installed past them).
KEY_EVENTS_KEPT_FROM = b"events_kept_from"

# The ledger's tables, the store's own and the events: the environment never needs more.
sub_databases_max = len(TABLES) + 2
assert STORE_DB not in TABLES and EVENTS_DB not in TABLES

# How many entries back the events are kept: after entry i is committed, the events of entries
# at or below i - events_retention_entries are pruned. Counted in log entries, not time, so every
# replica with the same setting prunes the same records at the same index.
events_retention_entries_default = 100_000
# Event records (one per entry that had events) pruned per committed entry at most: a commit
# adds at most one, so pruning keeps up, and a backlog (a lowered retention) shrinks by one per
# entry without ever making one commit long.
events_pruned_per_entry_max = 2

# 1 GiB: a compact store of ~7 million dedup records, or of ~1.5 million accounts with a position
# each; the live file needs several times its compact size (README "LMDB map size"). Raise it in
# the node config, never shrink it.
map_size_bytes_default = 1 << 30
# LMDB's default reader slots: threads or processes reading at once (the replica, the server's
# reads, a snapshot copy) stay far below this.
readers_max = 126
# LMDB's compile-time key limit; ledger ids are at most 64 bytes, position keys at most 129.
key_bytes_max = 511

applied_index_bytes = 8
state_hash_bytes = 32
schema_version_bytes = 2

# LMDB's file names inside an environment directory (subdir=True).
DATA_FILE_NAME = "data.mdb"


@dataclass(frozen=True, slots=True)
class StoredMeta:
    applied_index: int  # 0: nothing committed yet
    state_hash: bytes | None  # None only when applied_index is 0
    schema_version: int | None  # None only when applied_index is 0


def encode_applied_index(index: int) -> bytes:
    return index.to_bytes(applied_index_bytes, "big", signed=False)


def decode_applied_index(raw: bytes) -> int:
    assert len(raw) == applied_index_bytes, len(raw)
    return int.from_bytes(raw, "big", signed=False)


def encode_schema_version(version: int) -> bytes:
    return version.to_bytes(schema_version_bytes, "big", signed=False)


def decode_schema_version(raw: bytes) -> int:
    assert len(raw) == schema_version_bytes, len(raw)
    return int.from_bytes(raw, "big", signed=False)
