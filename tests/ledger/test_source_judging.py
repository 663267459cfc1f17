"""Sources judged against the others (issue 18; docs/design.md#outliers-and-clamps): a print far
from the other sources' median is an OUTLIER at once, a price a source keeps while the others move
is a CLAMP after clamp_after_ms, and a market where every source is flat is quiet, not clamped."""

from node.ledger.commands import CreateMarket
from node.ledger.events import SourceClamped, SourceOutlier
from node.ledger.limits import outlier_bps_default
from node.ledger.records import MarketStatus, OracleVerdict, SourceExclusion, StatusReason
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, create_market, oracle_source, signed_price

SOURCES = ("a", "b", "c")
STALE_AFTER_MS = 120_000
CLAMP_AFTER_MS = 60_000


def market_of(*sources: str, **params) -> LedgerDriver:
    """BTC-PERP priced by `sources` (two fresh needed unless said), band breaker off."""
    driver = LedgerDriver()
    listing = dict(sources=tuple(oracle_source(s) for s in sources), min_sources=min(2, len(sources)),
                   stale_after_ms=STALE_AFTER_MS, band_bps=0)
    listing.update(params)
    assert driver.one(create_market(**listing)).ok
    return driver


def quote(driver: LedgerDriver, source: str, price: int):
    """One signed price in its own entry, 1 s after the previous one."""
    return driver.price(price, source=source)


def quote_each(driver: LedgerDriver, prices: dict[str, int]) -> tuple:
    """Every source's price in one entry, in the order given."""
    time_ms = driver.time_ms + 1_000
    commands = [signed_price(driver.next_id("px"), MARKET, s, p, time_ms - 1) for s, p in prices.items()]
    return tuple(r.code for r in driver.run(*commands, time_ms=time_ms))


def source(driver: LedgerDriver, name: str):
    return driver.state.oracle_sources[MARKET][name]


def mark(driver: LedgerDriver) -> int:
    return driver.state.markets[MARKET].mark_price


def events(driver: LedgerDriver, kind: type) -> list:
    return [e for e in driver.events if isinstance(e, kind)]


# -- OUTLIER --------------------------------------------------------------------------------------


def test_new_markets_judge_outliers_beyond_ten_percent_unless_listed_otherwise():
    assert CreateMarket.__dataclass_fields__["outlier_bps"].default == outlier_bps_default == 1_000
    assert CreateMarket.__dataclass_fields__["clamp_after_ms"].default == 0


def test_a_20x_pump_print_is_an_outlier_excluded_at_once():
    driver = market_of(*SOURCES)
    quote(driver, "a", 50_000)
    quote(driver, "b", 50_100)
    assert quote(driver, "c", 1_000_000).code == ResultCode.PRICE_OUTLIER
    assert mark(driver) == 50_000  # the lower median of a and b: c is not counted
    pumped = source(driver, "c")
    assert (pumped.price, pumped.exclusion, pumped.outlier_prints, pumped.counted) == (1_000_000, SourceExclusion.OUTLIER, 1, False)
    # judged against the nearer of the others' two middle prices
    assert events(driver, SourceOutlier) == [SourceOutlier(MARKET, "c", 1_000_000, 50_100, 1)]


def test_a_1_dollar_print_among_moving_sources_is_an_outlier_at_once():
    driver = market_of(*SOURCES)
    quote(driver, "a", 50_000)
    quote(driver, "b", 50_100)
    assert quote(driver, "c", 1).code == ResultCode.PRICE_OUTLIER
    assert mark(driver) == 50_000
    assert events(driver, SourceOutlier) == [SourceOutlier(MARKET, "c", 1, 50_000, 1)]


def test_every_outlier_print_is_counted_and_streamed():
    driver = market_of(*SOURCES)
    quote(driver, "a", 50_000)
    quote(driver, "b", 50_000)
    for _ in range(3):
        assert quote(driver, "c", 1_000_000).code == ResultCode.PRICE_OUTLIER
    assert source(driver, "c").outlier_prints == 3
    assert [e.outlier_prints for e in events(driver, SourceOutlier)] == [1, 2, 3]


def test_a_print_exactly_at_the_band_counts_and_one_tick_beyond_is_an_outlier():
    driver = market_of(*SOURCES)
    quote(driver, "a", 50_000)
    quote(driver, "b", 50_100)
    assert quote(driver, "c", 55_110).ok  # 50,100 + 10%: within the band
    assert quote(driver, "c", 55_111).code == ResultCode.PRICE_OUTLIER


