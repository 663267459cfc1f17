"""Withdraw: collateral out, never unrealized profit, never below initial margin."""

from node.ledger import INSURANCE_FUND
from node.ledger.records import Account, AccountStatus, OracleVerdict
from node.ledger.results import ResultCode

from .driver import LedgerDriver, create_market, listed_market_with_traders


def test_withdraw_of_free_collateral_succeeds():
    driver = LedgerDriver()
    driver.deposit("alice", 500)
    result = driver.withdraw("alice", 200)
    assert result.code == ResultCode.OK and result.collateral == 300


def test_withdraw_of_everything_without_positions_succeeds():
    driver = LedgerDriver()
    driver.deposit("alice", 500)
    assert driver.withdraw("alice", 500).collateral == 0


def test_withdraw_beyond_collateral_is_refused():
    driver = LedgerDriver()
    driver.deposit("alice", 500)
    result = driver.withdraw("alice", 501)
    assert result.code == ResultCode.INSUFFICIENT_COLLATERAL
    assert driver.collateral("alice") == 500


def test_withdraw_from_unknown_account_is_refused():
    assert LedgerDriver().withdraw("nobody", 1).code == ResultCode.UNKNOWN_ACCOUNT


def test_non_positive_withdrawal_is_refused():
    driver = LedgerDriver()
    driver.deposit("alice", 500)
    assert driver.withdraw("alice", 0).code == ResultCode.INVALID_AMOUNT


def test_withdraw_that_leaves_less_than_initial_margin_is_refused():
    driver = listed_market_with_traders(mark=50_000, collateral=1_000_000)
    driver.trade("alice", "bob", 50_000, 100)  # notional 5,000,000; initial margin 500,000
    assert driver.withdraw("alice", 500_001).code == ResultCode.INSUFFICIENT_COLLATERAL
    assert driver.withdraw("alice", 500_000).code == ResultCode.OK


def test_unrealized_profit_is_never_withdrawable():
    driver = listed_market_with_traders(mark=50_000, collateral=1_000_000)
    driver.trade("alice", "bob", 50_000, 10)  # alice long 10
    driver.price(60_000)  # alice +100,000 unrealized
    # Collateral 1,000,000 less initial margin 10% of 600,000: 940,000; the profit adds nothing.
    assert driver.withdraw("alice", 940_001).code == ResultCode.INSUFFICIENT_COLLATERAL
    assert driver.withdraw("alice", 940_000).code == ResultCode.OK


def test_unrealized_loss_reduces_what_is_withdrawable():
    driver = listed_market_with_traders(mark=50_000, collateral=1_000_000)
    driver.trade("alice", "bob", 50_000, 10)
    driver.price(45_000)  # alice -50,000 unrealized; initial margin 45,000
    assert driver.withdraw("alice", 905_001).code == ResultCode.INSUFFICIENT_COLLATERAL
    assert driver.withdraw("alice", 905_000).code == ResultCode.OK


def test_withdraw_from_a_frozen_account_is_refused():
    driver = LedgerDriver()
    driver.deposit("alice", 500)
    driver.state.put_account("alice", Account(500, AccountStatus.FROZEN))
    assert driver.withdraw("alice", 1).code == ResultCode.ACCOUNT_NOT_ACTIVE


def test_withdraw_from_the_insurance_fund_is_refused():
    driver = LedgerDriver()
    driver.deposit(INSURANCE_FUND, 500)
    assert driver.withdraw(INSURANCE_FUND, 1).code == ResultCode.INVALID_ACCOUNT
    assert driver.state.insurance_fund == 500


HOUR_MS = 3_600_000
ACCOUNT_LIMIT = 10**13  # limits.withdrawal_account_max_per_window


def test_withdrawals_beyond_the_account_limit_per_window_are_refused():
    driver = LedgerDriver()
    driver.deposit("whale", 3 * ACCOUNT_LIMIT)
    assert driver.withdraw("whale", ACCOUNT_LIMIT).code == ResultCode.OK
    assert driver.withdraw("whale", 1).code == ResultCode.WITHDRAWAL_LIMIT
    assert driver.collateral("whale") == 2 * ACCOUNT_LIMIT


def test_the_account_limit_resets_when_its_window_ends():
    driver = LedgerDriver()
    driver.deposit("whale", 3 * ACCOUNT_LIMIT)
    driver.withdraw("whale", ACCOUNT_LIMIT)
    window_start = driver.time_ms
    driver.run(time_ms=window_start + HOUR_MS - 1_001)  # the next entry lands 1 s later
    assert driver.withdraw("whale", 1).code == ResultCode.WITHDRAWAL_LIMIT  # applied at +HOUR_MS - 1
    driver.run(time_ms=window_start + HOUR_MS)
    assert driver.withdraw("whale", ACCOUNT_LIMIT).code == ResultCode.OK


def test_withdrawals_beyond_the_venue_limit_per_window_are_refused():
    driver = LedgerDriver()
    for n in range(11):
        driver.deposit(f"whale-{n}", ACCOUNT_LIMIT)
    for n in range(10):  # 10 x 10^13 = the venue's 10^14 per window
        assert driver.withdraw(f"whale-{n}", ACCOUNT_LIMIT).code == ResultCode.OK
    result = driver.withdraw("whale-10", 1)
    assert result.code == ResultCode.WITHDRAWAL_LIMIT and "venue" in result.message


def _account_went_negative() -> LedgerDriver:
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(44_000)  # realized -600,000 against 500,000: negative, the fund pays what it can
    return driver


def test_withdrawals_pause_after_any_account_went_negative():
    driver = _account_went_negative()
    result = driver.withdraw("alice", 1)
    assert result.code == ResultCode.WITHDRAWALS_GATED
    assert driver.collateral("alice") == 10_000_000


def test_withdrawals_resume_when_the_gate_ends():
    driver = _account_went_negative()
    went_negative_at = driver.time_ms
    driver.run(time_ms=went_negative_at + HOUR_MS - 1_001)  # the next entry lands 1 s later
    assert driver.withdraw("alice", 1).code == ResultCode.WITHDRAWALS_GATED  # applied at +HOUR_MS - 1
    driver.run(time_ms=went_negative_at + HOUR_MS)
    assert driver.withdraw("alice", 1).code == ResultCode.OK


def test_an_account_holding_a_stale_market_cannot_withdraw():
    driver = LedgerDriver()
    driver.one(create_market(stale_after_ms=60_000))
    driver.price(50_000)
    driver.deposit("alice", 10_000_000)
    driver.deposit("bob", 10_000_000)
    assert driver.trade("alice", "bob", 50_000, 10).ok
    driver.run(time_ms=driver.time_ms + 61_000)  # the only source ages out
    assert driver.state.markets["BTC-PERP"].oracle_verdict == OracleVerdict.STALE
    result = driver.withdraw("alice", 1)
    assert result.code == ResultCode.STALE_PRICE
    assert driver.collateral("alice") == 10_000_000
    driver.deposit("carol", 1_000)
    assert driver.withdraw("carol", 1_000).ok  # no position: nothing to value
