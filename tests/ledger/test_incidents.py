"""Real incidents, replayed against the guards: each asserts the guards' exact decisions and the
balances they leave, not merely that nothing raised. (The driver checks every invariant after
every entry.)"""

from node.ledger import INSURANCE_FUND
from node.ledger.events import (
    BreakerTripped, Deleveraged, Liquidation, MarketStatusChanged, OracleVerdictChanged, SourceClamped, SourceOutlier,
)
from node.ledger.fund_equity import fund_equity
from node.ledger.records import AccountStatus, GlobalMode, MarketStatus, OracleVerdict, StatusReason
from node.ledger.results import ResultCode
from node.ledger.state import market_fund

from .driver import LedgerDriver, create_market, oracle_source, signed_price


def listed(driver: LedgerDriver, market: str, sources: tuple[str, ...], **params) -> None:
    defaults = dict(
        market=market, sources=tuple(oracle_source(s) for s in sources), min_sources=1,
        trade_band_bps=100_000, band_bps=0, open_interest_cap=10**12,
    )
    defaults.update(params)
    assert driver.one(create_market(**defaults)).ok


def quote(driver: LedgerDriver, market: str, source: str, price: int, at_ms: int | None = None):
    """One signed price in its own entry; the source time is the entry's time less 1 ms."""
    time_ms = at_ms if at_ms is not None else driver.time_ms + 1_000
    (result,) = driver.run(signed_price(driver.next_id("px"), market, source, price, time_ms - 1), time_ms=time_ms)
    return result


def quote_all(driver: LedgerDriver, market: str, sources: tuple[str, ...], price: int, at_ms: int) -> tuple:
    """Every source's signed price in one entry (feeds landing in one block); their result codes."""
    commands = [signed_price(driver.next_id("px"), market, s, price, at_ms - 1) for s in sources]
    return tuple(r.code for r in driver.run(*commands, time_ms=at_ms))


def events_of(driver: LedgerDriver, kind: type, since: int = 0) -> list:
    return [e for e in driver.events[since:] if isinstance(e, kind)]


# -- Mango Markets, October 2022 -----------------------------------------------------------------
# The attacker went long a thin perpetual, pumped its spot price on the few venues the oracle read
# ~20x, and borrowed against the unrealized profit. Here: one pumped source among three is an
# OUTLIER, not counted at all (issue 18); with one source the band breaker halts; and unrealized
# profit is never withdrawable or margin.


def mango_market(sources: tuple[str, ...], min_sources: int) -> LedgerDriver:
    driver = LedgerDriver()
    listed(driver, "MNGO-PERP", sources, min_sources=min_sources, band_bps=2_000, band_window_ms=60_000, cooldown_ms=60_000)
    for source in sources:
        quote(driver, "MNGO-PERP", source, 100)
    driver.deposit("eisenberg", 1_000_000)
    driver.deposit("maker", 200_000)
    assert driver.trade("eisenberg", "maker", 100, 1_000, market="MNGO-PERP").ok
    return driver


def test_mango_one_pumped_source_among_three_is_an_outlier_and_does_not_move_the_mark():
    driver = mango_market(("a", "b", "c"), min_sources=2)
    quote(driver, "MNGO-PERP", "a", 101)
    assert quote(driver, "MNGO-PERP", "c", 2_000).code == ResultCode.PRICE_OUTLIER  # the pumped venue: 20x
    market = driver.state.markets["MNGO-PERP"]
    # Issue 18: the mark was 101, the lower median of 101 (a), 100 (b) and 2,000 (c), so the pump
    # still counted; now c is 20x the others' median, excluded at once, and the mark is the lower
    # of a and b.
    assert (market.mark_price, market.status, market.oracle_verdict) == (100, MarketStatus.ACTIVE, OracleVerdict.VALID)
    assert events_of(driver, SourceOutlier) == [SourceOutlier("MNGO-PERP", "c", 2_000, 101, 1)]
    assert events_of(driver, BreakerTripped) == []
    assert driver.size("maker", "MNGO-PERP") == -1_000  # the short is not liquidated at the pump


