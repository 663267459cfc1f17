"""Integer fixed-point maths for option pricing: exp, ln, sqrt and the standard normal density and
distribution, so every replica computes the same value bit for bit (docs/design.md#option-pricing-and-portfolio-margin).

A real number v is held as the integer v x scale. The default scale is `ONE` = 10^18 (18 decimal
digits: finer than any quote minor unit or ppm the ledger stores, and a product of two such values
still fits comfortably in Python's integers); the option pricing works at `WORKING_SCALE` = 10^30,
so that its roundings stay far below a quote minor unit of any index up to 2^62 minor units. Every
function takes `scale`, a power of ten from 1 to `scale_max` = 10^40.

Rounding: each function returns its exact value rounded down (floor, toward minus infinity, `//`),
computed internally with at least 12 guard digits; so each result is within one unit of the exact
value (the exact value rounded down, unless that value lies within about 10^-9 units of an integer,
where it may land on the other side). Stated per function:

- `exp_fixed(x)`: domain |x| <= 128 (asserted); |result - e^x x scale| < 1 + 10^-17 x e^x x scale
  (relative error below 10^-17 for large results, absolute below one unit for results up to scale).
- `ln_fixed(x)`: domain 0 < x < 2^512 (asserted); |result - ln(x / scale) x scale| < 1.
- `sqrt_fixed(x)`: domain x >= 0 (asserted); exactly floor(sqrt(x / scale) x scale) (math.isqrt).
- `normal_pdf_fixed(x)`: any x; |x| > 16 returns 0 (clamp: phi(16) < 10^-56, below one unit at
  any scale); |result - phi(x) x scale| < 1.
- `normal_cdf_fixed(x)`: any x; |x| >= 14 returns 0 or scale (clamp: the tail beyond 14 is below
  8 x 10^-45, below one unit at any scale); |result - Phi(x) x scale| < 1, and
  `normal_cdf_fixed(x) + normal_cdf_fixed(-x)` is scale or scale - 1 (both rounded down).

No floats and no true division anywhere (tests/ledger/test_purity.py). Tested against a
high-precision decimal and a floating-point reference in tests/ledger/test_fixed_point.py.
"""

from __future__ import annotations

from math import isqrt

ONE = 10**18
WORKING_SCALE = 10**30
scale_max = 10**40
exp_argument_max = 128  # |x| for exp_fixed, in whole units
pdf_argument_max = 16  # |x| above which the normal density is returned as 0
cdf_argument_max = 14  # |x| from which the normal distribution is returned as 0 or 1
guard_digits = 12

_GUARD = 10**guard_digits
_CONSTANT_SCALE = 10**100  # the constants below are computed once, in integers, to 100 digits
_EXP_HALVINGS = 8  # exp's reduced argument is halved this many times before its Taylor series


def _atanh_inverse(n: int, scale: int) -> int:
    """atanh(1 / n) x scale, rounded down (n >= 2)."""
    total, power, k = 0, scale // n, 1
    n_squared = n * n
    while power:
        total += power // k
        power //= n_squared
        k += 2
    return total


