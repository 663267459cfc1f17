"""The incremental state hash: O(1) per write, order-independent, equal to a full recomputation."""

from node.ledger import LedgerState
from node.ledger.state import state_from_records
from node.ledger.state_hash import hash_modulus, record_hash

from .driver import listed_market_with_traders


def full_hash(state: LedgerState) -> int:
    return sum(record_hash(t, k, v) for t, k, v in state.records()) % hash_modulus


def test_incremental_hash_equals_full_recomputation_after_trading():
    driver = listed_market_with_traders()
    driver.trade("alice", "bob", 50_000, 10)
    driver.price(40_000)
    assert driver.state.state_hash == full_hash(driver.state)


def test_state_rebuilt_from_records_in_another_order_has_the_same_hash():
    driver = listed_market_with_traders()
    driver.trade("alice", "bob", 50_000, 10)
    records = sorted(driver.state.records(), reverse=True)
    rebuilt = state_from_records(iter(records), driver.state.applied_index)
    assert rebuilt.state_hash == driver.state.state_hash
    assert rebuilt.total_collateral == driver.state.total_collateral


def test_any_balance_change_changes_the_hash():
    driver = listed_market_with_traders()
    before = driver.state.state_hash
    driver.deposit("alice", 1)
    assert driver.state.state_hash != before


def test_a_rejected_command_changes_only_its_dedup_record():
    driver = listed_market_with_traders()
    before = driver.state.state_hash
    driver.withdraw("alice", 10**15)
    assert len(driver.state.touched) == 2  # the dedup record and the ledger time
    assert driver.state.state_hash != before


def test_touched_records_are_what_the_entry_changed():
    driver = listed_market_with_traders()
    driver.trade("alice", "bob", 50_000, 10, buyer_fee=1, seller_fee=1)
    tables = sorted({table for table, _ in driver.state.touched})
    assert tables == [b"account", b"dedup", b"meta", b"open_interest", b"position"]
