"""European Black-Scholes for cash-settled calls and puts, in integers
(docs/design.md#option-pricing-and-portfolio-margin).

Zero rate: crypto venues price options off the index (or the forward, which the index of a future
already is) and settle in the quote currency at expiry, so the model is Black's on the index with no
discounting. Units: `index` and `strike` in quote minor units per contract, `volatility_ppm` the
annualised implied volatility in millionths (800_000 = 80%), `time_to_expiry_ms` in ledger
milliseconds, a year being 365 days (`year_ms` = 31,536,000,000).

With s = sigma sqrt(T), d1 = (ln(index / strike) + s^2 / 2) / s and d2 = d1 - s:

- price: call = index N(d1) - strike N(d2), held at the working scale and raised to its lower
  bound max(index - strike, 0) should the roundings leave it below; put = call - (index - strike)
  at the working scale; each then rounded down to quote minor units. So both are at least their
  intrinsic value, and put-call parity holds exactly: call - put = index - strike.
- delta, in billionths of the underlying per contract (10^9 = 1.0): call N(d1), put N(d1) - 1,
  rounded down; so call delta - put delta = 10^9 exactly.
- gamma, in billionths of delta per 1% move of the index: phi(d1) / s / 100, rounded down (the
  same for a call and a put; per 1% rather than per minor unit, so it means the same at any price).
- vega, in quote minor units per volatility point (an absolute 1% of volatility): index phi(d1)
  sqrt(T) / 100, rounded down (the same for a call and a put).

At expiry (time 0), at zero volatility, or when s is below 10^-30, the price is the intrinsic value,
gamma and vega are 0, and delta is 10^9 for a call at or above its strike (0 below), -10^9 for a put
below its strike (0 at or above it): the call counts as in the money at the strike, so the deltas
still differ by exactly 10^9.

Precision: every intermediate is held at WORKING_SCALE = 10^30 and rounded down, so the price is
within one minor unit of the exact Black-Scholes value for indexes and strikes up to 2^62 (tested
against a floating-point reference over strikes 0.5x-2x, volatilities 10%-300%, times 1 hour-1
year in tests/ledger/test_option_pricing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import isqrt

from .commands import OptionType
from .fixed_point import WORKING_SCALE, ln_fixed, normal_cdf_fixed, normal_pdf_fixed

year_ms = 365 * 24 * 3600 * 1000  # 31,536,000,000
delta_one = 10**9  # a delta of 1.0: one unit of the underlying per contract
ppm_denominator = 10**6
volatility_ppm_max = 10_000_000  # 1,000%
time_to_expiry_ms_max = 10 * year_ms
price_max = 2**62  # index and strike, quote minor units per contract
vol_point_ppm = 10_000  # one volatility point: an absolute 1%
percent_move_denominator = 100  # gamma is per 1% move of the index

_W = WORKING_SCALE


@dataclass(frozen=True, slots=True)
class OptionValuation:
    price: int  # quote minor units per contract
    delta: int  # billionths of the underlying per contract
    gamma: int  # billionths of delta per 1% move of the index
    vega: int  # quote minor units per volatility point


def _check(option_type: OptionType, index: int, strike: int, volatility_ppm: int, time_to_expiry_ms: int) -> None:
    assert option_type in (OptionType.CALL, OptionType.PUT), option_type
    assert 0 < index <= price_max and 0 < strike <= price_max, (index, strike)
    assert 0 <= volatility_ppm <= volatility_ppm_max, volatility_ppm
    assert 0 <= time_to_expiry_ms <= time_to_expiry_ms_max, time_to_expiry_ms


def intrinsic_value(option_type: OptionType, index: int, strike: int) -> int:
    return max(index - strike, 0) if option_type == OptionType.CALL else max(strike - index, 0)


def _spread(volatility_ppm: int, time_to_expiry_ms: int) -> int:
    """sigma sqrt(T) at the working scale, rounded down."""
    return isqrt(volatility_ppm * volatility_ppm * time_to_expiry_ms * _W * _W // (ppm_denominator**2 * year_ms))


def _d1(index: int, strike: int, spread: int) -> int:
    """d1 at the working scale, rounded down; spread = sigma sqrt(T) at the working scale, > 0."""
    log_moneyness = ln_fixed(index * _W // strike, _W)
    return (log_moneyness * _W + spread * spread // 2) // spread


def _call_value(index: int, strike: int, n_d1: int, n_d2: int) -> int:
    """The call's value in minor units x the working scale, from N(d1) and N(d2) at that scale: at
    least its intrinsic value and at least 0 (the exact value is; the two rounded products could
    otherwise leave it a hair below)."""
    return max(index * n_d1 - strike * n_d2, (index - strike) * _W, 0)


def _price_from_call_value(option_type: OptionType, index: int, strike: int, call_value: int) -> int:
    if option_type == OptionType.PUT:
        call_value -= (index - strike) * _W  # parity, exact at the working scale
    return call_value // _W


def option_price(option_type: OptionType, index: int, strike: int, volatility_ppm: int, time_to_expiry_ms: int) -> int:
    """The premium in quote minor units per contract, rounded down (the valuation's price, without
    the greeks: what a scenario revaluation needs)."""
    _check(option_type, index, strike, volatility_ppm, time_to_expiry_ms)
    spread = _spread(volatility_ppm, time_to_expiry_ms)
    if spread == 0:
        return intrinsic_value(option_type, index, strike)
    d1 = _d1(index, strike, spread)
    call_value = _call_value(index, strike, normal_cdf_fixed(d1, _W), normal_cdf_fixed(d1 - spread, _W))
    return _price_from_call_value(option_type, index, strike, call_value)


def option_valuation(
    option_type: OptionType, index: int, strike: int, volatility_ppm: int, time_to_expiry_ms: int
) -> OptionValuation:
    """Price, delta, gamma and vega of one contract (units in the module's docstring)."""
    _check(option_type, index, strike, volatility_ppm, time_to_expiry_ms)
    spread = _spread(volatility_ppm, time_to_expiry_ms)
    if spread == 0:
        in_the_money_call = index >= strike
        if option_type == OptionType.CALL:
            delta = delta_one if in_the_money_call else 0
        else:
            delta = 0 if in_the_money_call else -delta_one
        return OptionValuation(intrinsic_value(option_type, index, strike), delta, 0, 0)
    d1 = _d1(index, strike, spread)
    n_d1 = normal_cdf_fixed(d1, _W)
    call_value = _call_value(index, strike, n_d1, normal_cdf_fixed(d1 - spread, _W))
    price = _price_from_call_value(option_type, index, strike, call_value)
    delta = (n_d1 - _W if option_type == OptionType.PUT else n_d1) * delta_one // _W
    density = normal_pdf_fixed(d1, _W)
    gamma = density * delta_one // (spread * percent_move_denominator)
    sqrt_years = isqrt(time_to_expiry_ms * _W * _W // year_ms)
    vega = index * density * sqrt_years * vol_point_ppm // (_W * _W * ppm_denominator)
    return OptionValuation(price, delta, gamma, vega)
