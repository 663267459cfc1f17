"""Adaptive thresholds (docs/design.md#adaptive-thresholds): the mark's exponentially weighted
volatility in ledger time, the price band it sets between a floor and a ceiling, and the initial
margin that rises with the band."""

from dataclasses import replace

from hypothesis import given, strategies as st

from node.ledger.events import BandChanged, BreakerTripped
from node.ledger.margin import account_valuation, below_maintenance
from node.ledger.records import Market, MarketStatus, StatusReason, decode_market, encode_market
from node.ledger.results import ResultCode
from node.ledger.volatility import (
    decayed,
    effective_band_bps,
    effective_initial_margin_bps,
    record_volatility,
    squared_move,
    variance_scale,
    volatility_ppm,
)

from .driver import MARKET, LedgerDriver, create_market
from .governance import governed_market

HALF_LIFE_MS = 60_000
STALE_AFTER_MS = 3_600_000  # long: these tests jump time without prices
ADAPTIVE = dict(
    band_bps=0, volatility_half_life_ms=HALF_LIFE_MS, band_volatility_pct=400,  # the band: 4 sigmas
    band_floor_bps=500, band_ceiling_bps=3_000,  # between 5% and 30%
)


def adaptive_market(**overrides) -> LedgerDriver:
    """Band 4 sigmas within 5%..30% over 60 s windows, half-life 60 s; a first mark of 50,000;
    alice and bob funded with 1,000,000 each."""
    driver = LedgerDriver()
    result = driver.one(create_market(**{
        **ADAPTIVE, "band_window_ms": 60_000, "cooldown_ms": 60_000, "trade_band_bps": 100_000,
        "stale_after_ms": STALE_AFTER_MS, **overrides,
    }))
    assert result.ok, result
    driver.price(50_000)
    driver.deposit("alice", 1_000_000)
    driver.deposit("bob", 1_000_000)
    return driver


def market(driver: LedgerDriver) -> Market:
    return driver.state.markets[MARKET]


def calm(driver: LedgerDriver, marks: int = 20) -> None:
    """Moves of 0.1% a second: sigma about 0.9%, so the band sits at its 5% floor."""
    for n in range(marks):
        driver.price(50_000 if n % 2 else 50_050)


def volatile(driver: LedgerDriver, marks: int = 12) -> None:
    """Moves of 3% a second, ending at 50,000: the band reaches its 30% ceiling."""
    for n in range(marks):
        driver.price(51_500 if n % 2 == 0 else 50_000)


# -- the volatility ------------------------------------------------------------------------------


def test_a_recorded_mark_adds_its_squared_relative_move():
    driver = adaptive_market()
    assert market(driver).volatility_variance == 0  # the first mark has no move
    driver.price(50_500)  # +1%: 10,000 ppm, squared
    assert market(driver).volatility_variance == 10_000**2
    assert market(driver).volatility_time_ms == driver.time_ms


def test_the_volatility_halves_every_half_life_of_ledger_time():
    driver = adaptive_market()
    driver.price(50_500)
    driver.run(time_ms=driver.time_ms + HALF_LIFE_MS - 1_000)
    driver.price(50_500)  # a half-life later, no move: only the decay
    assert market(driver).volatility_variance == 10_000**2 // 2


def test_a_market_without_a_half_life_keeps_no_volatility():
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(50_000)
    driver.price(60_000)
    assert market(driver).volatility_variance == 0


def test_a_squared_move_is_capped_at_a_move_of_100_percent():
    assert squared_move(100, 1_000) == variance_scale


# -- the price band ------------------------------------------------------------------------------


def test_a_static_market_judges_moves_by_band_bps():
    driver = LedgerDriver()
    driver.one(create_market(band_bps=2_000, volatility_half_life_ms=HALF_LIFE_MS))
    driver.price(50_000)
    volatile(driver)
    assert effective_band_bps(market(driver)) == 2_000


def test_in_a_calm_market_the_band_is_its_floor_and_a_move_beyond_it_halts():
    driver = adaptive_market()
    calm(driver)
    assert effective_band_bps(market(driver)) == 500
    driver.price(47_400)  # -5.3% from the window's high of 50,050
    assert (market(driver).status, market(driver).status_reason) == (MarketStatus.HALTED, StatusReason.PRICE_BAND)


def test_in_a_volatile_market_the_band_widens_and_a_move_beyond_the_floor_trades_on():
    driver = adaptive_market()
    volatile(driver)
    assert effective_band_bps(market(driver)) == 3_000
    driver.price(46_000)  # -10.7% from the window's high of 51,500
    assert market(driver).status == MarketStatus.ACTIVE
    assert not any(isinstance(e, BreakerTripped) for e in driver.events)


