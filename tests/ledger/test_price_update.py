"""PriceUpdate: signed prices from registered sources, the median mark and the oracle verdicts."""

from node.identity.keys import private_key_from_seed, sign_price
from node.ledger.commands import PriceUpdate
from node.ledger.events import OracleVerdictChanged
from node.ledger.records import MarketStatus, OracleVerdict, StatusReason
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, create_market, oracle_source, signed_price

STALE_AFTER_MS = 60_000


def three_source_market(**overrides) -> LedgerDriver:
    """BTC-PERP priced by sources a, b and c, two of which must be fresh."""
    driver = LedgerDriver()
    params = dict(sources=tuple(oracle_source(s) for s in ("a", "b", "c")), min_sources=2, stale_after_ms=STALE_AFTER_MS)
    params.update(overrides)
    assert driver.one(create_market(**params)).ok
    return driver


def verdict(driver: LedgerDriver) -> OracleVerdict:
    return driver.state.markets[MARKET].oracle_verdict


def mark(driver: LedgerDriver) -> int:
    return driver.state.markets[MARKET].mark_price


# -- authentication and validation --------------------------------------------------------------


def test_a_signed_price_sets_the_mark_and_its_source_time():
    driver = LedgerDriver()
    driver.one(create_market())
    source_time = driver.time_ms + 123
    assert driver.one(signed_price("p1", MARKET, "src-a", 50_000, source_time)).code == ResultCode.OK
    market = driver.state.markets[MARKET]
    assert (market.mark_price, market.mark_time_ms, market.oracle_verdict) == (50_000, source_time, OracleVerdict.VALID)


def test_an_unsigned_price_is_refused_and_changes_nothing():
    driver = LedgerDriver()
    driver.one(create_market())
    before = driver.state.oracle_sources[MARKET]["src-a"], driver.state.markets[MARKET]
    assert driver.one(PriceUpdate("p1", MARKET, "src-a", 50_000, driver.time_ms + 1)).code == ResultCode.INVALID_SIGNATURE
    assert (driver.state.oracle_sources[MARKET]["src-a"], driver.state.markets[MARKET]) == before


def test_a_price_signed_by_another_key_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    forged = sign_price(private_key_from_seed("mallory"), MARKET, "src-a", 50_000, 123)
    result = driver.one(PriceUpdate("p1", MARKET, "src-a", 50_000, 123, forged))
    assert result.code == ResultCode.INVALID_SIGNATURE
    assert mark(driver) == 0


def test_a_signature_over_a_different_price_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    genuine = signed_price("p0", MARKET, "src-a", 50_000, 123)
    tampered = PriceUpdate("p1", MARKET, "src-a", 5_000_000, 123, genuine.signature)
    assert driver.one(tampered).code == ResultCode.INVALID_SIGNATURE


def test_a_source_the_market_did_not_register_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    assert driver.one(signed_price("p1", MARKET, "src-z", 50_000, 123)).code == ResultCode.INVALID_SOURCE


def test_price_for_unknown_market_is_refused():
    assert LedgerDriver().one(signed_price("p1", "ETH-PERP", "src-a", 1, 1)).code == ResultCode.UNKNOWN_MARKET


def test_malformed_source_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    assert driver.one(PriceUpdate("p1", MARKET, "", 50_000, 1)).code == ResultCode.INVALID_SOURCE


def test_out_of_range_price_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    assert driver.one(PriceUpdate("p1", MARKET, "src-a", 2**63, 1)).code == ResultCode.INVALID_PRICE


def test_a_non_positive_price_is_invalid_and_ignored():
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(50_000)
    assert driver.one(signed_price("p1", MARKET, "src-a", 0, driver.time_ms + 1)).code == ResultCode.INVALID_PRICE
    assert driver.one(signed_price("p2", MARKET, "src-a", -5, driver.time_ms + 1)).code == ResultCode.INVALID_PRICE
    assert mark(driver) == 50_000
    assert verdict(driver) == OracleVerdict.VALID


def test_a_replayed_price_is_refused_as_stale():
    driver = LedgerDriver()
    driver.one(create_market())
    first = signed_price("p1", MARKET, "src-a", 50_000, driver.time_ms + 100)
    assert driver.one(first).ok
    replayed = PriceUpdate("p2", MARKET, "src-a", first.price, first.source_time_ms, first.signature)
    assert driver.one(replayed).code == ResultCode.STALE_PRICE


def test_a_price_not_newer_than_the_sources_last_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    driver.one(signed_price("p1", MARKET, "src-a", 50_000, driver.time_ms + 100))
    assert driver.one(signed_price("p2", MARKET, "src-a", 40_000, driver.time_ms - 900)).code == ResultCode.STALE_PRICE
    assert mark(driver) == 50_000


def test_a_source_time_far_ahead_of_ledger_time_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    ahead = driver.time_ms + 1_000 + 10_001  # the entry is stamped time_ms + 1,000
    assert driver.one(signed_price("p1", MARKET, "src-a", 50_000, ahead)).code == ResultCode.STALE_PRICE


def test_a_price_older_than_stale_after_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    old = driver.time_ms + 1_000 - 60_001
    assert driver.one(signed_price("p1", MARKET, "src-a", 50_000, old)).code == ResultCode.STALE_PRICE


# -- the median -------------------------------------------------------------------------------