def test_mango_a_single_pumped_source_trips_the_band_breaker():
    driver = mango_market(("a",), min_sources=1)
    quote(driver, "MNGO-PERP", "a", 2_000)
    market = driver.state.markets["MNGO-PERP"]
    assert (market.mark_price, market.status, market.status_reason) == (2_000, MarketStatus.HALTED, StatusReason.PRICE_BAND)
    assert events_of(driver, BreakerTripped) == [BreakerTripped("MNGO-PERP", 2_000, 100, driver.time_ms + 60_000)]
    # the maker's equity at 2,000 is -1,700,000, but nobody is liquidated at a tripping price
    assert events_of(driver, Liquidation) == []
    assert driver.size("maker", "MNGO-PERP") == -1_000


def test_mango_unrealized_profit_is_never_withdrawable():
    driver = mango_market(("a", "b", "c"), min_sources=2)
    quote(driver, "MNGO-PERP", "a", 115)
    quote(driver, "MNGO-PERP", "b", 115)  # a real +15%: eisenberg is up 15,000
    result = driver.withdraw("eisenberg", 988_501)
    assert result.code == ResultCode.INSUFFICIENT_COLLATERAL
    # collateral 1,000,000 less initial margin 10% of 1,000 x 115: the profit counts for nothing
    assert result.message == "withdrawable 988500"


def test_mango_nothing_is_withdrawable_against_a_halted_mark():
    driver = mango_market(("a",), min_sources=1)
    quote(driver, "MNGO-PERP", "a", 2_000)
    assert driver.withdraw("eisenberg", 1).code == ResultCode.STALE_PRICE
    assert driver.collateral("eisenberg") == 1_000_000


def test_mango_unrealized_profit_at_a_halting_price_is_not_margin_elsewhere():
    driver = mango_market(("a",), min_sources=1)
    listed(driver, "BTC-PERP", ("btc",))
    quote(driver, "BTC-PERP", "btc", 50_000)
    driver.deposit("lender", 100_000_000)
    quote(driver, "MNGO-PERP", "a", 2_000)
    # With the paper profit of 1,900,000 counted, equity 2,900,000 less 200,000 of MNGO initial
    # margin would carry 540 BTC-PERP at 5,000 initial margin each; without it, 160 at most.
    assert driver.trade("eisenberg", "lender", 50_000, 161, market="BTC-PERP").code == ResultCode.INSUFFICIENT_MARGIN
    assert driver.trade("eisenberg", "lender", 50_000, 160, market="BTC-PERP").ok


# -- LUNA, May 2022 ------------------------------------------------------------------------------
# Chainlink's LUNA feed hit its hard-coded minAnswer ($0.10) and kept reporting it while the
# market traded far below; protocols kept valuing LUNA at the clamp. Here (issue 18): a feed stuck
# at its floor while the venues trade far below is an OUTLIER at once; one repeating its price
# while another source moves is CLAMPED after clamp_after_ms; and a lone feed repeating a price
# is no clamp by itself (nobody moves beside it: a flat market looks the same).

LUNA = "LUNA-PERP"


def luna_crash() -> LedgerDriver:
    """'bull' is long 1,000 @ 12 when the feed falls to 10 and sticks there."""
    driver = LedgerDriver()
    listed(driver, LUNA, ("feed", "venue"), maintenance_margin_bps=1_000, initial_margin_bps=1_000,
           liquidation_slice_bps=1_000, stale_after_ms=60_000, clamp_after_ms=30_000)
    quote(driver, LUNA, "feed", 12)
    quote(driver, LUNA, "venue", 12)
    for name, amount in (("bull", 2_100), ("maker", 1_000_000), (INSURANCE_FUND, 1_000_000)):
        driver.deposit(name, amount)
    assert driver.trade("bull", "maker", 12, 1_000, market=LUNA).ok
    return driver  # from here 'venue' stops reporting


