"""A static price band against an adaptive one, side by side, on the shipped scenarios and on a
synthetic calm-then-volatile series (docs/design.md#adaptive-thresholds).

    python -m cluster.bench.adaptive_bands [--markdown] [--json FILE]

Each series is replayed twice through the pure ledger (cluster/replay, every invariant checked as
apply checks them): once with its market's band static, once adaptive, every other parameter as
the scenario lists it. The static band is the scenario's own; a scenario that lists its breaker
off (band_bps 0) is given 10% over six of its price steps, with a cooldown of one step. The
adaptive band follows one rule for every series, derived from the static one, not tuned per series:

    band_floor_bps = static / 2, band_ceiling_bps = min(3 x static, 10,000),
    volatility_half_life_ms = min(10 x band_window_ms, 30 days),
    band_volatility_pct = 100 x sqrt(10 x band_window_ms / volatility_half_life_ms)

(with a half-life ten windows long, the variance sums about 14 windows of squared moves, so 100%
of its square root is about 3.8 sigmas of one window: README "Adaptive thresholds"; a shorter
half-life, capped by the ledger's maximum, gets a larger multiple for the same band). A trip inside a
series' marked crash window counts as a trip on a real crash; the others as trips on ordinary
volatility. "crash kept": every crash the static band tripped on, the adaptive band tripped on too.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from cluster.bench.calm_then_volatile import CRASH_WINDOWS_MS
from cluster.replay.prices import load_prices
from cluster.replay.run import replay
from cluster.replay.scenario import Scenario, load_scenario
from node.ledger.limits import band_ceiling_bps_max, volatility_half_life_ms_max

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
static_band_default_bps = 1_000  # for a scenario that lists its breaker off
band_window_steps = 6  # ... over this many of its price steps
half_life_windows = 10
band_volatility_pct_at_ten_windows = 100


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    crash_windows_ms: tuple[tuple[int, int], ...]  # [start, end) of ledger time: the real crashes
    note: str


SERIES = (
    Series("march-2020", ((1_584_000_060_000, 1_584_000_300_000),), "the fall to $6,000 in 4% steps and the wick to $4,100"),
    Series("luna-2022", ((1_652_140_860_000, 1_652_141_320_000),), "the collapse to $0.0675 and the reopening at $0.01"),
    Series("fund-unwind-long", (), "13 weekly years: no crash marked"),
    Series("perp-economics", (), "4 hourly days, a squeeze: no crash marked"),
    Series("calm-then-volatile", CRASH_WINDOWS_MS, "-12% in the calm, -40% in the volatile spell"),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    trips: int
    crash_trips: int
    ordinary_trips: int
    crashes_tripped: tuple[bool, ...]  # per crash window


def static_and_adaptive(scenario: Scenario, step_ms: int) -> tuple[Scenario, Scenario, int]:
    """The scenario with its bands static and adaptive, and the static band in bps."""
    static_markets, adaptive_markets = [], []
    for m in scenario.markets:
        if not m.band_bps:
            m = replace(m, band_bps=static_band_default_bps, band_window_ms=band_window_steps * step_ms, cooldown_ms=step_ms)
        static_markets.append(m)
        half_life_ms = min(half_life_windows * m.band_window_ms, volatility_half_life_ms_max)
        pct = round(band_volatility_pct_at_ten_windows * math.sqrt(half_life_windows * m.band_window_ms / half_life_ms))
        adaptive_markets.append(replace(
            m, band_bps=0, volatility_half_life_ms=half_life_ms, band_volatility_pct=pct,
            band_floor_bps=m.band_bps // 2, band_ceiling_bps=min(3 * m.band_bps, band_ceiling_bps_max),
        ))
    static_band = static_markets[0].band_bps
    return replace(scenario, markets=tuple(static_markets)), replace(scenario, markets=tuple(adaptive_markets)), static_band


def outcome(scenario: Scenario, rows, crash_windows_ms: tuple[tuple[int, int], ...]) -> Outcome:
    run = replay(scenario, rows)
    times = [time_ms for time_ms, _ in run.band_trips]
    tripped = tuple(any(start <= t < end for t in times) for start, end in crash_windows_ms)
    in_crash = sum(1 for t in times if any(start <= t < end for start, end in crash_windows_ms))
    return Outcome(len(times), in_crash, len(times) - in_crash, tripped)


def compare(series: Series) -> dict:
    scenario = load_scenario(SCENARIOS / f"{series.name}.toml")
    rows = load_prices(SCENARIOS / f"{series.name}.csv", scenario)
    times = sorted({row.time_ms for row in rows})
    step_ms = min(b - a for a, b in zip(times, times[1:]))
    static, adaptive, static_band = static_and_adaptive(scenario, step_ms)
    before, after = outcome(static, rows, series.crash_windows_ms), outcome(adaptive, rows, series.crash_windows_ms)
    kept = all(a for s, a in zip(before.crashes_tripped, after.crashes_tripped) if s)
    m = adaptive.markets[0]
    return {
        "series": series.name,
        "static_band_bps": static_band,
        "adaptive": f"{m.band_floor_bps}-{m.band_ceiling_bps} bps, {m.band_volatility_pct}% of sigma, half-life {m.volatility_half_life_ms} ms",
        "trips_static": before.trips,
        "trips_adaptive": after.trips,
        "ordinary_trips_static": before.ordinary_trips,
        "ordinary_trips_adaptive": after.ordinary_trips,
        "crashes": len(series.crash_windows_ms),
        "crashes_tripped_static": sum(before.crashes_tripped),
        "crashes_tripped_adaptive": sum(after.crashes_tripped),
        "crash_kept": ("yes" if kept else "no") if series.crash_windows_ms else "n/a",
        "note": series.note,
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| series | static band | adaptive band | trips static | trips adaptive | on ordinary volatility (static → adaptive) | crashes tripped (static → adaptive) | crash trips kept |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        crashes = f"{r['crashes_tripped_static']}/{r['crashes']} → {r['crashes_tripped_adaptive']}/{r['crashes']}" if r["crashes"] else "none marked"
        lines.append(
            f"| {r['series']} | {r['static_band_bps']} bps | {r['adaptive']} | {r['trips_static']} | {r['trips_adaptive']} "
            f"| {r['ordinary_trips_static']} → {r['ordinary_trips_adaptive']} | {crashes} | {r['crash_kept']} |"
        )
    return "\n".join(lines)


def plain(results: list[dict]) -> str:
    header = ("series", "static", "trips static", "trips adaptive", "ordinary s->a", "crashes s->a", "kept")
    rows = [header] + [
        (r["series"], f"{r['static_band_bps']} bps", str(r["trips_static"]), str(r["trips_adaptive"]),
         f"{r['ordinary_trips_static']} -> {r['ordinary_trips_adaptive']}",
         f"{r['crashes_tripped_static']}/{r['crashes']} -> {r['crashes_tripped_adaptive']}/{r['crashes']}", r["crash_kept"])
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cluster.bench.adaptive_bands", description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (as in the README)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    results = [compare(series) for series in SERIES]
    print(markdown(results) if args.markdown else plain(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