def test_an_outlier_counts_again_once_a_print_is_back_within_the_band():
    driver = market_of(*SOURCES)
    quote(driver, "a", 50_000)
    quote(driver, "b", 50_100)
    quote(driver, "c", 1_000_000)
    assert quote(driver, "c", 50_050).ok
    assert (source(driver, "c").exclusion, source(driver, "c").outlier_prints) == (SourceExclusion.NONE, 1)
    assert mark(driver) == 50_050  # counted again: the median of three


def test_with_fewer_than_two_other_fresh_sources_no_print_is_judged_an_outlier():
    # One other source cannot say which of the two is wrong: min_sources and the band breaker
    # guard that case.
    driver = market_of(*SOURCES)
    quote(driver, "a", 50_000)
    assert quote(driver, "b", 1_000_000).ok
    assert mark(driver) == 50_000  # the lower of two


def test_an_outlier_is_judged_against_sources_that_are_fresh():
    driver = market_of(*SOURCES)
    quote(driver, "a", 50_000)
    quote(driver, "b", 50_000)
    driver.run(time_ms=driver.time_ms + STALE_AFTER_MS)  # a and b age out
    quote(driver, "a", 60_000)
    assert quote(driver, "c", 100_000).ok  # b is stale: only one other fresh source, nobody is judged
    assert mark(driver) == 60_000


def test_outlier_bps_zero_turns_the_rule_off():
    driver = market_of(*SOURCES, outlier_bps=0)
    quote(driver, "a", 50_000)
    quote(driver, "b", 50_100)
    assert quote(driver, "c", 1_000_000).ok
    assert mark(driver) == 50_100  # the median alone


def test_a_real_move_reported_in_one_entry_counts_every_print_the_others_confirm():
    # Each print is judged as it comes: the first to report +15% is judged against the old prices
    # (PRICE_OUTLIER); the next two are judged against it and the old one, and count. At the end
    # of the entry the outlier is judged again against the others' latest prints: confirmed.
    driver = market_of(*SOURCES)
    quote_each(driver, {"a": 100_000, "b": 100_000, "c": 100_000})
    codes = quote_each(driver, {"a": 115_000, "b": 115_100, "c": 114_900})
    assert codes == (ResultCode.PRICE_OUTLIER, ResultCode.OK, ResultCode.OK)
    assert (source(driver, "a").exclusion, source(driver, "a").outlier_prints) == (SourceExclusion.NONE, 1)
    assert mark(driver) == 115_000  # the median of three (without a: the lower of b and c, 114,900)


def test_a_move_most_sources_report_counts_though_its_first_reporters_are_outliers():
    # An outlier stays among the others a print is judged against: c's +20% is judged against a's
    # and b's (flagged) +20% and d's and e's old prices, and counts; then a and b are confirmed.
    # Leaving flagged sources out, c would be judged against d and e alone, and the move, reported
    # by three of five sources, would stay out until d or e reported it.
    driver = market_of("a", "b", "c", "d", "e")
    quote_each(driver, dict.fromkeys("abcde", 100_000))
    codes = quote_each(driver, dict.fromkeys("abc", 120_000))
    assert codes == (ResultCode.PRICE_OUTLIER, ResultCode.PRICE_OUTLIER, ResultCode.OK)
    assert [source(driver, s).exclusion for s in "abc"] == [SourceExclusion.NONE] * 3
    assert mark(driver) == 120_000


def test_an_outlier_counts_again_once_the_others_move_to_it():
    driver = market_of(*SOURCES)
    quote_each(driver, {"a": 100_000, "b": 100_000, "c": 100_000})
    assert quote(driver, "a", 115_000).code == ResultCode.PRICE_OUTLIER
    assert mark(driver) == 100_000
    quote_each(driver, {"b": 115_100, "c": 114_900})  # a prints nothing: the market came to it
    assert source(driver, "a").exclusion == SourceExclusion.NONE
    assert mark(driver) == 115_000


# -- CLAMPED -------------------------------------------------------------------------------------


