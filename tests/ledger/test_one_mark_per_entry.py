"""One mark per entry (issue 18; docs/design.md#one-mark-per-entry): an entry's price updates are
all recorded first, then the mark is computed once, then the breakers and the liquidation sweep
run on it; every command of the entry sees the mark the entry started with."""

from node.ledger.commands import SettleTrade
from node.ledger.events import BreakerTripped, Liquidation
from node.ledger.records import MarketStatus
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, create_market, oracle_source, signed_price

SOURCES = ("a", "b", "c")


def market(**params) -> LedgerDriver:
    """BTC-PERP priced 10,000 by a, b and c (b and c at 10,000, a at 9,400)."""
    driver = LedgerDriver()
    listing = dict(sources=tuple(oracle_source(s) for s in SOURCES), min_sources=2, stale_after_ms=600_000)
    listing.update(params)
    assert driver.one(create_market(**listing)).ok
    prices(driver, {"a": 9_400, "b": 10_000, "c": 10_000})
    assert driver.state.markets[MARKET].mark_price == 10_000
    return driver


def prices(driver: LedgerDriver, by_source: dict[str, int], *more) -> tuple:
    """One entry: each source's price, in the order given, then `more` commands."""
    time_ms = driver.time_ms + 1_000
    commands = [signed_price(driver.next_id("px"), MARKET, s, p, time_ms - 1) for s, p in by_source.items()]
    return driver.run(*commands, *more, time_ms=time_ms)


# Applied one at a time, these would mark 9,400 after b (a and b at 9,400: -6%) before c and a
# bring the median back to 10,000: the "intermediate mark".
SWING = {"b": 9_400, "c": 10_300, "a": 10_000}


def test_the_breaker_sees_only_the_entry_s_final_mark():
    driver = market(band_bps=500, band_window_ms=600_000, cooldown_ms=60_000)
    results = prices(driver, SWING)
    assert [r.code for r in results] == [ResultCode.OK] * 3
    assert [e for e in driver.events if isinstance(e, BreakerTripped)] == []
    assert driver.state.markets[MARKET].status == MarketStatus.ACTIVE
    assert driver.state.markets[MARKET].mark_price == 10_000


def test_nobody_is_liquidated_at_an_intermediate_mark():
    driver = market(band_bps=0)
    driver.deposit("long", 105_000)  # 100 at 10,000: equity 45,000 at 9,400, below its 5% maintenance (47,000)
    driver.deposit("short", 10_000_000)
    assert driver.trade("long", "short", 10_000, 100).ok
    prices(driver, SWING)
    assert [e for e in driver.events if isinstance(e, Liquidation)] == []
    assert driver.size("long") == 100


def test_a_trade_in_the_entry_is_judged_at_the_mark_the_entry_started_with_whatever_its_place():
    # trade_band 1%: 10,000 is within it of the old mark and outside it of the new one (10,500).
    driver = market(trade_band_bps=100)
    driver.deposit("alice", 10_000_000)
    driver.deposit("bob", 10_000_000)
    move = {"a": 10_500, "b": 10_500, "c": 10_500}
    after = prices(driver, move, SettleTrade(driver.next_id("tr"), MARKET, "alice", "bob", 10_000, 1))
    assert after[-1].ok
    assert driver.state.markets[MARKET].mark_price == 10_500
    trade = SettleTrade(driver.next_id("tr"), MARKET, "alice", "bob", 10_500, 1)
    time_ms = driver.time_ms + 1_000
    back = [signed_price(driver.next_id("px"), MARKET, s, 10_000, time_ms - 1) for s in SOURCES]
    before = driver.run(trade, *back, time_ms=time_ms)
    assert before[0].ok  # at 10,500, the mark the entry started with, though the entry moves it back
    assert driver.state.markets[MARKET].mark_price == 10_000


def test_each_price_update_still_gets_its_own_result():
    driver = market()
    results = prices(driver, {"a": 20_000, "b": 10_050, "c": 0})
    assert [r.code for r in results] == [ResultCode.PRICE_OUTLIER, ResultCode.OK, ResultCode.INVALID_PRICE]
    assert driver.state.markets[MARKET].mark_price == 10_000  # b and c counted; a excluded
