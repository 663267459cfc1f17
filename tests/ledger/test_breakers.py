"""Price-band breaker: HALTED for the cooldown, then REDUCE_ONLY for a grace period, then ACTIVE."""

from node.ledger.events import BreakerTripped, MarketStatusChanged
from node.ledger.records import MarketStatus, StatusReason
from node.ledger.results import ResultCode

from .driver import signed_price, MARKET, LedgerDriver, create_market

COOLDOWN_MS = 60_000
STALE_AFTER_MS = 3_600_000  # long: these tests jump time without prices


def breaker_market(mark: int = 50_000) -> LedgerDriver:
    """band 2,000 bps over 60 s, cooldown 60 s; alice and bob funded."""
    driver = LedgerDriver()
    driver.one(create_market(
        band_bps=2_000, band_window_ms=60_000, cooldown_ms=COOLDOWN_MS, trade_band_bps=100_000, stale_after_ms=STALE_AFTER_MS,
    ))
    driver.price(mark)
    driver.deposit("alice", 10**9)
    driver.deposit("bob", 10**9)
    return driver


def status(driver: LedgerDriver) -> tuple[MarketStatus, StatusReason]:
    market = driver.state.markets[MARKET]
    return market.status, market.status_reason


def test_a_move_within_the_band_keeps_the_market_active():
    driver = breaker_market()
    driver.price(59_999)  # +19.998%
    assert status(driver) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_a_move_beyond_the_band_halts_the_market_for_the_cooldown():
    driver = breaker_market()
    driver.price(60_001)  # +20.002% over the window's low
    market = driver.state.markets[MARKET]
    assert status(driver) == (MarketStatus.HALTED, StatusReason.PRICE_BAND)
    assert market.status_until_ms == driver.time_ms + COOLDOWN_MS
    assert BreakerTripped(MARKET, 60_001, 50_000, driver.time_ms + COOLDOWN_MS) in driver.events
    assert MarketStatusChanged(MARKET, MarketStatus.HALTED, StatusReason.PRICE_BAND, driver.time_ms) in driver.events


def test_a_fall_beyond_the_band_from_the_window_high_halts_too():
    driver = breaker_market()
    driver.price(55_000)
    driver.price(43_999)  # -20.002% from the window's high of 55,000
    assert status(driver) == (MarketStatus.HALTED, StatusReason.PRICE_BAND)


def test_the_window_restarts_after_band_window_ms():
    driver = breaker_market()
    driver.run(time_ms=driver.time_ms + 61_000)
    driver.price(55_000)  # new window starts from the mark of 50,000
    driver.run(time_ms=driver.time_ms + 61_000)
    driver.price(65_000)  # +18% from the new window's low of 55,000: within the band
    assert status(driver) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_nothing_trades_while_halted():
    driver = breaker_market()
    driver.price(70_000)
    assert driver.trade("alice", "bob", 70_000, 1).code == ResultCode.MARKET_NOT_ACTIVE


def test_after_the_cooldown_the_market_is_reduce_only_then_active():
    driver = breaker_market()
    driver.trade("alice", "bob", 50_000, 2)
    driver.price(70_000)
    tripped_at = driver.time_ms
    driver.run(time_ms=tripped_at + COOLDOWN_MS)
    assert status(driver) == (MarketStatus.REDUCE_ONLY, StatusReason.BREAKER_GRACE)
    assert driver.trade("alice", "bob", 70_000, 1).code == ResultCode.REDUCE_ONLY
    assert driver.trade("bob", "alice", 70_000, 1).code == ResultCode.OK
    driver.run(time_ms=tripped_at + 2 * COOLDOWN_MS)
    assert status(driver) == (MarketStatus.ACTIVE, StatusReason.NONE)
    assert driver.trade("alice", "bob", 70_000, 1).code == ResultCode.OK


def test_a_long_silence_passes_through_grace_to_active_in_one_entry():
    driver = breaker_market()
    driver.price(70_000)
    driver.run(time_ms=driver.time_ms + 10 * COOLDOWN_MS)
    assert status(driver) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_marks_keep_updating_while_halted_and_the_window_restarts_from_them():
    driver = breaker_market()
    driver.price(70_000)
    driver.price(71_000)
    assert driver.state.markets[MARKET].mark_price == 71_000
    driver.run(time_ms=driver.time_ms + 2 * COOLDOWN_MS)
    driver.price(72_000)  # +1.4% from the halted window: no new trip
    assert status(driver) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_nobody_is_liquidated_at_a_price_that_tripped_the_breaker():
    driver = breaker_market()
    driver.deposit("thin", 600_000)
    driver.trade("thin", "bob", 50_000, 100)  # long 100, 10x
    driver.price(39_000)  # -22%: would liquidate, but it trips the breaker
    assert driver.size("thin") == 100
    assert not [e for e in driver.events if type(e).__name__ == "Liquidation"]


def test_liquidation_resumes_at_the_mark_once_the_halt_is_over():
    driver = breaker_market()
    driver.deposit("thin", 600_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(39_000)
    driver.run(time_ms=driver.time_ms + COOLDOWN_MS)
    driver.one(signed_price("px-after", MARKET, "src-a", 39_500, driver.time_ms + 5))
    assert driver.size("thin") == 0


def test_profit_at_a_halting_price_is_not_margin():
    driver = breaker_market()
    driver.deposit("pump", 500_000)
    driver.trade("pump", "bob", 50_000, 100)  # long 100 at 50,000: initial margin 500,000
    driver.price(70_000)  # +40%: halts; unrealized +2,000,000 does not count
    driver.one(create_market(market="ETH-PERP", id="list-eth", band_bps=0, trade_band_bps=100_000))
    driver.price(1_000, market="ETH-PERP")
    assert driver.trade("pump", "bob", 1_000, 100, market="ETH-PERP").code == ResultCode.INSUFFICIENT_MARGIN


def test_a_zero_band_disables_the_breaker():
    driver = LedgerDriver()
    driver.one(create_market(band_bps=0))
    driver.price(50_000)
    driver.price(500_000)
    assert status(driver) == (MarketStatus.ACTIVE, StatusReason.NONE)
