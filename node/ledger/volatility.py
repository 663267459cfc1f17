"""Adaptive thresholds: the mark's exponentially weighted volatility, and the price band and
initial margin that follow it (docs/design.md#adaptive-thresholds).

The volatility is a realised variance, kept as an integer in `variance_scale`-ths (squared
millionths, ppm^2): every recorded mark adds its squared relative move from the previous mark,
`floor((price - previous)^2 * 10^12 / previous^2)` (a move capped at 100%), after the sum so far
decayed by 2^(-elapsed / volatility_half_life_ms) of ledger time. So it is the sum of squared moves
of roughly the last half-life / ln 2, whatever the update rate, and its square root `sigma` is how
far the mark typically wandered in that span. The decay factor is a product of 2^(-2^-j) for the
bits j of the elapsed fraction of a half-life (to 2^-32), each an integer square root: within 2e-10
of the exact factor, so each mark's variance is within 2e-10 x the variance + 2 ppm^2 of an exact
computation from the previous one (tested against a floating-point reference in
tests/ledger/test_adaptive_thresholds.py).

With `band_volatility_pct` > 0 the price band is `band_volatility_pct` % of sigma (in bps,
rounded down), clamped to [band_floor_bps, band_ceiling_bps]; with `initial_margin_ceiling_bps`
> 0 the initial margin rises in the same proportion as the band above its floor, from the listed
initial_margin_bps up to that ceiling (rounded up). The band a move is judged by is the one before
the move: a crash does not widen its own band.
"""

from __future__ import annotations

from dataclasses import replace
from math import isqrt

from .limits import bps_denominator, volatility_variance_max
from .records import Market

variance_scale = 10**12  # a squared relative move of 100% is variance_scale (ppm^2)
ppm_per_bps = 100
_ONE = 1 << 62  # the decay's fixed point
_EXPONENT_BITS = 32  # the fraction of a half-life is taken to 2^-32: the factor within 2e-10


def _root_table() -> tuple[int, ...]:
    """2^(-2^-j) x 2^62 for j = 1..32: repeated integer square roots of 1/2 (no floats)."""
    roots, root = [], _ONE // 2
    for _ in range(_EXPONENT_BITS):
        root = isqrt(root * _ONE)  # sqrt(root / ONE) x ONE
        roots.append(root)
    return tuple(roots)


_ROOTS = _root_table()


def decayed(variance: int, elapsed_ms: int, half_life_ms: int) -> int:
    """variance x 2^(-elapsed_ms / half_life_ms), rounded down: whole half-lives shift, and the
    rest's binary fraction of a half-life, bit by bit, multiplies in 2^(-2^-j)."""
    assert elapsed_ms >= 0 and half_life_ms > 0, (elapsed_ms, half_life_ms)
    halvings, rest = divmod(elapsed_ms, half_life_ms)
    if halvings >= 128:
        return 0  # below one ppm^2 from any variance up to volatility_variance_max
    factor = _ONE
    for root in _ROOTS:
        rest *= 2
        if rest >= half_life_ms:
            rest -= half_life_ms
            factor = factor * root // _ONE
    return variance * factor // (_ONE << halvings)  # one rounding, down


def squared_move(previous: int, price: int) -> int:
    """(price / previous - 1)^2 in variance_scale-ths, rounded down, at most variance_scale."""
    assert previous > 0 and price > 0, (previous, price)
    move = price - previous
    return min(move * move * variance_scale // (previous * previous), variance_scale)


def record_volatility(market: Market, price: int, now_ms: int) -> Market:
    """The market's volatility after a recorded mark `price` at ledger time now_ms (unchanged,
    apart from its time, while the market has no half-life or no previous mark)."""
    if not market.volatility_half_life_ms:
        return market
    variance = market.volatility_variance
    if market.mark_price:
        variance = decayed(variance, now_ms - market.volatility_time_ms, market.volatility_half_life_ms)
        variance = min(variance + squared_move(market.mark_price, price), volatility_variance_max)
    return replace(market, volatility_variance=variance, volatility_time_ms=now_ms)


def volatility_ppm(market: Market) -> int:
    """sigma: the square root of the variance, in millionths of the mark (rounded down)."""
    return isqrt(market.volatility_variance)


def effective_band_bps(market: Market) -> int:
    """The price band the breaker judges the next mark by: band_bps when the band is static."""
    if not market.band_volatility_pct:
        return market.band_bps
    band = market.band_volatility_pct * volatility_ppm(market) // (100 * ppm_per_bps)
    return min(max(band, market.band_floor_bps), market.band_ceiling_bps)


def effective_initial_margin_bps(market: Market) -> int:
    """The initial margin before open-interest scaling: the listed one unless it scales with the
    band, then listed x band / band floor (rounded up), at most initial_margin_ceiling_bps."""
    base = market.initial_margin_bps
    if not market.initial_margin_ceiling_bps:
        return base
    scaled = -(-base * effective_band_bps(market) // market.band_floor_bps)
    assert scaled >= base and market.initial_margin_ceiling_bps <= bps_denominator, (scaled, base)
    return min(scaled, market.initial_margin_ceiling_bps)