def test_luna_slices_proceed_while_the_floor_price_is_plausible():
    driver = luna_crash()
    clamp_start = driver.time_ms + 5_000
    quote(driver, LUNA, "feed", 10, at_ms=clamp_start)  # equity 100 < maintenance 1,000
    assert driver.state.accounts["bull"].status == AccountStatus.LIQUIDATING
    for _ in range(11):  # every 5 s, the same price: still within stale_after
        assert quote(driver, LUNA, "feed", 10).ok
    slices = events_of(driver, Liquidation)
    # 10% of what is left, rounded up, one slice per entry
    assert [e.size for e in slices] == [100, 90, 81, 73, 66, 59, 54, 48, 43, 39, 35, 32]
    assert driver.size("bull", LUNA) == 280


def test_luna_a_lone_feed_repeating_its_floor_is_no_clamp_by_itself():
    # Issue 18: before, the 13th print (past stale_after_ms, 60 s) was PRICE_CLAMPED and the market
    # STALE. That rule also refused honest feeds of a flat market; a lone feed has nobody moving
    # beside it, so the ledger cannot tell, and the feed counts. What stops the floor from being
    # the mark is another source reporting the market (the two tests below).
    driver = luna_crash()
    clamp_start = driver.time_ms + 5_000
    quote(driver, LUNA, "feed", 10, at_ms=clamp_start)
    for _ in range(11):
        quote(driver, LUNA, "feed", 10)
    assert quote(driver, LUNA, "feed", 10, at_ms=clamp_start + 60_002).ok
    market = driver.state.markets[LUNA]
    assert (market.mark_price, market.oracle_verdict, market.status) == (10, OracleVerdict.VALID, MarketStatus.ACTIVE)
    assert events_of(driver, SourceClamped) == []


def luna_with_venues() -> LedgerDriver:
    """'bull' is long 1,000 @ 1,200 (scaled by 100) in a market priced by the feed and two venues."""
    driver = LedgerDriver()
    listed(driver, LUNA, ("feed", "venue-a", "venue-b"), min_sources=2, maintenance_margin_bps=1_000,
           initial_margin_bps=1_000, liquidation_slice_bps=1_000, stale_after_ms=60_000, clamp_after_ms=30_000)
    assert quote_all(driver, LUNA, ("feed", "venue-a", "venue-b"), 1_200, at_ms=driver.time_ms + 1_000) == (ResultCode.OK,) * 3
    for name, amount in (("bull", 210_000), ("maker", 100_000_000), (INSURANCE_FUND, 100_000_000)):
        driver.deposit(name, amount)
    assert driver.trade("bull", "maker", 1_200, 1_000, market=LUNA).ok
    return driver


def fall_to_the_floor(driver: LedgerDriver, at_ms: int) -> int:
    """Every source reports 1,100, then (5 s later) the feed's floor, 1,000: steps within the
    outlier band. Returns the time of the second."""
    for step, price in enumerate((1_100, 1_000)):
        assert quote_all(driver, LUNA, ("feed", "venue-a", "venue-b"), price, at_ms=at_ms + step * 5_000) == (ResultCode.OK,) * 3
    return at_ms + 5_000


def test_luna_a_feed_stuck_at_its_floor_while_the_venues_trade_far_below_is_an_outlier_at_once():
    driver = luna_with_venues()
    fall_to_the_floor(driver, driver.time_ms + 5_000)
    # The venues crash to 200. The first to report it is judged against the feed and the other
    # venue, still at 1,000: an outlier; the second is judged against the first and counts, and
    # confirms it: at the end of the entry venue-a counts again.
    assert quote_all(driver, LUNA, ("venue-a", "venue-b"), 200, at_ms=driver.time_ms + 5_000) == (
        ResultCode.PRICE_OUTLIER, ResultCode.OK)
    assert driver.state.markets[LUNA].mark_price == 200  # the median of 1,000, 200 and 200
    # The feed repeats its floor: 5x the venues' 200, excluded at once, not after 60 s.
    assert quote(driver, LUNA, "feed", 1_000).code == ResultCode.PRICE_OUTLIER
    assert quote(driver, LUNA, "venue-a", 200).ok  # counts again
    market = driver.state.markets[LUNA]
    assert (market.mark_price, market.oracle_verdict, market.status) == (200, OracleVerdict.VALID, MarketStatus.ACTIVE)
    assert events_of(driver, SourceOutlier)[-1] == SourceOutlier(LUNA, "feed", 1_000, 200, 1)
    # bull, insolvent at 200, is closed: nobody is valued at the floor
    assert driver.size("bull", LUNA) == 0


