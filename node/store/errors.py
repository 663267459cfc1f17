"""The store's failures, named so the replica can tell "stop writing" from "do not trust this file".

Both stop the node: a full map must never become a half-written entry, and a corrupt store must
never serve a balance. They differ in what the operator does next (grow the map, or restore from
a snapshot or a peer), so the messages say which.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class StoreFullError(StoreError):
    """The LMDB map is full. The entry was not written; the store still holds the previous one."""


class StoreCorruptError(StoreError):
    """What is on disk is not a state this node committed: undecodable, or its hash disagrees."""


class StoreSchemaError(StoreError):
    """The store was written by another schema version of this code."""