def walk(driver: LedgerDriver, stuck: str, stuck_price: int, movers: dict[str, int], seconds: int) -> list:
    """Every second for `seconds`: the stuck source repeats its price, each mover moves one unit."""
    codes = []
    for step in range(1, seconds + 1):
        prices = {name: price + step for name, price in movers.items()}
        codes.append(quote_each(driver, {stuck: stuck_price, **prices})[0])
    return codes


def test_a_source_repeating_a_price_while_another_moves_is_clamped_after_clamp_after_ms():
    driver = market_of(*SOURCES, clamp_after_ms=CLAMP_AFTER_MS)
    quote_each(driver, {"a": 50_000, "b": 50_000, "c": 50_000})
    since = source(driver, "a").price_since_ms
    codes = walk(driver, "a", 50_000, {"b": 50_000, "c": 50_000}, 61)
    # its price unchanged for 60 s of source time at the 60th repeat
    assert codes == [ResultCode.OK] * 59 + [ResultCode.PRICE_CLAMPED] * 2
    assert source(driver, "a").exclusion == SourceExclusion.CLAMPED
    assert events(driver, SourceClamped) == [SourceClamped(MARKET, "a", 50_000, since)]  # once, when it became clamped
    assert mark(driver) == 50_061  # b and c


def test_a_1_dollar_clamp_while_the_others_move_is_excluded_after_clamp_after_ms_not_hours():
    # The faulty feed, with the outlier rule off to show the clamp rule alone (with it on,
    # the first $1 print is an outlier at once).
    driver = market_of("a", "b", "c", "d", outlier_bps=0, clamp_after_ms=CLAMP_AFTER_MS)
    quote_each(driver, {"a": 100, "b": 50_000, "c": 50_010, "d": 50_020})
    codes = walk(driver, "a", 100, {"b": 50_000, "c": 50_010, "d": 50_020}, 60)
    assert codes[-1] == ResultCode.PRICE_CLAMPED and codes.count(ResultCode.PRICE_CLAMPED) == 1
    assert mark(driver) == 50_070  # the lower median of b, c and d only


