"""Futures cash-settle at their settlement price when ledger time reaches expiry: the
time-weighted average of the VALID marks over the settlement window, never a halting mark
(docs/design.md#settlement-price; the rule's own specification: test_settlement_price.py)."""

from node.ledger import INSURANCE_FUND
from node.ledger.commands import MarketKind
from node.ledger.events import MarketStatusChanged
from node.ledger.records import AccountStatus, MarketStatus, StatusReason
from node.ledger.results import ResultCode

from .driver import LedgerDriver, create_market

FUTURE = "BTC-DEC"


def future_with_positions(expiry_offset_ms: int = 50_000) -> tuple[LedgerDriver, int]:
    driver = LedgerDriver()
    expiry = driver.time_ms + expiry_offset_ms
    driver.one(create_market(market=FUTURE, kind=MarketKind.FUTURE, expiry_ms=expiry, band_bps=0))
    driver.price(50_000, market=FUTURE)
    driver.deposit("alice", 1_000_000)
    driver.deposit("bob", 1_000_000)
    driver.trade("alice", "bob", 50_000, 10, market=FUTURE)
    return driver, expiry


def test_expiry_closes_every_position_at_the_windows_average_and_realizes_pnl():
    driver, expiry = future_with_positions()  # listed 49 s before expiry: the window is those 49 s
    driver.price(52_000, market=FUTURE)
    driver.run(time_ms=expiry)
    # 50,000 held 4 s, 52,000 held 44 s (valid from the first mark): (200M + 2,288M) / 48,000 = 51,833.3
    assert driver.state.markets[FUTURE].settlement_price == 51_833
    assert (driver.size("alice", FUTURE), driver.size("bob", FUTURE)) == (0, 0)
    assert (driver.collateral("alice"), driver.collateral("bob")) == (1_018_330, 981_670)
    assert driver.state.open_interest[FUTURE] == 0


def test_an_expired_future_is_settled_with_its_reason():
    driver, expiry = future_with_positions()
    driver.run(time_ms=expiry)
    market = driver.state.markets[FUTURE]
    assert (market.status, market.status_reason, market.status_since_ms) == (MarketStatus.SETTLED, StatusReason.EXPIRED, expiry)
    assert MarketStatusChanged(FUTURE, MarketStatus.SETTLED, StatusReason.EXPIRED, driver.time_ms) in driver.events


def test_nothing_settles_before_expiry():
    driver, expiry = future_with_positions()
    driver.run(time_ms=expiry - 1)
    assert driver.size("alice", FUTURE) == 10
    assert driver.state.markets[FUTURE].status == MarketStatus.ACTIVE


def test_a_settled_future_takes_no_trades_and_no_prices():
    driver, expiry = future_with_positions()
    driver.run(time_ms=expiry)
    assert driver.trade("alice", "bob", 50_000, 1, market=FUTURE).code == ResultCode.MARKET_EXPIRED
    assert driver.price(51_000, market=FUTURE).code == ResultCode.MARKET_NOT_ACTIVE


def _halted_at_expiry(fund: int) -> tuple[LedgerDriver, int]:
    """thin is long 10 at 50,000 with 50,000 of collateral; a 22% fall trips the breaker (so no
    liquidation), and expiry arrives during the halt with 5 s of VALID time in a 29 s window."""
    driver = LedgerDriver()
    expiry = driver.time_ms + 30_000
    driver.one(create_market(market=FUTURE, kind=MarketKind.FUTURE, expiry_ms=expiry, band_bps=2_000, cooldown_ms=600_000))
    driver.price(50_000, market=FUTURE)
    driver.deposit(INSURANCE_FUND, fund)
    driver.deposit("thin", 50_000)
    driver.deposit("bob", 10**9)
    driver.trade("thin", "bob", 50_000, 10, market=FUTURE)
    driver.price(39_000, market=FUTURE)
    assert driver.state.markets[FUTURE].status == MarketStatus.HALTED and driver.size("thin", FUTURE) == 10
    driver.run(time_ms=expiry)
    return driver, expiry


def _settled_after_expiry(fund: int) -> LedgerDriver:
    """The halted future waits SETTLING; the oracle then prints 39,000 for half the window."""
    driver, expiry = _halted_at_expiry(fund)
    driver.price(39_000, market=FUTURE)
    driver.run(time_ms=driver.time_ms + 14_500)  # half of the 29 s window, rounded up
    assert driver.state.markets[FUTURE].status == MarketStatus.SETTLED
    return driver


def test_a_future_halted_by_its_band_at_expiry_does_not_settle_at_the_halting_mark():
    driver, _ = _halted_at_expiry(fund=1_000_000)
    market = driver.state.markets[FUTURE]
    assert (market.status, market.status_reason) == (MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE)
    assert (driver.size("thin", FUTURE), market.settlement_price) == (10, 0)


def test_a_loss_beyond_collateral_at_settlement_is_paid_by_the_fund():
    driver = _settled_after_expiry(fund=1_000_000)
    # realized -110,000 against 50,000: the fund pays 60,000
    assert driver.collateral("thin") == 0
    assert driver.state.insurance_fund == 940_000
    assert driver.state.accounts["thin"].status == AccountStatus.ACTIVE


def test_a_loss_beyond_collateral_and_fund_at_settlement_leaves_the_account_bankrupt():
    driver = _settled_after_expiry(fund=20_000)
    assert driver.state.insurance_fund == 0
    assert driver.collateral("thin") == -40_000
    assert driver.state.accounts["thin"].status == AccountStatus.BANKRUPT