def test_the_band_never_widens_beyond_its_ceiling():
    driver = adaptive_market()
    volatile(driver, marks=40)
    assert volatility_ppm(market(driver)) * 4 // 100 > 3_000  # 4 sigmas are beyond the ceiling
    assert effective_band_bps(market(driver)) == 3_000
    driver.price(36_000)  # -30.1% from the window's high of 51,500
    assert market(driver).status == MarketStatus.HALTED


def test_the_band_between_floor_and_ceiling_is_the_volatility_times_its_multiple():
    driver = adaptive_market()
    driver.price(52_000)  # +4%: sigma 40,000 ppm, 4 sigmas 1,600 bps
    assert effective_band_bps(market(driver)) == 1_600


def test_a_crash_is_judged_by_the_band_before_it_and_does_not_widen_its_own():
    driver = adaptive_market()
    calm(driver)
    driver.price(45_000)  # -10%: it would set a band of 30% if judged after itself
    assert market(driver).status == MarketStatus.HALTED
    assert effective_band_bps(market(driver)) == 3_000  # the next mark is judged by the wider band


def bands_announced(driver: LedgerDriver) -> list[BandChanged]:
    return [e for e in driver.events if isinstance(e, BandChanged)]


def test_the_first_recorded_mark_announces_the_band():
    driver = adaptive_market()
    assert bands_announced(driver) == [BandChanged(MARKET, 500, 0, driver.time_ms - 2_000)]  # the floor


def test_a_band_that_moved_less_than_a_step_is_not_announced_and_one_that_moved_a_step_is():
    driver = adaptive_market()
    driver.price(50_700)  # +1.4%: 4 sigmas 560 bps, 60 from the announced floor
    assert market(driver).announced_band_bps == 500 and len(bands_announced(driver)) == 1
    driver.price(49_700)  # -1.97%: sigma 24,140 ppm (the first move decayed by a second), band 965 bps
    assert bands_announced(driver)[-1] == BandChanged(MARKET, 965, 24_140, driver.time_ms)
    assert market(driver).announced_band_bps == 965


# -- initial margin ------------------------------------------------------------------------------


def test_initial_margin_rises_with_the_band_up_to_its_ceiling():
    driver = adaptive_market(initial_margin_ceiling_bps=2_500)
    calm(driver)
    assert effective_initial_margin_bps(market(driver)) == 1_000  # the band at its floor: as listed
    driver.price(52_000)  # +4% from 50,000: band 1,600 bps, 3.2x its floor
    assert effective_initial_margin_bps(market(driver)) == 2_500  # 3,200 bps, capped
    driver2 = adaptive_market(initial_margin_ceiling_bps=5_000)
    driver2.price(52_000)  # band 1,600 bps
    assert effective_initial_margin_bps(market(driver2)) == 3_200  # 10% x 1,600 / 500


def test_a_trade_the_listed_margin_allows_is_refused_at_the_raised_margin():
    driver = adaptive_market(initial_margin_ceiling_bps=3_000)
    calm(driver)
    assert driver.trade("alice", "bob", 50_000, 150).ok  # 7.5M notional: 750,000 at 10%
    volatile(driver)
    assert effective_initial_margin_bps(market(driver)) == 3_000
    assert driver.trade("alice", "bob", 50_000, 1).code == ResultCode.INSUFFICIENT_MARGIN  # 2.27M at 30%


def test_a_raised_initial_margin_liquidates_nobody():
    driver = adaptive_market(initial_margin_ceiling_bps=3_000)
    assert driver.trade("alice", "bob", 50_000, 180).ok  # 9M notional: 900,000 at 10%, 450,000 maintenance
    volatile(driver)
    assert effective_initial_margin_bps(market(driver)) == 3_000  # 2.7M: far above alice's equity
    _, _, initial, maintenance = account_valuation(driver.state, "alice")
    assert (initial, maintenance) == (2_700_000, 450_000)  # maintenance stays as listed
    assert not below_maintenance(driver.state, "alice")
    assert driver.size("alice") == 180 and market(driver).status == MarketStatus.ACTIVE
    assert driver.trade("bob", "alice", 50_000, 10).ok  # she may still reduce


# -- listing and governance ----------------------------------------------------------------------