def test_the_mark_is_the_median_so_one_lying_source_cannot_move_it():
    # The median alone, with the outlier rule off (with it, c is not even counted:
    # test_source_judging.py).
    driver = three_source_market(outlier_bps=0)
    driver.price(50_000, source="a")
    driver.price(50_100, source="b")
    driver.price(1_000_000, source="c")  # 20x
    assert mark(driver) == 50_100
    assert verdict(driver) == OracleVerdict.VALID


def test_with_two_fresh_sources_the_mark_is_the_lower_price():
    driver = three_source_market()
    driver.price(50_000, source="a")
    driver.price(50_100, source="b")
    assert mark(driver) == 50_000


# -- STALE ------------------------------------------------------------------------------------


def test_fewer_fresh_sources_than_min_sources_is_stale_and_sets_no_mark():
    driver = three_source_market()
    driver.price(50_000, source="a")
    assert mark(driver) == 0
    assert verdict(driver) == OracleVerdict.STALE


def test_a_market_goes_stale_in_ledger_time_when_its_sources_age_out():
    driver = three_source_market()
    driver.price(50_000, source="a")
    driver.price(50_100, source="b")
    a_time = driver.state.oracle_sources[MARKET]["a"].source_time_ms
    driver.run(time_ms=a_time + STALE_AFTER_MS)  # a is still fresh, exactly at its limit
    assert verdict(driver) == OracleVerdict.VALID
    driver.run(time_ms=a_time + STALE_AFTER_MS + 1)  # an entry with no commands: the timer fires
    market = driver.state.markets[MARKET]
    assert (market.oracle_verdict, market.status, market.status_reason) == (
        OracleVerdict.STALE, MarketStatus.REDUCE_ONLY, StatusReason.ORACLE_STALE,
    )
    assert market.mark_price == 50_000  # kept, but nobody trades up or liquidates at it
    assert OracleVerdictChanged(MARKET, OracleVerdict.STALE, 1, 50_000) in driver.events


def test_a_stale_market_is_reduce_only():
    driver = three_source_market()
    driver.price(50_000, source="a")
    driver.price(50_000, source="b")
    driver.deposit("alice", 10_000_000)
    driver.deposit("bob", 10_000_000)
    assert driver.trade("alice", "bob", 50_000, 10).ok
    driver.run(time_ms=driver.time_ms + STALE_AFTER_MS + 1_000)
    assert driver.trade("alice", "bob", 50_000, 1).code == ResultCode.REDUCE_ONLY
    assert driver.trade("bob", "alice", 50_000, 1).ok  # reduces both sides


def test_fresh_sources_returning_make_the_market_valid_and_active_again():
    driver = three_source_market()
    driver.price(50_000, source="a")
    driver.price(50_000, source="b")
    driver.run(time_ms=driver.time_ms + STALE_AFTER_MS + 1_000)
    driver.price(49_000, source="b")
    assert verdict(driver) == OracleVerdict.STALE  # one fresh source is not enough
    driver.price(49_500, source="c")
    market = driver.state.markets[MARKET]
    assert (market.oracle_verdict, market.status, market.mark_price) == (OracleVerdict.VALID, MarketStatus.ACTIVE, 49_000)


# -- a repeated price is no clamp by itself (clamps: test_source_judging.py) -------------------


def test_a_price_repeated_within_stale_after_is_accepted():
    driver = LedgerDriver()
    driver.one(create_market(stale_after_ms=STALE_AFTER_MS))
    first = driver.time_ms + 1
    driver.price(100)
    for _ in range(5):
        assert driver.price(100).ok
    assert driver.state.oracle_sources[MARKET]["src-a"].price_since_ms == first


def test_a_price_repeated_past_stale_after_is_no_clamp_by_itself():
    # Issue 18: the old rule (a repeat longer than stale_after_ms is PRICE_CLAMPED) refused honest
    # feeds of a flat market. A lone source has nobody moving beside it: a quiet market.
    driver = LedgerDriver()
    driver.one(create_market(stale_after_ms=STALE_AFTER_MS, clamp_after_ms=10_000))
    for _ in range(70):  # one update a second at the same price for 70 s
        assert driver.price(100).ok
    market = driver.state.markets[MARKET]
    assert (market.oracle_verdict, market.status, market.mark_price) == (OracleVerdict.VALID, MarketStatus.ACTIVE, 100)


# -- TOO_VOLATILE ----------------------------------------------------------------------------


def test_a_mark_far_from_its_time_weighted_average_is_too_volatile():
    driver = LedgerDriver()
    driver.one(create_market(volatility_bps=500, twap_window_ms=60_000, band_bps=0))
    driver.price(50_000)
    driver.price(50_000)
    driver.price(44_000)  # -12% against an average of 50,000
    market = driver.state.markets[MARKET]
    assert (market.oracle_verdict, market.mark_price) == (OracleVerdict.TOO_VOLATILE, 44_000)
    assert OracleVerdictChanged(MARKET, OracleVerdict.TOO_VOLATILE, 1, 44_000) in driver.events


def test_the_average_catches_up_with_a_mark_that_holds_and_the_verdict_returns_to_valid():
    driver = LedgerDriver()
    driver.one(create_market(volatility_bps=500, twap_window_ms=60_000, band_bps=0))
    driver.price(50_000)
    driver.price(44_000)
    verdicts = []
    for _ in range(60):
        driver.price(44_000)
        verdicts.append(verdict(driver))
    assert verdicts[0] == OracleVerdict.TOO_VOLATILE
    assert verdicts[-1] == OracleVerdict.VALID
    assert driver.state.markets[MARKET].twap < 44_000 * 105 // 100
