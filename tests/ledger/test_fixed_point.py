"""Fixed-point maths of the ledger (node/ledger/fixed_point.py): each function within its stated
error of a high-precision decimal reference, its clamps and domains, and pinned exact outputs."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.ledger.fixed_point import (
    ONE,
    WORKING_SCALE,
    exp_fixed,
    ln_fixed,
    normal_cdf_fixed,
    normal_pdf_fixed,
    scale_max,
    sqrt_fixed,
)

SCALES = (ONE, WORKING_SCALE, scale_max)
DIGITS = 120


def decimal_pi() -> Decimal:
    """pi by Machin's formula, in decimals at the context's precision."""

    def atan_inverse(n: int) -> Decimal:
        total, power, k, sign = Decimal(0), Decimal(1) / n, 1, 1
        while power > Decimal(10) ** -(DIGITS + 5):
            total += sign * power / k
            power /= n * n
            k += 2
            sign = -sign
        return total

    return 16 * atan_inverse(5) - 4 * atan_inverse(239)


def reference_pdf(x: Decimal) -> Decimal:
    return (-(x * x) / 2).exp() / (2 * decimal_pi()).sqrt()


def reference_cdf(x: Decimal) -> Decimal:
    """Phi(x) = 1/2 + phi(x) (x + x^3/3 + x^5/(3 5) + ...), summed at 120 digits."""
    a = abs(x)
    term = total = a
    n = 1
    while term > Decimal(10) ** -(DIGITS - 10):
        term = term * a * a / (2 * n + 1)
        total += term
        n += 1
    gap = reference_pdf(a) * total
    return Decimal(1) / 2 + (gap if x >= 0 else -gap)


def grid(scale: int, low: int, high: int, steps: int) -> list[int]:
    """steps + 1 points from low to high (whole units), offset off round numbers."""
    return [low * scale + (high - low) * scale * i // steps + scale // 7_777 for i in range(steps + 1)]


@pytest.mark.parametrize("scale", SCALES)
def test_exp_is_within_one_unit_plus_relative_1e_17_over_its_domain(scale):
    with localcontext() as context:
        context.prec = DIGITS
        for x in grid(scale, -128, 127, 300):
            exact = (Decimal(x) / scale).exp() * scale
            assert abs(Decimal(exp_fixed(x, scale)) - exact) < 1 + exact * Decimal("1e-17"), x


@pytest.mark.parametrize("scale", SCALES)
def test_ln_is_within_one_unit_from_tiny_to_huge_arguments(scale):
    arguments = [1, 7, 10**6, scale // 3, scale - 1, scale, scale + 1, 2 * scale, 10**30, 3 * 10**40, 2**300, 2**512 - 1]
    with localcontext() as context:
        context.prec = DIGITS + 60
        for x in arguments:
            exact = (Decimal(x) / scale).ln() * scale
            assert abs(Decimal(ln_fixed(x, scale)) - exact) < 1, x


@pytest.mark.parametrize("scale", SCALES)
def test_normal_cdf_is_within_one_unit_of_a_120_digit_reference(scale):
    with localcontext() as context:
        context.prec = DIGITS
        for x in grid(scale, -15, 15, 300):
            exact = reference_cdf(Decimal(x) / scale) * scale
            assert abs(Decimal(normal_cdf_fixed(x, scale)) - exact) < 1, x


@pytest.mark.parametrize("scale", SCALES)
def test_normal_pdf_is_within_one_unit_of_a_120_digit_reference(scale):
    with localcontext() as context:
        context.prec = DIGITS
        for x in grid(scale, -17, 17, 340):
            exact = reference_pdf(Decimal(x) / scale) * scale
            assert abs(Decimal(normal_pdf_fixed(x, scale)) - exact) < 1, x


def test_normal_cdf_agrees_with_math_erfc_to_float_precision():
    for i in range(-800, 801):
        x = i * ONE // 100
        assert abs(normal_cdf_fixed(x) - 0.5 * math.erfc(-i / 100 / math.sqrt(2)) * ONE) < 1e-15 * ONE, i


def test_sqrt_is_exactly_the_floor_of_the_root():
    for x in (0, 1, 2, ONE, 2 * ONE, 10**40 + 12345):
        root = sqrt_fixed(x)
        assert root * root <= x * ONE < (root + 1) * (root + 1)


def test_normal_cdf_of_x_and_of_minus_x_add_to_one_within_a_unit():
    for x in grid(ONE, -15, 15, 301):
        assert normal_cdf_fixed(x) + normal_cdf_fixed(-x) in (ONE, ONE - 1)


def test_normal_cdf_is_clamped_to_0_and_1_from_14():
    assert normal_cdf_fixed(14 * ONE) == ONE
    assert normal_cdf_fixed(-14 * ONE) == 0
    assert normal_cdf_fixed(10**6 * WORKING_SCALE, WORKING_SCALE) == WORKING_SCALE
    assert normal_cdf_fixed(14 * ONE - 1) == ONE - 1  # just inside: 1 - Phi is above 0, rounded down


def test_normal_pdf_is_clamped_to_0_beyond_16():
    assert normal_pdf_fixed(16 * ONE + 1) == 0
    assert normal_pdf_fixed(-(10**9) * ONE) == 0


def test_exp_refuses_an_argument_outside_plus_or_minus_128():
    with pytest.raises(AssertionError):
        exp_fixed(128 * ONE + 1)
    with pytest.raises(AssertionError):
        exp_fixed(-128 * ONE - 1)


def test_ln_refuses_zero_and_negative_arguments():
    for x in (0, -1):
        with pytest.raises(AssertionError):
            ln_fixed(x)


def test_sqrt_refuses_a_negative_argument():
    with pytest.raises(AssertionError):
        sqrt_fixed(-1)


def test_a_scale_must_be_a_power_of_ten_up_to_10_to_the_40():
    for scale in (0, 3, 2**60, 10**41):
        with pytest.raises(AssertionError):
            exp_fixed(0, scale)


def test_pinned_outputs_at_ONE():
    # A change of rounding or of the series changes these: it must be deliberate.
    assert exp_fixed(ONE) == 2_718281828459045235
    assert exp_fixed(-ONE) == 367879441171442321
    assert ln_fixed(2 * ONE) == 693147180559945309
    assert ln_fixed(ONE // 10) == -2_302585092994045685
    assert sqrt_fixed(2 * ONE) == 1_414213562373095048
    assert normal_cdf_fixed(ONE) == 841344746068542948
    assert normal_cdf_fixed(-ONE) == 158655253931457051
    assert normal_cdf_fixed(0) == ONE // 2
    assert normal_pdf_fixed(0) == 398942280401432677


@given(st.integers(-40 * ONE, 40 * ONE), st.integers(0, ONE))
def test_exp_is_non_decreasing(x, step):
    assert exp_fixed(x) <= exp_fixed(x + step)


@given(st.integers(-15 * ONE, 15 * ONE), st.integers(0, ONE))
def test_normal_cdf_is_non_decreasing(x, step):
    assert normal_cdf_fixed(x) <= normal_cdf_fixed(x + step)


@given(st.integers(1, 10**40), st.integers(0, 10**40))
def test_ln_is_non_decreasing(x, step):
    assert ln_fixed(x) <= ln_fixed(x + step)
