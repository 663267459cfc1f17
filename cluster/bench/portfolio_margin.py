"""What one account's scenario portfolio margin costs as its positions in one underlying grow
(docs/design.md#option-pricing-and-portfolio-margin).

    python -m cluster.bench.portfolio_margin [--positions 1,10,50] [--repeats 20]

The book: one long perpetual and the rest options, calls and puts alternating, strikes from 0.6x
to 1.6x the index, expiries from 1 day to a year, volatilities from 40% to 160%, sizes from -3 to
3 (never 0), all derived from the position's number (no randomness, so every run values the same
book). With one position the book is the perpetual alone. The figures are the mean time, over
`repeats` runs each, of `underlying_requirement` (a full revaluation: 17 prices per option, now and
in the 16 scenarios), of `requirement_from_risk_arrays` (the same requirement from risk arrays kept
per contract: integer sums only), of building those arrays, and of `underlying_greeks` (one
valuation per option).

Prints one JSON object per position count. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from node.ledger import option_margin
from node.ledger.commands import OptionType
from node.ledger.portfolio_margin import (
    LinearPosition,
    OptionPosition,
    ScenarioParams,
    UnderlyingBook,
    requirement_from_risk_arrays,
    risk_array,
    underlying_greeks,
    underlying_requirement,
)
from node.runtime import tune_garbage_collector

INDEX = 100_000 * 10**6  # $100,000 in quote minor units
NOW_MS = 1_700_000_000_000
DAY_MS = 86_400_000
# The grid the ledger margins option holders with (node/ledger/option_margin.py), on an underlying
# whose initial margin is 1,500 bps (the price scan) and whose maintenance is 80% of it.
PARAMS = ScenarioParams(
    price_scan_bps=1_500,
    vol_scan_ppm=option_margin.option_vol_scan_ppm,
    extreme_move_multiple=option_margin.option_extreme_move_multiple,
    extreme_fraction_pct=option_margin.option_extreme_fraction_pct,
    short_option_minimum_bps=option_margin.short_option_minimum_bps,
    maintenance_pct=80,
)


def book(positions: int) -> UnderlyingBook:
    held: list[LinearPosition | OptionPosition] = [LinearPosition(1, INDEX)]
    for n in range(1, positions):
        held.append(OptionPosition(
            size=(n % 7) - 3 or 1,
            option_type=OptionType.CALL if n % 2 else OptionType.PUT,
            strike=INDEX * (60 + (n * 37) % 101) // 100,
            expiry_ms=NOW_MS + (1 + (n * 53) % 365) * DAY_MS,
            volatility_ppm=400_000 + (n * 97_000) % 1_200_000,
        ))
    return UnderlyingBook(INDEX, tuple(held))


def mean_microseconds(function, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - started) / repeats * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positions", default="1,10,50", help="comma-separated position counts")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    tune_garbage_collector()
    for positions in (int(p) for p in args.positions.split(",")):
        account = book(positions)
        underlying_requirement(account, NOW_MS, PARAMS)  # warm up
        requirement_us = mean_microseconds(lambda: underlying_requirement(account, NOW_MS, PARAMS), args.repeats)
        greeks_us = mean_microseconds(lambda: underlying_greeks(account, NOW_MS), args.repeats)

        def arrays():
            return tuple((p.size, risk_array(p, account.index, NOW_MS, PARAMS)) for p in account.positions)

        held = arrays()
        shorts = sum(-p.size for p in account.positions if isinstance(p, OptionPosition) and p.size < 0)
        assert requirement_from_risk_arrays(held, shorts, INDEX, PARAMS) == underlying_requirement(account, NOW_MS, PARAMS)
        arrays_us = mean_microseconds(arrays, args.repeats)
        kept_us = mean_microseconds(lambda: requirement_from_risk_arrays(held, shorts, INDEX, PARAMS), args.repeats * 50)
        print(json.dumps({
            "benchmark": "portfolio_margin_revaluation",
            "positions": positions,
            "options": positions - 1,
            "repeats": args.repeats,
            "microseconds_per_requirement": round(requirement_us, 1),
            "microseconds_per_requirement_from_kept_risk_arrays": round(kept_us, 1),
            "microseconds_to_build_the_risk_arrays": round(arrays_us, 1),
            "microseconds_per_greeks": round(greeks_us, 1),
            "python": platform.python_version(),
        }), flush=True)


if __name__ == "__main__":
    main()
