"""At start-up: does this node's Raft log still reach what its store applied?

A node applies only entries of its own log, so its journal (or, after a compaction, the dump)
always reaches the store's applied index, unless a sync was lost. A node whose log ends below
its store would skip every new entry up to its stored index: it must not start.

One exception: `settle restore` (node/backup/restore.py) leaves a store at index N, no journal
and a marker naming N. The log behind the store is then allowed to be short, and only while the
store still stands exactly at the marker's N (nothing applied since the restore); the leader's
log or snapshot catches the node up, and entries at or below N are skipped as already applied.
Once the journal or dump covers the store the marker goes.
"""

from __future__ import annotations

import logging

from node.backup.restore import RESTORED_MARKER, restored_index
from node.config import NodeConfig
from node.replica import snapshot
from node.replica.journal import RESTORE_FROM_PEERS, read_journal_end

log = logging.getLogger("settle.replica")


class JournalBehindStore(Exception):
    """The Raft journal lost entries the ledger had already applied (storage that did not keep a
    sync). The node would skip every new entry up to its stored index: it must not start."""


def check_log_covers_store(config: NodeConfig, applied_index: int) -> None:
    """Raises JournalBehindStore when the log ends below `applied_index` (see the module doc)."""
    try:
        dump_end = snapshot.read_header(config.dump_file)[0].last_entry[1] if config.dump_file.exists() else 0
    except snapshot.SnapshotError as error:
        # A dump written and renamed into place but not synced before a power cut (the node now
        # syncs a received snapshot before acknowledging it; an older node did not).
        raise JournalBehindStore(f"the Raft dump is unreadable ({error}): " + RESTORE_FROM_PEERS) from None
    if applied_index == 0:
        return
    journal_end = read_journal_end(config.journal_file) if config.journal_file.exists() else 0
    log_end = max(journal_end, dump_end)
    restored = restored_index(config.data_dir)
    if log_end >= applied_index:
        if restored is not None:
            (config.data_dir / RESTORED_MARKER).unlink(missing_ok=True)
        return
    if restored == applied_index:
        log.warning("store restored from a backup at index %d, log ends at %d: catching up from the leader",
                    restored, log_end)
        return
    raise JournalBehindStore(
        f"the Raft journal ends at index {log_end} but the ledger applied {applied_index}: "
        "acknowledged entries were lost from this node's log. " + RESTORE_FROM_PEERS
    )