def test_an_adaptive_market_needs_consistent_parameters():
    for bad in (
        dict(volatility_half_life_ms=0),  # no volatility to follow
        dict(band_bps=2_000),  # two bands
        dict(band_floor_bps=0),
        dict(band_floor_bps=3_001),  # floor above the ceiling
        dict(band_ceiling_bps=10_001),
        dict(volatility_half_life_ms=999),
        dict(band_volatility_pct=10_001),
        dict(initial_margin_ceiling_bps=999),  # below the listed initial margin
        dict(initial_margin_ceiling_bps=10_001),
        dict(band_volatility_pct=-1),
    ):
        driver = LedgerDriver()
        assert driver.one(create_market(**{**ADAPTIVE, **bad})).code == ResultCode.INVALID_MARKET_PARAMS, bad
    for bad in (dict(band_floor_bps=500), dict(band_ceiling_bps=500), dict(initial_margin_ceiling_bps=2_000)):
        driver = LedgerDriver()
        assert driver.one(create_market(**bad)).code == ResultCode.INVALID_MARKET_PARAMS, bad  # needs the band's multiple
    assert LedgerDriver().one(create_market(**ADAPTIVE)).ok


def test_a_narrower_band_ceiling_applies_at_once_and_a_wider_one_waits_the_timelock():
    from node.ledger.commands import ActionKind

    governed = governed_market()
    driver = governed.driver
    params = {**ADAPTIVE, "band_bps": 0}
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params=params),
                        "guardian-1", "guardian-2").ok  # switching the band to adaptive loosens: timelocked
    assert market(driver).band_volatility_pct == 0
    driver.run(time_ms=driver.time_ms + 61_000)
    assert (market(driver).band_volatility_pct, market(driver).band_bps) == (400, 0)
    # Bounded governance (issue 18): node keys only halt; guardians tighten at once and loosen
    # behind the timelock.
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"band_ceiling_bps": 2_000}),
                        "node-1", "node-2").code == ResultCode.WRONG_ROLE
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"band_ceiling_bps": 2_000}),
                        "guardian-1", "guardian-2").ok  # tighter: at once
    assert market(driver).band_ceiling_bps == 2_000
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"band_ceiling_bps": 4_000}),
                        "guardian-1", "guardian-2").ok  # wider: waits the timelock
    assert market(driver).band_ceiling_bps == 2_000
    driver.run(time_ms=driver.time_ms + 61_000)
    assert market(driver).band_ceiling_bps == 4_000


def test_the_adaptive_fields_survive_the_record_encoding():
    driver = adaptive_market(initial_margin_ceiling_bps=3_000)
    volatile(driver)
    stored = market(driver)
    assert stored.volatility_variance > 0
    assert decode_market(encode_market(stored)) == stored


# -- the fixed point against a floating-point reference ------------------------------------------


@given(
    half_life_ms=st.integers(1_000, 86_400_000),
    steps=st.lists(st.tuples(st.integers(0, 10_000_000), st.integers(1, 10**12)), min_size=1, max_size=40),
    first=st.integers(1, 10**12),
)
def test_the_fixed_point_volatility_is_within_its_stated_error_of_the_exact_one(half_life_ms, steps, first):
    """Stated error (docs/design.md#adaptive-thresholds): each decay within 2e-10 of the exact
    factor, each squared move and decay rounded down by less than one ppm^2 (float64 itself is
    good to about 1e-15 a step here)."""
    m = replace(market_record(), volatility_half_life_ms=half_life_ms, mark_price=first)
    now, previous, exact = 0, first, 0.0
    for elapsed_ms, price in steps:
        now += elapsed_ms
        m = replace(record_volatility(m, price, now), mark_price=price)
        move = min(((price - previous) / previous) ** 2, 1.0) * variance_scale
        exact = exact * 2.0 ** (-elapsed_ms / half_life_ms) + move
        previous = price
        assert abs(m.volatility_variance - exact) <= 1e-9 * len(steps) * exact + 2 * len(steps), (m.volatility_variance, exact)


@given(variance=st.integers(0, 10**16), elapsed_ms=st.integers(0, 10**9), half_life_ms=st.integers(1_000, 10**8))
def test_the_decay_never_exceeds_the_exact_factor_by_more_than_its_error(variance, elapsed_ms, half_life_ms):
    exact = variance * 2.0 ** (-elapsed_ms / half_life_ms)
    assert abs(decayed(variance, elapsed_ms, half_life_ms) - exact) <= 2e-10 * exact + 1


def market_record() -> Market:
    driver = LedgerDriver()
    driver.one(create_market())
    return market(driver)