def test_every_source_flat_is_a_quiet_market_and_nobody_is_clamped():
    # August 2015: honest feeds repeating a genuinely flat price were refused as clamped.
    driver = market_of(*SOURCES, clamp_after_ms=CLAMP_AFTER_MS)
    for _ in range(3 * CLAMP_AFTER_MS // 1_000):
        assert quote_each(driver, {"a": 50_000, "b": 50_010, "c": 49_990}) == (ResultCode.OK,) * 3
    market = driver.state.markets[MARKET]
    assert (market.oracle_verdict, market.status, market.mark_price) == (OracleVerdict.VALID, MarketStatus.ACTIVE, 50_000)
    assert events(driver, SourceClamped) == []


def test_an_honest_flat_feed_is_not_clamped_by_an_outlier_that_moves():
    # Only a counted source's move makes another's flat price suspect: a pumping outlier that
    # jitters cannot get honest flat feeds excluded.
    driver = market_of(*SOURCES, clamp_after_ms=CLAMP_AFTER_MS)
    quote_each(driver, {"a": 50_000, "b": 50_000, "c": 50_000})
    for step in range(1, 2 * CLAMP_AFTER_MS // 1_000):
        codes = quote_each(driver, {"c": 1_000_000 + step, "a": 50_000, "b": 50_000})
        assert codes == (ResultCode.PRICE_OUTLIER, ResultCode.OK, ResultCode.OK)
    assert events(driver, SourceClamped) == []


def test_a_clamped_source_counts_again_once_it_moves():
    driver = market_of(*SOURCES, clamp_after_ms=CLAMP_AFTER_MS)
    quote_each(driver, {"a": 50_000, "b": 50_000, "c": 50_000})
    walk(driver, "a", 50_000, {"b": 50_000, "c": 50_000}, 61)
    assert quote(driver, "a", 50_062).ok
    assert source(driver, "a").exclusion == SourceExclusion.NONE
    assert mark(driver) == 50_061  # a counts again: the median of 50,062, 50,061, 50,061


def test_clamp_after_ms_zero_turns_the_rule_off():
    driver = market_of(*SOURCES)
    quote_each(driver, {"a": 50_000, "b": 50_000, "c": 50_000})
    assert set(walk(driver, "a", 50_000, {"b": 50_000, "c": 50_000}, 2 * CLAMP_AFTER_MS // 1_000)) == {ResultCode.OK}


def test_a_clamp_leaving_fewer_than_min_sources_makes_the_market_stale_and_reduce_only():
    driver = market_of("feed", "venue", clamp_after_ms=CLAMP_AFTER_MS)
    codes = walk(driver, "feed", 10_000, {"venue": 10_000}, 61)  # feed's first print is at step 1
    assert codes[-1] == ResultCode.PRICE_CLAMPED and codes.count(ResultCode.PRICE_CLAMPED) == 1
    market = driver.state.markets[MARKET]
    assert (market.oracle_verdict, market.status, market.status_reason) == (
        OracleVerdict.STALE, MarketStatus.REDUCE_ONLY, StatusReason.ORACLE_STALE,
    )


def test_a_clamped_source_stays_excluded_until_it_moves_even_once_the_others_go_quiet():
    driver = market_of(*SOURCES, clamp_after_ms=CLAMP_AFTER_MS, min_sources=1)
    quote_each(driver, {"a": 50_000, "b": 50_000, "c": 50_000})
    walk(driver, "a", 50_000, {"b": 50_000, "c": 50_000}, 61)
    driver.run(time_ms=driver.time_ms + STALE_AFTER_MS)  # b and c go quiet and age out
    assert quote(driver, "a", 50_000).code == ResultCode.PRICE_CLAMPED
    assert driver.state.markets[MARKET].oracle_verdict == OracleVerdict.STALE


def test_an_outlier_stays_excluded_while_too_few_other_sources_are_fresh_to_judge_it_back():
    # LUNA 2022: the venues suspend, and a feed stuck at its floor must not become the mark.
    driver = market_of(*SOURCES, min_sources=1)
    quote_each(driver, {"a": 1_000, "b": 1_000, "c": 1_000})
    quote_each(driver, {"b": 700, "c": 700})  # the venues fall 30%: each judged against a and the other
    assert quote(driver, "a", 1_000).code == ResultCode.PRICE_OUTLIER
    driver.run(time_ms=driver.time_ms + STALE_AFTER_MS)  # b and c go quiet and age out
    result = quote(driver, "a", 1_000)
    assert (result.code, source(driver, "a").outlier_prints) == (ResultCode.PRICE_OUTLIER, 1)  # not judged again
    market = driver.state.markets[MARKET]
    assert (market.oracle_verdict, market.status, market.mark_price) == (OracleVerdict.STALE, MarketStatus.REDUCE_ONLY, 700)


def test_a_source_never_judged_an_outlier_counts_while_too_few_others_are_fresh():
    driver = market_of(*SOURCES, min_sources=1)
    quote_each(driver, {"a": 1_000, "b": 1_000, "c": 1_000})
    driver.run(time_ms=driver.time_ms + STALE_AFTER_MS)
    assert quote(driver, "a", 2_000).ok
    assert mark(driver) == 2_000


# -- listing and SET_MARKET_PARAMS ---------------------------------------------------------------


def test_a_listing_outside_the_bounds_is_refused():
    from node.ledger.limits import clamp_after_ms_max, outlier_bps_max

    for params in ({"outlier_bps": -1}, {"outlier_bps": outlier_bps_max + 1}, {"clamp_after_ms": -1},
                   {"clamp_after_ms": clamp_after_ms_max + 1}):
        assert LedgerDriver().one(create_market(**params)).code == ResultCode.INVALID_MARKET_PARAMS, params


def test_a_quorum_narrowing_the_band_acts_at_once_and_switching_a_rule_off_waits_the_timelock():
    from node.ledger.commands import ActionKind

    from .governance import governed_market

    governed = governed_market()
    market = lambda: governed.driver.state.markets[MARKET]  # noqa: E731
    # Narrower or shorter tightens: guardians, at once (bounded governance: node keys only halt).
    for params in ({"outlier_bps": 500}, {"clamp_after_ms": 60_000}):
        assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params=params),
                            "node-1", "node-2").code == ResultCode.WRONG_ROLE
        assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params=params),
                            "guardian-1", "guardian-2").ok
    assert (market().outlier_bps, market().clamp_after_ms) == (500, 60_000)
    # Off loosens: guardians only, behind the timelock.
    off = governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"outlier_bps": 0})
    assert governed.act(off, "node-1", "node-2").code == ResultCode.WRONG_ROLE
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"outlier_bps": 0}),
                        "guardian-1", "guardian-2").ok
    assert market().outlier_bps == 500
