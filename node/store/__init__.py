"""LMDB persistence of the ledger state: one environment per node, one synced write transaction
per applied entry or run of entries applied together, every load verified against the committed
state hash."""

from .errors import StoreCorruptError, StoreError, StoreFullError, StoreSchemaError
from .layout import map_size_bytes_default
from .ledger_store import LedgerStore
from .snapshots import snapshot_summary
from .writing import UnwrittenEntries

__all__ = [
    "LedgerStore", "UnwrittenEntries", "snapshot_summary", "map_size_bytes_default",
    "StoreError", "StoreFullError", "StoreCorruptError", "StoreSchemaError",
]
