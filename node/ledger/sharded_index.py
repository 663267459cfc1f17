"""A lookup table that never grows in one long step: the ledger's largest indexes, split in shards.

A Python dict grows by copying all its entries into a table twice as large, in one C call that
holds the interpreter lock throughout; no other thread of the node runs meanwhile. For the dedup
index (command id -> first outcome: one per command retained, 5 million at 14K trades/s and a
6-minute window, over a billion at 24 hours) one such copy took 311 ms alone and 1.1-1.9 s on a
loaded 2-core node: every replica made it at the same log index, and the leader's heartbeats
stopped longer than the election timeout (docs/design.md#pauses-of-the-tick-thread). Split over
`index_shards` dicts, a copy moves one shard's entries: 1/256 of them.

A key's shard is chosen by Python's own hash of it, which differs between processes: it decides
where a record is kept, never what a lookup answers, and nothing in the ledger iterates a shard.
What iterates the index (tests, tools, the chaos checker) gets the keys in sorted order, the same
on every replica.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Generic, TypeVar

from .limits import index_shards

assert index_shards & (index_shards - 1) == 0, "index_shards is a power of two"
SHARD_MASK = index_shards - 1  # a key's shard: shards[hash(key) & SHARD_MASK]

K = TypeVar("K")
V = TypeVar("V")


class ShardedIndex(MutableMapping, Generic[K, V]):
    """A dict's lookups, stores and deletes, with its entries spread over `index_shards` dicts."""

    __slots__ = ("shards", "_count")

    def __init__(self) -> None:
        # Public for the hot paths that look up many keys at once (finish_entry, loading).
        self.shards: tuple[dict, ...] = tuple({} for _ in range(index_shards))
        self._count = 0

    def recount(self) -> None:
        """After a bulk load wrote straight into `shards` (a restart loads millions of entries,
        and a method call each cost it seconds)."""
        self._count = sum(len(shard) for shard in self.shards)

    def get(self, key: K, default=None):
        return self.shards[hash(key) & SHARD_MASK].get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.shards[hash(key) & SHARD_MASK]

    def __getitem__(self, key: K) -> V:
        return self.shards[hash(key) & SHARD_MASK][key]

    def __setitem__(self, key: K, value: V) -> None:
        shard = self.shards[hash(key) & SHARD_MASK]
        if key not in shard:
            self._count += 1
        shard[key] = value

    def __delitem__(self, key: K) -> None:
        del self.shards[hash(key) & SHARD_MASK][key]
        self._count -= 1

    def add(self, key: K, value: V) -> None:
        """Stores `value` under a key the index does not hold (asserted)."""
        shard = self.shards[hash(key) & SHARD_MASK]
        assert key not in shard, key
        shard[key] = value
        self._count += 1

    def replace(self, key: K, value: V | None) -> V | None:
        """Stores `value` under `key` (None: deletes it); returns the value it held, or None."""
        shard = self.shards[hash(key) & SHARD_MASK]
        old = shard.pop(key, None)
        if value is not None:
            shard[key] = value
        self._count += (value is not None) - (old is not None)
        return old

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[K]:
        """Every key in sorted order (slow at scale; no decision of the ledger iterates)."""
        return iter(sorted(key for shard in self.shards for key in shard))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (ShardedIndex, dict)):
            return NotImplemented
        return len(self) == len(other) and all(other.get(key, _MISSING) == value for key, value in self.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ShardedIndex({len(self)} entries)"


_MISSING = object()
