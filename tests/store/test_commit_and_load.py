"""commit writes an entry's records with its applied index and hash; load gives back exactly
that state, verified."""

from __future__ import annotations

import pytest

from node.ledger import INSURANCE_FUND, LedgerState, LogEntry, apply
from node.ledger.commands import Deposit
from node.ledger.records import TABLE_ACCOUNT, TABLE_META, decode_account
from node.ledger.state import META_KEYS
from node.ledger.state_hash import hash_bytes
from node.store import LedgerStore

from .helpers import raw_table, state_fields, trading_session


def test_loaded_state_equals_the_committed_state_after_trading(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        driver = trading_session(store)
        assert state_fields(store.load()) == state_fields(driver.state)


def test_reopened_store_holds_exactly_the_same_state(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        driver = trading_session(store)
    with LedgerStore(tmp_path / "node") as reopened:
        loaded = reopened.load()
    assert state_fields(loaded) == state_fields(driver.state)
    assert loaded.position("alice", "BTC-PERP") == driver.state.position("alice", "BTC-PERP")


def test_applied_index_and_state_hash_are_those_of_the_last_commit(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        driver = trading_session(store)
        assert store.applied_index == driver.state.applied_index
        assert store.state_hash == hash_bytes(driver.state.state_hash)


def test_a_new_store_loads_as_a_fresh_ledger(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        loaded = store.load()
        assert store.applied_index == 0
        assert store.state_hash == hash_bytes(LedgerState().state_hash)
    assert state_fields(loaded) == state_fields(LedgerState())


def test_first_commit_persists_the_insurance_fund_and_every_meta_record(tmp_path):
    state = LedgerState()
    apply(state, LogEntry(1, 1_000, (Deposit("dep-1", "alice", 500),)))
    assert (TABLE_ACCOUNT, INSURANCE_FUND) not in state.touched  # only the first commit saves it
    with LedgerStore(tmp_path / "node") as store:
        store.commit(state)
        assert store.load().state_hash == state.state_hash
    accounts = raw_table(tmp_path / "node", TABLE_ACCOUNT)
    assert decode_account(accounts[INSURANCE_FUND.encode()]).collateral == 0
    assert sorted(raw_table(tmp_path / "node", TABLE_META)) == sorted(key.encode() for key in META_KEYS)


def test_recommitting_the_same_applied_index_is_refused(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        driver = trading_session(store)
        with pytest.raises(AssertionError):
            store.commit(driver.state)


def test_committing_an_older_applied_index_is_refused_and_writes_nothing(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        driver = trading_session(store)
        committed = store.state_hash
        driver.state.applied_index -= 1
        with pytest.raises(AssertionError):
            store.commit(driver.state)
        assert store.applied_index == driver.state.applied_index + 1
        assert store.state_hash == committed


def test_a_record_touched_as_deleted_is_removed_from_its_table(tmp_path):
    state = LedgerState()
    apply(state, LogEntry(1, 1_000, (Deposit("dep-1", "alice", 500),)))
    with LedgerStore(tmp_path / "node") as store:
        store.commit(state)
        # The ledger deletes nothing today; the store must still honour None = delete.
        state.applied_index = 2
        state.touched = {(TABLE_ACCOUNT, "alice"): None}
        store.commit(state)
    assert b"alice" not in raw_table(tmp_path / "node", TABLE_ACCOUNT)


def test_a_closed_store_refuses_to_be_used(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        pass
    with pytest.raises(AssertionError):
        store.load()
