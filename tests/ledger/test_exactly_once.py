"""Exactly-once: a command id is applied at most once; retries get the first outcome."""

from node.ledger.commands import Deposit, SettleTrade, Withdraw
from node.ledger.results import ResultCode
from node.ledger.state import state_from_records

from .driver import MARKET, LedgerDriver, listed_market_with_traders


def test_retried_deposit_returns_duplicate_with_the_first_outcome():
    driver = LedgerDriver()
    first = driver.one(Deposit("dep-1", "alice", 500))
    again = driver.one(Deposit("dep-1", "alice", 500))
    assert again.code == ResultCode.DUPLICATE
    assert again.original_code == ResultCode.OK
    assert again.collateral == first.collateral == 500
    assert driver.collateral("alice") == 500


def test_retry_with_different_content_is_still_a_duplicate():
    driver = LedgerDriver()
    driver.one(Deposit("dep-1", "alice", 500))
    assert driver.one(Deposit("dep-1", "alice", 900)).code == ResultCode.DUPLICATE
    assert driver.collateral("alice") == 500


def test_retried_rejection_returns_the_first_rejection():
    driver = LedgerDriver()
    driver.deposit("alice", 100)
    driver.one(Withdraw("wd-1", "alice", 500))
    driver.deposit("alice", 1_000)
    again = driver.one(Withdraw("wd-1", "alice", 500))
    assert (again.code, again.original_code) == (ResultCode.DUPLICATE, ResultCode.INSUFFICIENT_COLLATERAL)
    assert driver.collateral("alice") == 1_100


def test_duplicate_within_one_batch_applies_once():
    driver = listed_market_with_traders()
    results = driver.run(
        SettleTrade("t1", MARKET, "alice", "bob", 50_000, 10),
        SettleTrade("t1", MARKET, "alice", "bob", 50_000, 10),
    )
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.DUPLICATE]
    assert driver.size("alice") == 10


def test_malformed_command_id_is_refused_and_not_remembered():
    driver = LedgerDriver()
    for bad in ("", "x" * 65, "has space", "semi;colon"):
        assert driver.one(Deposit(bad, "alice", 5)).code == ResultCode.INVALID_ID
    assert driver.state.dedup == {}
    assert "alice" not in driver.state.accounts


def test_command_id_of_64_bytes_is_accepted():
    assert LedgerDriver().one(Deposit("a" * 64, "alice", 5)).code == ResultCode.OK


def test_an_entry_keeps_its_dedup_results_in_one_record():
    driver = listed_market_with_traders()
    driver.run(*(Deposit(f"batch-{n}", "alice", 1) for n in range(50)))
    dedup_records = [key for table, key in driver.state.touched if table == b"dedup"]
    assert dedup_records == [f"{driver.index:020d}"]


def test_dedup_survives_a_rebuild_from_stored_records():
    driver = listed_market_with_traders()
    driver.run(Deposit("keep-1", "alice", 5), Withdraw("keep-2", "alice", 10**15))
    rebuilt = state_from_records(iter(sorted(driver.state.records())), driver.state.applied_index)
    assert rebuilt.dedup == driver.state.dedup
    assert rebuilt.dedup["keep-2"].code == ResultCode.INSUFFICIENT_COLLATERAL
    assert rebuilt.state_hash == driver.state.state_hash
