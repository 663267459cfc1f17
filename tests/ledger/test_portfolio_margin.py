"""Scenario portfolio margin (node/ledger/portfolio_margin.py): SPAN's 16 scenarios, the worst loss
against the short option minimum, the net option value paid at the fill, and requirements that add
across underlyings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.ledger.commands import OptionType
from node.ledger.option_pricing import delta_one, option_price, option_valuation
from node.ledger.portfolio_margin import (
    EXTREME_DOWN,
    EXTREME_UP,
    SCENARIO_NAMES,
    Greeks,
    LinearPosition,
    OptionPosition,
    RiskArray,
    ScenarioParams,
    UnderlyingBook,
    account_greeks,
    account_requirement,
    moved_price,
    requirement_from_risk_arrays,
    risk_array,
    scenario_losses,
    scenario_volatility_ppm_min,
    shocked_volatility,
    underlying_requirement,
)

CALL, PUT = OptionType.CALL, OptionType.PUT
INDEX = 100_000 * 10**6  # $100,000 in quote minor units
DAY_MS = 86_400_000
NOW_MS = 1_700_000_000_000
EXPIRY_MS = NOW_MS + 30 * DAY_MS
PARAMS = ScenarioParams(
    price_scan_bps=1_500,
    vol_scan_ppm=100_000,
    extreme_move_multiple=3,
    extreme_fraction_pct=33,
    short_option_minimum_bps=100,
    maintenance_pct=80,
)


def option(size: int, option_type: OptionType = CALL, strike: int = INDEX, volatility_ppm: int = 800_000) -> OptionPosition:
    return OptionPosition(size, option_type, strike, EXPIRY_MS, volatility_ppm)


def requirement(*positions, index: int = INDEX):
    return underlying_requirement(UnderlyingBook(index, tuple(positions)), NOW_MS, PARAMS)


def test_there_are_sixteen_scenarios_in_spans_order_with_the_extremes_last():
    assert len(SCENARIO_NAMES) == 16
    assert SCENARIO_NAMES[0] == "unchanged, vol up"
    assert SCENARIO_NAMES[EXTREME_UP] == "extreme up, vol unchanged"
    assert SCENARIO_NAMES[EXTREME_DOWN] == "extreme down, vol unchanged"


def test_a_long_perpetual_needs_the_full_scan_set_by_the_largest_fall():
    result = requirement(LinearPosition(2, INDEX))
    assert result.initial == 2 * INDEX * 1_500 // 10_000
    assert SCENARIO_NAMES[result.worst_scenario] == "down 3/3, vol up"
    assert result.net_option_value == 0


def test_an_extreme_moves_loss_counts_at_its_fraction_rounded_up():
    losses = scenario_losses(UnderlyingBook(INDEX, (LinearPosition(-1, 3),)), NOW_MS, PARAMS)
    # a short of 1 contract at 3 minor units: up 45% is 3 + floor(1.35) = 4, a loss of 1, counted at 33%: 0.33 -> 1
    assert losses[EXTREME_UP] == 1
    assert scenario_losses(UnderlyingBook(INDEX, (LinearPosition(1, INDEX),)), NOW_MS, PARAMS)[EXTREME_DOWN] == INDEX * 4_500 // 10_000 * 33 // 100


def test_a_hedged_book_needs_less_than_its_legs_alone():
    short_call, long_perpetual = option(-1), LinearPosition(1, INDEX)
    both = requirement(short_call, long_perpetual).initial
    assert both < requirement(short_call).initial + requirement(long_perpetual).initial


def test_a_long_perpetual_against_short_calls_lowers_their_requirement():
    # Two short calls at the money have a delta near -1.1: one long perpetual offsets most of it,
    # so adding the position lowers the requirement, not just the sum of the legs'.
    short_calls = option(-2)
    assert requirement(short_calls, LinearPosition(1, INDEX)).initial < requirement(short_calls).initial


def test_a_long_option_alone_needs_nothing_beyond_its_premium():
    for long_option in (option(1, CALL), option(3, PUT), option(1, CALL, INDEX * 2)):
        assert requirement(long_option).initial == 0
        assert requirement(long_option).maintenance == 0


def test_a_long_options_worst_loss_is_bounded_by_its_value():
    for long_option in (option(1, CALL), option(2, PUT, INDEX // 2), option(1, CALL, INDEX * 2, 3_000_000)):
        result = requirement(long_option)
        assert 0 < result.worst_loss <= result.net_option_value


def test_a_short_option_needs_its_price_now_plus_its_worst_loss():
    result = requirement(option(-1))
    price_now = option_price(CALL, INDEX, INDEX, 800_000, 30 * DAY_MS)
    assert result.net_option_value == -price_now
    assert result.initial == result.worst_loss + price_now


def test_a_short_straddles_worst_scenario_is_an_extreme_move():
    result = requirement(option(-1, CALL), option(-1, PUT))
    assert result.worst_scenario in (EXTREME_UP, EXTREME_DOWN)


def test_the_short_option_minimum_sets_the_risk_when_it_exceeds_the_worst_loss():
    params = ScenarioParams(1_500, 100_000, 3, 33, short_option_minimum_bps=5_000, maintenance_pct=80)
    short_call = option(-2, CALL, INDEX * 2)
    result = underlying_requirement(UnderlyingBook(INDEX, (short_call,)), NOW_MS, params)
    assert result.short_option_minimum == 2 * INDEX // 2
    assert result.worst_loss < result.short_option_minimum
    assert result.initial == result.short_option_minimum - result.net_option_value


def test_the_requirement_is_never_negative():
    long_straddle = (option(5, CALL), option(5, PUT))
    result = requirement(*long_straddle)
    assert result.worst_loss - result.net_option_value < 0
    assert result.initial == 0 and result.maintenance == 0


def test_maintenance_scales_the_risk_rounded_up_and_counts_the_option_prices_in_full():
    for book in ((option(-1),), (LinearPosition(3, INDEX + 7),), (option(-1, PUT), LinearPosition(-1, INDEX)), (option(2),)):
        result = requirement(*book)
        risk = max(result.worst_loss, result.short_option_minimum)
        assert result.maintenance == max(-(-risk * 80 // 100) - result.net_option_value, 0)


def test_a_short_options_maintenance_covers_buying_it_back_in_full():
    # Found by replaying a short strangle through March 2020: with maintenance a share of an
    # initial that includes the buy-back price, an account worth less than nothing at the marks
    # stayed above maintenance.
    result = requirement(option(-10))
    assert result.net_option_value < 0
    risk = max(result.worst_loss, result.short_option_minimum)
    # Beyond the buy-back price, maintenance still holds its share of the risk.
    assert result.maintenance - (-result.net_option_value) >= -(-risk * 80 // 100)


def test_requirements_across_underlyings_add():
    books = {
        "ETH": UnderlyingBook(3_000 * 10**6, (option(-4, PUT, 2_800 * 10**6), LinearPosition(2, 3_001 * 10**6))),
        "BTC": UnderlyingBook(INDEX, (option(-1), LinearPosition(1, INDEX))),
    }
    total = account_requirement(books, NOW_MS, PARAMS)
    btc = underlying_requirement(books["BTC"], NOW_MS, PARAMS)
    eth = underlying_requirement(books["ETH"], NOW_MS, PARAMS)
    assert total.initial == btc.initial + eth.initial
    assert total.maintenance == btc.maintenance + eth.maintenance
    assert total.per_underlying == (("BTC", btc), ("ETH", eth))  # sorted by id, whatever the mapping's order


def test_the_pinned_losses_of_a_hedged_book():
    # A change of rounding, of the grid or of the pricing changes these: it must be deliberate.
    result = requirement(option(-1), LinearPosition(1, INDEX))
    assert result.losses == (
        1_135_263_968, -1_137_131_657, -921_642_857, -3_197_248_019, 3_574_606_121, 1_415_301_708,
        -2_629_097_470, -4_812_409_192, 6_418_555_262, 4_481_690_671, -4_026_384_835, -6_045_075_617,
        9_673_961_619, 8_049_484_615, -2_811_817_762, 11_845_153_395,
    )
    assert (result.initial, result.maintenance, result.worst_scenario) == (20_974_994_176, 18_605_963_497, EXTREME_DOWN)


def test_a_requirement_from_kept_risk_arrays_equals_a_full_revaluation():
    positions = (option(-2), option(3, PUT, INDEX * 9 // 10), option(-1, CALL, INDEX * 13 // 10, 1_100_000), LinearPosition(1, INDEX + 5))
    held = tuple((p.size, risk_array(p, INDEX, NOW_MS, PARAMS)) for p in positions)
    assert requirement_from_risk_arrays(held, 3, INDEX, PARAMS) == requirement(*positions)


def test_a_risk_array_is_one_contracts_value_now_and_its_losses_with_the_extremes_in_full():
    array = risk_array(LinearPosition(-7, 1_000), INDEX, NOW_MS, PARAMS)
    assert array == RiskArray(0, (0, 0, -50, -50, 50, 50, -100, -100, 100, 100, -150, -150, 150, 150, -450, 450))
    call = risk_array(option(-7), INDEX, NOW_MS, PARAMS)
    assert call.value_now == option_price(CALL, INDEX, INDEX, 800_000, 30 * DAY_MS)
    assert call.losses[EXTREME_DOWN] == call.value_now - option_price(CALL, INDEX * 55 // 100, INDEX, 800_000, 30 * DAY_MS)


def test_an_expired_option_is_valued_at_its_intrinsic_value():
    expired = OptionPosition(-1, PUT, INDEX + 1_000, NOW_MS - 1, 800_000)
    result = requirement(expired)
    assert result.net_option_value == -1_000
    assert result.losses[0] == 0  # volatility does not move an expired option


def test_a_shocked_down_volatility_is_floored_at_1_percent_and_never_raised():
    assert shocked_volatility(50_000, -1, 100_000) == scenario_volatility_ppm_min
    assert shocked_volatility(5_000, -1, 100_000) == 5_000
    assert shocked_volatility(800_000, 1, 100_000) == 900_000


def test_a_moved_price_is_rounded_down_and_at_least_one_minor_unit():
    assert moved_price(1_000, -1, 1_500) == 950
    assert moved_price(1_001, 1, 1_500) == 1_051  # 1,001 x 5% = 50.05
    assert moved_price(1_000, -30, 10_000) == 1


def test_greeks_add_size_times_each_options_and_a_billion_per_linear_contract():
    books = {"BTC": UnderlyingBook(INDEX, (option(-2), option(1, PUT), LinearPosition(3, INDEX)))}
    call = option_valuation(CALL, INDEX, INDEX, 800_000, 30 * DAY_MS)
    put = option_valuation(PUT, INDEX, INDEX, 800_000, 30 * DAY_MS)
    expected = Greeks(
        delta=-2 * call.delta + put.delta + 3 * delta_one,
        gamma=-2 * call.gamma + put.gamma,
        vega=-2 * call.vega + put.vega,
    )
    assert account_greeks(books, NOW_MS) == (("BTC", expected),)


def test_bad_scenario_parameters_are_refused():
    bad = ScenarioParams(0, 100_000, 3, 33, 100, 80)
    with pytest.raises(AssertionError):
        underlying_requirement(UnderlyingBook(INDEX, (option(-1),)), NOW_MS, bad)


option_positions = st.builds(
    OptionPosition,
    size=st.integers(-5, 5).filter(bool),
    option_type=st.sampled_from((CALL, PUT)),
    strike=st.integers(INDEX // 2, 2 * INDEX),
    expiry_ms=st.integers(NOW_MS - DAY_MS, NOW_MS + 365 * DAY_MS),
    volatility_ppm=st.integers(0, 3_000_000),
)
linear_positions = st.builds(LinearPosition, size=st.integers(-5, 5), mark_price=st.integers(INDEX * 9 // 10, INDEX * 11 // 10))


@given(st.lists(option_positions.filter(lambda p: p.size > 0), min_size=1, max_size=3))
def test_any_book_of_long_options_needs_nothing(longs):
    result = requirement(*longs)
    assert result.worst_loss <= result.net_option_value
    assert result.initial == 0


@given(st.lists(st.one_of(option_positions, linear_positions), min_size=1, max_size=3))
def test_any_books_requirement_is_at_least_0_and_its_maintenance_at_most_its_initial(positions):
    result = requirement(*positions)
    assert 0 <= result.maintenance <= result.initial
    assert result.initial == max(max(result.worst_loss, result.short_option_minimum) - result.net_option_value, 0)
