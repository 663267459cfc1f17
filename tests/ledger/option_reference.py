"""A floating-point Black-Scholes (zero rate), outside the ledger: the reference the ledger's
integer pricing (node/ledger/option_pricing.py) is compared with. math and math.erf only."""

from __future__ import annotations

import math

year_ms = 31_536_000_000


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def normal_pdf(x: float) -> float:
    return math.exp(-x * x / 2.0) / math.sqrt(2.0 * math.pi)


def reference_valuation(is_call: bool, index: float, strike: float, volatility_ppm: int, time_to_expiry_ms: int):
    """(price, delta, gamma, vega) in the ledger's units: price in quote minor units, delta in
    billionths, gamma in billionths of delta per 1% index move, vega in minor units per vol point."""
    sigma = volatility_ppm / 1e6
    years = time_to_expiry_ms / year_ms
    spread = sigma * math.sqrt(years)
    d1 = (math.log(index / strike) + spread * spread / 2.0) / spread
    d2 = d1 - spread
    if is_call:
        price = index * normal_cdf(d1) - strike * normal_cdf(d2)
        delta = normal_cdf(d1)
    else:
        price = strike * normal_cdf(-d2) - index * normal_cdf(-d1)
        delta = -normal_cdf(-d1)
    gamma = normal_pdf(d1) / spread / 100.0
    vega = index * normal_pdf(d1) * math.sqrt(years) / 100.0
    return price, delta * 1e9, gamma * 1e9, vega


# The comparison grid: strikes 0.5x-2x the index, volatilities 10%-300%, times 1 hour to 1 year.
GRID_INDEX = 100_000 * 10**6  # $100,000 in quote minor units (1e-6 USD)
GRID_STRIKE_PCTS = (50, 60, 70, 80, 90, 95, 100, 105, 110, 125, 150, 175, 200)
GRID_VOLATILITIES_PPM = (100_000, 200_000, 400_000, 800_000, 1_200_000, 2_000_000, 3_000_000)
GRID_TIMES_MS = (3_600_000, 86_400_000, 7 * 86_400_000, 30 * 86_400_000, 91 * 86_400_000, year_ms)


def grid_worst_errors() -> dict[str, float]:
    """The largest |ledger - reference| over the grid, for price, delta, gamma and vega, in the
    ledger's units (calls and puts)."""
    from node.ledger.commands import OptionType
    from node.ledger.option_pricing import option_valuation

    worst = {"price": 0.0, "delta": 0.0, "gamma": 0.0, "vega": 0.0}
    for strike_pct in GRID_STRIKE_PCTS:
        strike = GRID_INDEX * strike_pct // 100
        for volatility_ppm in GRID_VOLATILITIES_PPM:
            for time_ms in GRID_TIMES_MS:
                for option_type in (OptionType.CALL, OptionType.PUT):
                    ledger = option_valuation(option_type, GRID_INDEX, strike, volatility_ppm, time_ms)
                    reference = reference_valuation(option_type == OptionType.CALL, GRID_INDEX, strike, volatility_ppm, time_ms)
                    for name, value, expected in zip(worst, (ledger.price, ledger.delta, ledger.gamma, ledger.vega), reference):
                        worst[name] = max(worst[name], abs(value - expected))
    return worst


if __name__ == "__main__":
    # python -m tests.ledger.option_reference: the worst error of the ledger's pricing over the grid.
    import json

    points = len(GRID_STRIKE_PCTS) * len(GRID_VOLATILITIES_PPM) * len(GRID_TIMES_MS) * 2
    print(json.dumps({"points": points, "worst_abs_error": grid_worst_errors()}, indent=2))
