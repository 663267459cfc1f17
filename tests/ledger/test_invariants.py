"""A broken invariant raises LedgerInvariantError: the node stops instead of serving it."""

import pytest

from node.ledger import LedgerInvariantError, LogEntry, apply, check_full
from node.ledger.records import Account, Position

from .driver import MARKET, listed_market_with_traders


def test_collateral_created_from_nothing_breaks_conservation():
    driver = listed_market_with_traders()
    driver.state.put_account("alice", Account(driver.collateral("alice") + 1))
    with pytest.raises(LedgerInvariantError, match="conservation"):
        driver.run()


def test_one_sided_position_breaks_zero_net_position():
    driver = listed_market_with_traders()
    driver.state.put_position("alice", MARKET, Position(5, 0))
    with pytest.raises(LedgerInvariantError, match="net position"):
        driver.run()


def test_negative_collateral_on_an_active_account_is_caught():
    driver = listed_market_with_traders()
    alice, bob = driver.collateral("alice"), driver.collateral("bob")
    # Conserving move: alice ends at -1, bob gets all of it, so only invariant 3 can fire.
    driver.state.put_account("alice", Account(-1))
    driver.state.put_account("bob", Account(bob + alice + 1))
    with pytest.raises(LedgerInvariantError, match="negative collateral"):
        driver.run()


def test_full_check_catches_a_record_changed_behind_the_hash():
    driver = listed_market_with_traders()
    driver.state.accounts["alice"] = Account(driver.collateral("alice") + 5)  # bypasses _write
    with pytest.raises(LedgerInvariantError):
        check_full(driver.state)


def test_reapplying_an_index_is_refused():
    driver = listed_market_with_traders()
    with pytest.raises(AssertionError):
        apply(driver.state, LogEntry(driver.index, driver.time_ms, ()))
