"""Taking a backup on a running node: the store copied in one read transaction, then framed.

The copy (LMDB's own copy of one read transaction, node/store/snapshots.write_snapshot) is
consistent by construction; its applied index and state hash are read back from the copy itself,
so the header can never describe another commit than the records it carries.
"""

from __future__ import annotations

import time
from pathlib import Path

from node.store import LedgerStore
from node.store.snapshots import snapshot_summary

from .format import BackupHeader, write_backup


def take_backup(store: LedgerStore, cluster_id: str, node_id: str, out_file: Path, work_dir: Path) -> BackupHeader:
    copy = work_dir / "backup-copy.mdb"
    try:
        store.copy_to(copy)
        index, state_hash = snapshot_summary(copy)
        header = BackupHeader(cluster_id=cluster_id, node_id=node_id, applied_index=index,
                              state_hash=state_hash, created_ms=int(time.time() * 1000))
        write_backup(out_file, header, copy)
    finally:
        copy.unlink(missing_ok=True)
    return header
