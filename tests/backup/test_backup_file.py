"""A backup restores only when it is intact and its records hash to what it claims; a data dir
that already holds a node's state, or that a running node holds, is never written to, and one
without the node's Raft term and vote is refused unless the node never ran."""

from __future__ import annotations

import hashlib
import json
import io

import pytest

from node.backup.format import BACKUP_MAGIC, BackupError, read_header
from node.backup.restore import RESTORED_MARKER, restore, restored_index
from node.backup.take import take_backup
from node.cli.cli import main as settle
from node.data_lock import LOCK_FILE_NAME, lock_data_dir
from node.ledger.records import TABLE_ACCOUNT, Account, encode_account
from node.ledger.state_hash import hash_bytes
from node.store import LedgerStore
from tests.lock_holder import lock_holder
from tests.store.helpers import raw_put, trading_session


def _backup(tmp_path, tamper=None):
    with LedgerStore(tmp_path / "live") as store:
        driver = trading_session(store)
    if tamper:
        tamper(tmp_path / "live")
    out = tmp_path / "node.backup"
    with LedgerStore(tmp_path / "live") as store:
        header = take_backup(store, "c1", "node2", out, tmp_path)
    return driver, header, out


def _recompute_checksum(path):
    data = path.read_bytes()[:-32]
    path.write_bytes(data + hashlib.sha256(data).digest())


def test_a_backup_restores_to_the_same_state(tmp_path):
    driver, header, backup = _backup(tmp_path)
    assert header.applied_index == driver.state.applied_index
    assert header.state_hash == hash_bytes(driver.state.state_hash)
    restored = restore(backup, tmp_path / "new", new_node=True)
    assert restored == header and restored_index(tmp_path / "new") == header.applied_index
    with LedgerStore(tmp_path / "new" / "ledger") as store:
        state = store.load()
    assert state.accounts == driver.state.accounts and state.applied_index == header.applied_index


def test_a_damaged_backup_is_refused_by_its_checksum(tmp_path):
    _, _, backup = _backup(tmp_path)
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 1
    backup.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum mismatch"):
        restore(backup, tmp_path / "new", new_node=True)
    assert not (tmp_path / "new").exists()


def test_a_record_changed_before_the_backup_is_refused_by_the_state_hash(tmp_path):
    # The checksum is right (the node framed what it had); the records do not hash to the copy's hash.
    _, _, backup = _backup(tmp_path, lambda live: raw_put(live, TABLE_ACCOUNT, b"carol", encode_account(Account(10**12))))
    with pytest.raises(BackupError, match="state hash mismatch"):
        restore(backup, tmp_path / "new", new_node=True)
    assert not (tmp_path / "new" / "ledger").exists()


def test_a_header_that_claims_another_hash_is_refused(tmp_path):
    _, header, backup = _backup(tmp_path)
    _, offset = read_header(backup)
    data = backup.read_bytes()
    body = json.loads(data[len(BACKUP_MAGIC) + 4:offset])
    body["state_hash"] = "00" * 32
    new_body = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert len(new_body) == offset - len(BACKUP_MAGIC) - 4
    backup.write_bytes(data[:len(BACKUP_MAGIC) + 4] + new_body + data[offset:])
    _recompute_checksum(backup)
    with pytest.raises(BackupError, match="the header says"):
        restore(backup, tmp_path / "new", new_node=True)


def test_a_data_dir_holding_state_is_not_overwritten(tmp_path):
    _, _, backup = _backup(tmp_path)
    target = tmp_path / "node2"
    (target / "ledger").mkdir(parents=True)
    (target / "node.toml").write_text("# config may stay\n")
    out = io.StringIO()
    assert settle(["restore", str(backup), "--data-dir", str(target), "--new-node"], out=out, err=out) == 1
    assert "already holds node state" in out.getvalue() and "settle node reset" in out.getvalue()
    assert list((target / "ledger").iterdir()) == [] and not (target / RESTORED_MARKER).exists()
    (target / "ledger").rmdir()  # config, keys and logs alone are not state: restore proceeds
    assert settle(["restore", str(backup), "--data-dir", str(target), "--new-node"], out=out, err=out) == 0


def test_a_data_dir_without_the_nodes_raft_term_and_vote_is_refused_unless_the_node_is_new(tmp_path):
    # A node restored without its vote could vote twice in one term: `settle node reset` keeps it.
    _, _, backup = _backup(tmp_path)
    target = tmp_path / "node2"
    target.mkdir()
    out = io.StringIO()
    assert settle(["restore", str(backup), "--data-dir", str(target)], out=out, err=out) == 1
    assert "holds no Raft term and vote" in out.getvalue() and "settle node reset" in out.getvalue()
    assert [p.name for p in target.iterdir()] == [LOCK_FILE_NAME]  # the lock it held, nothing else
    assert settle(["restore", str(backup), "--data-dir", str(target), "--new-node"], out=out, err=out) == 0


def test_a_data_dir_a_running_node_holds_is_not_restored_into(tmp_path):
    _, _, backup = _backup(tmp_path)
    target = tmp_path / "node2"
    out = io.StringIO()
    with lock_holder(target) as node:  # a node serving from it, as far as the lock can tell
        assert settle(["restore", str(backup), "--data-dir", str(target), "--new-node"], out=out, err=out) == 1
    assert f"in use by pid {node.pid}" in out.getvalue()
    assert not (target / "ledger").exists() and not (target / RESTORED_MARKER).exists()


def test_a_finished_restore_leaves_the_data_dir_free_for_its_node(tmp_path):
    _, _, backup = _backup(tmp_path)
    restore(backup, tmp_path / "node2", new_node=True)
    with lock_data_dir(tmp_path / "node2"):
        pass