def _atan_inverse(n: int, scale: int) -> int:
    """atan(1 / n) x scale, rounded down to within a few units (n >= 2)."""
    total, power, k, sign = 0, scale // n, 1, 1
    n_squared = n * n
    while power:
        total += sign * (power // k)
        power //= n_squared
        k += 2
        sign = -sign
    return total


_LN2 = 2 * _atanh_inverse(3, _CONSTANT_SCALE)  # ln 2 = 2 atanh(1/3)
_PI = 16 * _atan_inverse(5, _CONSTANT_SCALE) - 4 * _atan_inverse(239, _CONSTANT_SCALE)  # Machin
_INV_SQRT_2PI = isqrt(_CONSTANT_SCALE**3 // (2 * _PI))  # 1 / sqrt(2 pi)
_SCALES = tuple(10**digits for digits in range(41))  # the allowed scales: 1 .. scale_max


def _check_scale(scale: int) -> None:
    assert scale in _SCALES, scale


def _constant(value: int, work: int) -> int:
    """A constant held at _CONSTANT_SCALE, at the scale `work` (rounded down)."""
    return value * work // _CONSTANT_SCALE


def _exp_at(x: int, work: int) -> int:
    """e^(x / work) x work, rounded down, for |x| <= exp_argument_max x work: x = k ln 2 + r with
    |r| <= ln 2 / 2, then r / 2^8 by its Taylor series, squared 8 times, shifted by k."""
    inner = work * _GUARD
    ln2 = _constant(_LN2, inner)
    x_inner = x * _GUARD
    k = (2 * x_inner + ln2) // (2 * ln2)  # the nearest multiple of ln 2
    r = x_inner - k * ln2
    r_small = abs(r) >> _EXP_HALVINGS
    term, total, n = inner, inner, 1
    while term:  # e^r_small: the terms are positive, truncated, so the loop ends
        term = term * r_small // (inner * n)
        total += term
        n += 1
    for _ in range(_EXP_HALVINGS):
        total = total * total // inner
    if r < 0:
        total = inner * inner // total
    if k >= 0:
        return (total << k) // _GUARD
    return total // (_GUARD << -k)


def exp_fixed(x: int, scale: int = ONE) -> int:
    """e^(x / scale) x scale, rounded down. Domain |x| <= 128 x scale (asserted). Error:
    |result - e^x x scale| < 1 + 10^-17 x e^x x scale."""
    _check_scale(scale)
    assert -exp_argument_max * scale <= x <= exp_argument_max * scale, x
    return _exp_at(x * _GUARD, scale * _GUARD) // _GUARD


def ln_fixed(x: int, scale: int = ONE) -> int:
    """ln(x / scale) x scale, rounded down. Domain 0 < x < 2^512 (asserted). Error below one unit:
    x = m 2^k with m in [1/sqrt 2, sqrt 2], ln m = 2 atanh((m - 1) / (m + 1)) by its series."""
    _check_scale(scale)
    assert 0 < x < 2**512, x
    work = scale * _GUARD
    k = x.bit_length() - scale.bit_length()

    def mantissa(k: int) -> int:
        return x * work // (scale << k) if k >= 0 else (x * work << -k) // scale

    m = mantissa(k)
    while m * m > 2 * work * work:  # m > sqrt 2
        k += 1
        m = mantissa(k)
    while 2 * m * m < work * work:  # m < 1 / sqrt 2
        k -= 1
        m = mantissa(k)
    z = abs(m - work) * work // (m + work)
    z_squared = z * z // work
    power, atanh, n = z, 0, 1
    while power:  # terms positive and truncated: the loop ends
        atanh += power // n
        power = power * z_squared // work
        n += 2
    if m < work:
        atanh = -atanh
    logarithm = k * _constant(_LN2, work) + 2 * atanh
    return logarithm // _GUARD


def sqrt_fixed(x: int, scale: int = ONE) -> int:
    """sqrt(x / scale) x scale, exactly rounded down (math.isqrt). Domain x >= 0 (asserted)."""
    _check_scale(scale)
    assert x >= 0, x
    return isqrt(x * scale)


def _pdf_at(x: int, work: int) -> int:
    """phi(x / work) x work, rounded down, for |x| <= pdf_argument_max x work."""
    exponent = -(x * x) // (2 * work)
    return _exp_at(exponent, work) * _constant(_INV_SQRT_2PI, work) // work


def normal_pdf_fixed(x: int, scale: int = ONE) -> int:
    """phi(x) = e^(-x^2 / 2) / sqrt(2 pi), x scale, rounded down. Any x; |x| > 16 x scale returns 0
    (documented clamp: phi(16) < 10^-56). Error below one unit."""
    _check_scale(scale)
    if abs(x) > pdf_argument_max * scale:
        return 0
    work = scale * _GUARD
    return _pdf_at(x * _GUARD, work) // _GUARD


def normal_cdf_fixed(x: int, scale: int = ONE) -> int:
    """Phi(x) x scale, rounded down. Any x; |x| >= 14 x scale returns 0 or scale (documented
    clamp: 1 - Phi(14) < 8 x 10^-45). Error below one unit.

    Marsaglia's series Phi(x) = 1/2 + phi(x) (x + x^3/3 + x^5/(3 5) + ...): its terms grow to about
    e^(x^2 / 2) before they fall, so the working scale carries x^2 / (2 ln 10) more digits, and the
    density multiplied in keeps its relative precision."""
    _check_scale(scale)
    if x >= cdf_argument_max * scale:
        return scale
    if x <= -cdf_argument_max * scale:
        return 0
    extra_digits = guard_digits + 1 + x * x * 2172 // (10_000 * scale * scale)  # 1 / (2 ln 10) < 0.2172
    work = scale * 10**extra_digits
    a = abs(x) * (work // scale)
    a_squared = a * a // work
    term, series, n = a, a, 1
    while term:  # terms positive and truncated: the loop ends
        term = term * a_squared // (work * (2 * n + 1))
        series += term
        n += 1
    half_gap = _pdf_at(a, work) * series // work  # Phi(|x|) - 1/2
    half = work // 2
    value = half + half_gap if x >= 0 else half - half_gap
    return value * scale // work
