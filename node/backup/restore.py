"""Building a node's data directory from a backup (`settle restore`).

Nothing is written until the backup proved itself: the checksum, then the LMDB copy's structure,
then its records recomputed into the state hash, which must equal both the hash the copy stores
and the header's. The data directory's lock (node/data_lock.py) is held throughout, so a
restore never writes under a running node. The node then starts with a store at index N and no
Raft journal; the marker file tells the replica that this is a restore, not a journal that lost
entries (the rule is in node/replica/log_coverage.py), and its peers bring it up to date.

The data dir must hold the node's Raft term and vote and nothing else of its state: what
`settle node reset` leaves (node/replica/emptying.py). A node that forgot them could vote twice
in one term. Only a node that never ran has none to keep (`new_node=True`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

from node.config import NodeConfig, fsync_directory
from node.data_lock import lock_data_dir, lock_file
from node.ledger.state_hash import hash_bytes
from node.store.errors import StoreCorruptError
from node.store.layout import DATA_FILE_NAME
from node.store.snapshots import load_snapshot

from .format import BackupError, BackupHeader, extract_lmdb, read_header, verify_checksum

RESTORED_MARKER = "restored-from-backup.json"


def state_paths(data_dir: Path) -> list[Path]:
    """What of a node's state is in `data_dir` (its config, keys and logs may stay)."""
    layout = SimpleNamespace(data_dir=data_dir)
    names = [NodeConfig.store_dir.fget(layout).name, NodeConfig.journal_file.fget(layout).name,
             NodeConfig.dump_file.fget(layout).name, NodeConfig.checkpoints_dir.fget(layout).name,
             RESTORED_MARKER]
    if not data_dir.exists():
        return []
    return sorted(p for p in data_dir.iterdir() if any(p.name.startswith(n) for n in names))


def verify_backup(path: Path, work_dir: Path) -> tuple[BackupHeader, Path]:
    """The header and the verified LMDB copy, extracted into `work_dir`."""
    verify_checksum(path)
    header, offset = read_header(path)
    copy = work_dir / DATA_FILE_NAME
    extract_lmdb(path, offset, copy)
    try:
        state = load_snapshot(copy)  # structure, and the records against the copy's own hash
    except StoreCorruptError as error:
        raise BackupError(f"{path}: the store in this backup is not intact: {error}") from None
    if state.applied_index != header.applied_index or hash_bytes(state.state_hash) != header.state_hash:
        raise BackupError(
            f"{path}: the records hash to {hash_bytes(state.state_hash).hex()} at index {state.applied_index}, "
            f"the header says {header.state_hash.hex()} at index {header.applied_index}")
    return header, copy


def restore(path: Path, data_dir: Path, *, new_node: bool = False) -> BackupHeader:
    """Writes `data_dir`'s store from the backup at `path`. Holds the data directory's lock while
    it does (DataDirLocked, naming the pid, when a node or another restore holds it), and refuses
    a data dir that holds state other than the Raft term and vote, and one without them unless
    `new_node` (see the module). A data dir it had to create is removed again if it fails."""
    created = not data_dir.exists()
    if created:
        verify_checksum(path)  # the cheap check first, before anything is created
    with lock_data_dir(data_dir):
        try:
            return _restore_locked(path, data_dir, checksum_verified=created, new_node=new_node)
        except BackupError:  # refused before anything was installed: leave no trace
            if created:
                lock_file(data_dir).unlink(missing_ok=True)
                data_dir.rmdir()
            raise


def _restore_locked(path: Path, data_dir: Path, checksum_verified: bool, new_node: bool) -> BackupHeader:
    meta = NodeConfig.raft_meta_file.fget(SimpleNamespace(data_dir=data_dir))
    present = [p for p in state_paths(data_dir) if p != meta]
    if present:
        raise BackupError(f"{data_dir} already holds node state ({', '.join(p.name for p in present)}); "
                          f"refusing to overwrite it: stop the node and empty it with `settle node reset --data-dir {data_dir}`")
    if not new_node and not meta.exists():
        raise BackupError(f"{data_dir} holds no Raft term and vote ({meta.name}): a node restored without them "
                          f"could vote twice in one term. Empty the node's own data dir with `settle node reset "
                          f"--data-dir DIR` and restore into it; only for a node that never ran, pass --new-node")
    if not checksum_verified:
        verify_checksum(path)
    store_dir = NodeConfig.store_dir.fget(SimpleNamespace(data_dir=data_dir))
    # Extracted inside data_dir: installing it is then one rename on the same filesystem.
    with tempfile.TemporaryDirectory(prefix="restore-", dir=data_dir) as tmp:
        header, copy = verify_backup(path, Path(tmp))
        store_dir.mkdir()
        os.replace(copy, store_dir / DATA_FILE_NAME)
        os.chmod(store_dir / DATA_FILE_NAME, 0o600)
        fsync_directory(store_dir)
    marker = data_dir / RESTORED_MARKER
    marker.write_text(json.dumps({"applied_index": header.applied_index, "state_hash": header.state_hash.hex(),
                                  "from_node": header.node_id, "cluster_id": header.cluster_id}) + "\n")
    fsync_directory(data_dir)
    return header


def restored_index(data_dir: Path) -> int | None:
    """The store index a restore left, or None when this data dir was not restored."""
    try:
        return int(json.loads((data_dir / RESTORED_MARKER).read_text())["applied_index"])
    except FileNotFoundError:
        return None