def test_luna_a_feed_repeating_its_floor_while_the_venues_move_is_clamped_after_clamp_after_ms():
    driver = luna_with_venues()
    start = fall_to_the_floor(driver, driver.time_ms + 5_000)
    codes = []
    for step in range(1, 8):  # every 5 s the venues trade 5 lower, within 10% of the floor
        time_ms = start + step * 5_000
        commands = [signed_price(driver.next_id("px"), LUNA, "feed", 1_000, time_ms - 1)] + [
            signed_price(driver.next_id("px"), LUNA, venue, 1_000 - 5 * step, time_ms - 1) for venue in ("venue-a", "venue-b")]
        codes.append(driver.run(*commands, time_ms=time_ms)[0].code)
    # unchanged for 30 s of source time while the venues moved: clamped at the 6th repeat, not
    # after stale_after_ms (the old rule), nor 18 hours (the replay)
    assert codes == [ResultCode.OK] * 5 + [ResultCode.PRICE_CLAMPED] * 2
    assert events_of(driver, SourceClamped) == [SourceClamped(LUNA, "feed", 1_000, start - 1)]
    assert driver.state.markets[LUNA].mark_price == 965  # the venues alone


# -- March 12, 2020 ("Black Thursday") ------------------------------------------------------------
# BTC fell ~40% within hours and much of it in minutes; BitMEX and others liquidated in a cascade,
# insurance funds were drawn and auto-deleveraging closed winners. Here: a 40% drop over four
# minutes, liquidations in capped slices, the cascade breaker, the funds paying, ADL for the rest.

BTC = "BTC-PERP"


def march_2020() -> LedgerDriver:
    driver = LedgerDriver()
    listed(driver, BTC, ("a", "b", "c"), min_sources=2, band_bps=3_000, band_window_ms=60_000, cooldown_ms=120_000,
           liquidation_slice_bps=2_000, liquidation_window_ms=10_000, liquidation_cap_notional=1_000_000,
           cascade_bps=500, cascade_window_ms=300_000, fund_position_cap=60)
    for source in ("a", "b", "c"):
        quote(driver, BTC, source, 10_000)
    driver.deposit(INSURANCE_FUND, 30_000)
    driver.deposit(market_fund(BTC), 20_000)
    driver.deposit("whale", 100_000_000)
    driver.deposit("hodler", 5_000_000)
    assert driver.trade("hodler", "whale", 10_000, 500, market=BTC).ok  # a calm long, OI ballast
    # ten leveraged longs, 100 contracts (1,000,000 notional) each, from 2x to 9.5x
    for i, collateral in enumerate((500_000, 400_000, 300_000, 250_000, 200_000, 170_000, 150_000, 130_000, 115_000, 105_000)):
        name = f"long-{i:02d}"
        driver.deposit(name, collateral)
        assert driver.trade(name, "whale", 10_000, 100, market=BTC).ok
    return driver


