"""Open-interest margin, the per-account position cap, and the cascade breaker."""

from node.ledger.margin import initial_margin_bps
from node.ledger.records import MarketStatus, StatusReason
from node.ledger.results import ResultCode

from .driver import signed_price, MARKET, LedgerDriver, create_market


def market_with(**params) -> LedgerDriver:
    driver = LedgerDriver()
    driver.one(create_market(band_bps=0, trade_band_bps=100_000, **params))
    driver.price(1_000)
    for name in ("alice", "bob", "carol", "dave"):
        driver.deposit(name, 10**9)
    return driver


def test_initial_margin_is_the_market_ratio_up_to_the_soft_cap():
    driver = market_with(open_interest_soft_cap=100, open_interest_cap=200)
    market = driver.state.markets[MARKET]
    assert initial_margin_bps(market, 0) == initial_margin_bps(market, 100) == 1_000


def test_initial_margin_rises_linearly_to_100_percent_at_the_hard_cap():
    driver = market_with(open_interest_soft_cap=100, open_interest_cap=200)
    market = driver.state.markets[MARKET]
    assert initial_margin_bps(market, 150) == 5_500  # halfway: 10% + 90%/2
    assert initial_margin_bps(market, 200) == 10_000


def test_a_fill_into_a_crowded_market_needs_the_higher_margin():
    driver = market_with(open_interest_soft_cap=100, open_interest_cap=200)
    driver.trade("alice", "bob", 1_000, 100)  # OI 100: at the soft cap
    driver.deposit("thin", 50_000)
    # 40 more contracts: OI 140, margin 1,000 + 9,000 x 40/100 = 4,600 bps of 40,000 = 18,400: fine
    assert driver.trade("thin", "carol", 1_000, 40).code == ResultCode.OK
    driver.deposit("thinner", 20_000)
    # 40 more: OI 180, margin 8,200 bps of 40,000 = 32,800 > 20,000
    assert driver.trade("thinner", "dave", 1_000, 40).code == ResultCode.INSUFFICIENT_MARGIN


def test_a_fill_beyond_the_position_cap_is_refused():
    driver = market_with(position_cap=10)
    assert driver.trade("alice", "bob", 1_000, 10).code == ResultCode.OK
    assert driver.trade("alice", "carol", 1_000, 1).code == ResultCode.POSITION_CAP
    assert driver.size("alice") == 10


def test_a_fill_that_reduces_a_capped_position_is_accepted():
    driver = market_with(position_cap=10)
    driver.trade("alice", "bob", 1_000, 10)
    assert driver.trade("carol", "alice", 1_000, 3).code == ResultCode.OK


def cascade_market() -> LedgerDriver:
    """Cascade breaker at 10% of open interest over 60 s; two thin longs and a deep short."""
    driver = market_with(cascade_bps=1_000, cascade_window_ms=60_000, cooldown_ms=30_000)
    driver.deposit("maker", 10**9)
    for name in ("thin-a", "thin-b"):
        driver.deposit(name, 110_000)
        driver.trade(name, "maker", 1_000, 1_000)  # long 1,000 at 10x
    return driver


def test_liquidations_beyond_a_share_of_open_interest_make_the_market_reduce_only():
    driver = cascade_market()
    driver.price(900)  # both thin longs liquidated: 1,800,000 of 1,800,000 OI notional
    market = driver.state.markets[MARKET]
    assert (market.status, market.status_reason) == (MarketStatus.REDUCE_ONLY, StatusReason.CASCADE)
    assert market.status_until_ms == driver.time_ms + 30_000


def test_liquidations_below_the_cascade_share_leave_the_market_active():
    driver = market_with(cascade_bps=9_000, cascade_window_ms=60_000, cooldown_ms=30_000)
    driver.deposit("maker", 10**9)
    driver.deposit("thin", 110_000)
    driver.trade("thin", "maker", 1_000, 1_000)
    driver.trade("alice", "bob", 1_000, 10_000)  # deep OI: 11,000 contracts
    driver.price(900)  # 900,000 liquidated of 9,900,000 OI notional: 9%
    assert driver.size("thin") == 0
    assert driver.state.markets[MARKET].status == MarketStatus.ACTIVE


def test_a_cascade_halt_ends_after_the_cooldown():
    driver = cascade_market()
    driver.price(900)
    tripped_at = driver.time_ms
    driver.run(time_ms=tripped_at + 29_999)
    assert driver.state.markets[MARKET].status == MarketStatus.REDUCE_ONLY
    driver.run(time_ms=tripped_at + 30_000)
    assert driver.state.markets[MARKET].status == MarketStatus.ACTIVE


def test_the_cascade_window_forgets_liquidations_older_than_its_length():
    driver = market_with(cascade_bps=1_000, cascade_window_ms=60_000, cooldown_ms=30_000, stale_after_ms=3_600_000)
    driver.deposit("maker", 10**9)
    driver.trade("alice", "bob", 1_000, 20_000)  # OI notional ~21M at the marks used here
    for n, name in enumerate(("thin-a", "thin-b")):
        driver.deposit(name, 110_000)
        driver.trade(name, "maker", 1_000, 1_000)
    driver.one(signed_price("drop-1", MARKET, "src-a", 900, driver.time_ms + 1))  # thin-a and thin-b out
    first = driver.state.markets[MARKET].cascade_notional
    driver.run(time_ms=driver.time_ms + 61_000)
    driver.deposit("thin-c", 100_000)
    driver.trade("thin-c", "maker", 900, 1_000)
    driver.one(signed_price("drop-2", MARKET, "src-a", 810, driver.time_ms + 1))
    assert driver.size("thin-c") == 0
    assert driver.state.markets[MARKET].cascade_notional == 810 * 1_000 != first + 810 * 1_000
