"""Snapshots: a compact copy of the store that another node can check and install."""

from __future__ import annotations

import pytest

from node.ledger.records import encode_account
from node.ledger.state_hash import hash_bytes
from node.store import LedgerStore, StoreCorruptError, snapshot_summary
from node.store.readers import ReaderClosed

from .helpers import state_fields, trading_session


def snapshot_of_a_session(tmp_path):
    with LedgerStore(tmp_path / "leader") as store:
        driver = trading_session(store)
        store.copy_to(tmp_path / "snapshot")
    return driver.state, tmp_path / "snapshot"


def test_an_installed_snapshot_holds_the_same_state(tmp_path):
    state, snapshot = snapshot_of_a_session(tmp_path)
    with LedgerStore(tmp_path / "follower") as follower:
        installed = follower.install(snapshot)
        loaded = follower.load()
        assert follower.applied_index == state.applied_index
        assert follower.state_hash == hash_bytes(state.state_hash)
    assert state_fields(loaded) == state_fields(state)
    assert state_fields(installed) == state_fields(state)


def test_an_installed_snapshot_survives_a_reopen(tmp_path):
    state, snapshot = snapshot_of_a_session(tmp_path)
    with LedgerStore(tmp_path / "follower") as follower:
        follower.install(snapshot)
    with LedgerStore(tmp_path / "follower") as reopened:
        assert reopened.load().state_hash == state.state_hash


def test_install_replaces_a_store_that_already_has_a_state(tmp_path):
    state, snapshot = snapshot_of_a_session(tmp_path)
    with LedgerStore(tmp_path / "follower") as follower:
        own = trading_session(follower)
        own.deposit("dave", 1)  # one entry further than the snapshot
        follower.install(snapshot)
        assert follower.applied_index == state.applied_index
        assert follower.load().state_hash == state.state_hash


def test_snapshot_summary_reads_the_applied_index_and_state_hash(tmp_path):
    state, snapshot = snapshot_of_a_session(tmp_path)
    assert snapshot_summary(snapshot) == (state.applied_index, hash_bytes(state.state_hash))


def test_copy_to_leaves_only_the_finished_snapshot(tmp_path):
    _, snapshot = snapshot_of_a_session(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leader", "snapshot"]


def test_a_damaged_snapshot_is_refused_and_the_live_store_is_untouched(tmp_path):
    _, snapshot = snapshot_of_a_session(tmp_path)
    data = bytearray(snapshot.read_bytes())
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    snapshot.write_bytes(bytes(data))
    with LedgerStore(tmp_path / "follower") as follower:
        own = trading_session(follower).state
        with pytest.raises(StoreCorruptError):
            follower.install(snapshot)
        assert follower.load().state_hash == own.state_hash
    assert sorted(p.name for p in (tmp_path / "follower").iterdir()) == ["data.mdb", "lock.mdb"]


def test_a_snapshot_whose_records_do_not_hash_to_its_state_hash_is_refused(tmp_path):
    state, snapshot = snapshot_of_a_session(tmp_path)
    value = encode_account(state.accounts["carol"])
    data = bytearray(snapshot.read_bytes())
    offset = data.find(value)  # a compact copy holds each live value once
    assert offset > 0
    data[offset + 8] ^= 0x01
    snapshot.write_bytes(bytes(data))
    with LedgerStore(tmp_path / "follower") as follower:
        with pytest.raises(StoreCorruptError, match="state hash mismatch"):
            follower.install(snapshot)
        assert follower.applied_index == 0


def test_snapshot_summary_refuses_a_file_that_is_not_a_snapshot(tmp_path):
    not_a_snapshot = tmp_path / "snapshot"
    not_a_snapshot.write_bytes(b"not lmdb" * 1_000)
    with pytest.raises(StoreCorruptError):
        snapshot_summary(not_a_snapshot)


def test_a_reader_copies_the_commit_it_was_opened_at_while_later_entries_commit(tmp_path):
    header = b"a header of the caller's own"
    with LedgerStore(tmp_path / "leader") as store:
        driver = trading_session(store)
        expected = store.load()
        reader = store.open_reader()
        driver.deposit("dave", 5)  # committed after the reader opened: not in its copy
        driver.trade("alice", "bob", 49_000, 1)
        with open(tmp_path / "copy", "wb") as out:
            out.write(header)
            out.flush()
            reader.copy_compact(out.fileno())
        reader.close()
        assert store.applied_index == expected.applied_index + 2
    (tmp_path / "snapshot").write_bytes((tmp_path / "copy").read_bytes()[len(header):])
    with LedgerStore(tmp_path / "follower") as follower:
        installed = follower.install_verified(tmp_path / "snapshot", follower.verify_snapshot(tmp_path / "snapshot"))
        assert state_fields(installed) == state_fields(expected)
        assert state_fields(follower.load()) == state_fields(expected)


def test_a_reader_whose_store_closed_copies_nothing(tmp_path):
    store = LedgerStore(tmp_path / "leader")
    trading_session(store)
    reader = store.open_reader()
    store.close()
    with open(tmp_path / "copy", "wb") as out, pytest.raises(ReaderClosed):
        reader.copy_compact(out.fileno())