def crash(driver: LedgerDriver) -> None:
    """10,000 -> 6,000 in 4% steps from all three sources, every 10 s (two minutes)."""
    price = 10_000
    while price > 6_000:
        price = max(price - price // 25, 6_000)
        assert quote_all(driver, BTC, ("a", "b", "c"), price, at_ms=driver.time_ms + 10_000) == (ResultCode.OK,) * 3


def crash_step_by_step(driver: LedgerDriver) -> list[list]:
    """The crash of `crash`, returning the events of each entry."""
    steps = []
    price = 10_000
    while price > 6_000:
        price = max(price - price // 25, 6_000)
        before = len(driver.events)
        assert quote_all(driver, BTC, ("a", "b", "c"), price, at_ms=driver.time_ms + 10_000) == (ResultCode.OK,) * 3
        steps.append(driver.events[before:])
    return steps


def is_insolvent_closeout(event: Liquidation) -> bool:
    return event.fee == 0 and event.remaining == 0 and event.fund_size == 0


def test_march_2020_liquidations_are_sliced_and_capped_per_window():
    driver = march_2020()
    for events in crash_step_by_step(driver):  # one entry per 10 s window
        slices = [e for e in events if isinstance(e, Liquidation) and not is_insolvent_closeout(e)]
        for e in slices:  # at most 20% of the position, rounded up to a contract
            assert e.size <= -(-(e.size + e.remaining) * 2_000 // 10_000)
        assert sum(e.size * e.price for e in slices) <= 1_000_000
    slices = events_of(driver, Liquidation)
    # Issue 18, one mark per entry: each crash entry sweeps once, at its final mark. Before, the
    # entry also swept after source a's print, at the entry's old mark (the lower median of a's new
    # price and b's and c's old ones), and sliced 13 of long-08's contracts there at 8,848: 27
    # slices, 5 paid by the funds. Now long-08's next slice waits for the entry's mark, 8,495, at
    # which it is insolvent and closed out at once.
    assert len(slices) == 28
    # The funds paid four insolvent longs' deficits; then the market's fund, holding 60 longs bought
    # higher, had a negative equity at the mark and paid nothing (fund_equity.py), so ADL at the
    # bankruptcy price closed the later ones.
    assert sum(1 for e in slices if e.fund_paid) == 4


def test_march_2020_the_cascade_breaker_makes_the_market_reduce_only():
    driver = march_2020()
    start = driver.time_ms
    crash(driver)
    trips = [e for e in driver.events if isinstance(e, MarketStatusChanged) and e.reason == StatusReason.CASCADE]
    # 5% of the open interest's notional liquidated within 5 minutes: at the third step (8,848)
    assert trips == [MarketStatusChanged(BTC, MarketStatus.REDUCE_ONLY, StatusReason.CASCADE, start + 30_000)]
    assert driver.trade("whale", "hodler", 6_000, 1, market=BTC).ok  # reduces both
    assert driver.trade("hodler", "whale", 6_000, 2, market=BTC).code == ResultCode.REDUCE_ONLY


def test_march_2020_the_funds_pay_until_empty_then_adl_closes_at_the_bankruptcy_price():
    driver = march_2020()
    crash(driver)
    paid = sum(e.fund_paid for e in events_of(driver, Liquidation))
    fees = sum(e.fee for e in events_of(driver, Liquidation))
    assert driver.state.insurance_fund == 0
    # Issue 18, one mark per entry: 45,806 and -147,154 before, when each crash entry also swept
    # at its old mark after source a's print (test_march_2020_liquidations_are_sliced_...).
    assert driver.collateral(market_fund(BTC)) == 30_000 + 20_000 + fees - paid == 47_789
    # ... but its equity at the mark is negative: 60 longs bought between 9,216 and 8,495, at 6,000
    assert fund_equity(driver.state, market_fund(BTC)) == -145_171
    assert driver.state.global_mode == GlobalMode.REDUCE_ONLY
    # the last insolvent long: the funds paid nothing (the global one empty, the market's in
    # deficit at the mark), so its whole loss closed by ADL at 6,929 with the mark at 6,386
    last_closeout = [e for e in events_of(driver, Liquidation) if e.account == "long-02"][-1]
    assert (last_closeout.size, last_closeout.price, last_closeout.fund_paid) == (51, 6_929, 0)
    assert Deleveraged("whale", "long-02", BTC, -51, 6_929) in driver.events
    balances = {name: (driver.collateral(name), driver.size(name, BTC)) for name in sorted(driver.state.accounts)}
    assert balances == {
        "hodler": (5_000_000, 500), "long-00": (500_000, 100), "long-01": (397_792, 64), "long-02": (0, 0),
        "long-03": (31, 0), "long-04": (55, 0), "long-05": (44, 0), "long-06": (13, 0), "long-07": (0, 0),
        "long-08": (0, 0), "long-09": (0, 0), INSURANCE_FUND: (0, 0), market_fund(BTC): (47_789, 60),
        "whale": (100_000_000, -724),
    }
    assert not any(a.status == AccountStatus.BANKRUPT for a in driver.state.accounts.values())


# -- Hyperliquid JELLY, March 2025 --------------------------------------------------------------
# A trader opened a large short on a thin token, pumped the token's spot price, and let the
# short be liquidated into the HLP vault, which then sat on a growing loss. Here: the market's
# fund takes over at most fund_position_cap contracts; the rest of the position is deleveraged
# against the longs, so the fund's exposure and loss stay capped.

JELLY = "JELLY-PERP"


def jelly() -> LedgerDriver:
    driver = LedgerDriver()
    listed(driver, JELLY, ("a", "b", "c"), min_sources=2, fund_position_cap=1_000, band_bps=5_000,
           band_window_ms=60_000, cooldown_ms=60_000)
    for source in ("a", "b", "c"):
        quote(driver, JELLY, source, 100)
    driver.deposit(INSURANCE_FUND, 1_000_000)
    driver.deposit(market_fund(JELLY), 100_000)
    driver.deposit("attacker-short", 150_000)
    driver.deposit("attacker-long", 1_100_000)
    driver.deposit("trader", 1_000_000)
    assert driver.trade("attacker-long", "attacker-short", 100, 8_000, market=JELLY).ok
    assert driver.trade("trader", "attacker-short", 100, 2_000, market=JELLY).ok
    return driver


def test_jelly_the_fund_takes_over_no_more_than_its_cap_and_adl_takes_the_rest():
    driver = jelly()
    quote(driver, JELLY, "a", 110)
    quote(driver, JELLY, "b", 110)  # +10%: equity 50,000 < maintenance 55,000
    slices = events_of(driver, Liquidation)
    assert [(e.account, e.size, e.price, e.fee, e.fund_size, e.deleveraged_size) for e in slices] == [
        ("attacker-short", -10_000, 110, 11_000, -1_000, -9_000),
    ]
    assert driver.size(market_fund(JELLY), JELLY) == -1_000
    # attacker-long: pnl 80,000 x notional 880,000 / equity 1,180,000 outranks the trader's
    # 20,000 x 220,000 / 1,020,000; both are closed at the mark, not at a loss
    assert events_of(driver, Deleveraged) == [
        Deleveraged("attacker-long", "attacker-short", JELLY, 8_000, 110),
        Deleveraged("trader", "attacker-short", JELLY, 1_000, 110),
    ]
    assert driver.collateral("attacker-short") == 150_000 - 100_000 - 11_000
    assert driver.collateral(market_fund(JELLY)) == 100_000 + 11_000


def test_jelly_a_pump_after_the_takeover_costs_the_fund_at_most_its_cap():
    driver = jelly()
    quote(driver, JELLY, "a", 110)
    quote(driver, JELLY, "b", 110)
    fund_before = driver.state.funds_total
    for price in (140, 170, 200):
        for source in ("a", "b"):
            quote(driver, JELLY, source, price)
    fund_position = driver.state.position(market_fund(JELLY), JELLY)
    # the market fund's unrealized loss at 200 is capped by its position: 1,000 x (200 - 110),
    # where taking the whole 10,000 over would have cost 900,000
    assert fund_position.size * 200 - fund_position.cost_basis == -90_000
    assert driver.state.funds_total == fund_before  # nothing realized; the global fund untouched
    assert driver.state.insurance_fund == 1_000_000
