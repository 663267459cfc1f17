"""Write scenarios/calm-then-volatile.csv: a synthetic BTC-PERP path for comparing a static price
band with an adaptive one (docs/design.md#adaptive-thresholds). Not market data.

    python -m cluster.bench.calm_then_volatile [--out scenarios/calm-then-volatile.csv]

One source, a row every 10 s for 150 minutes, from $10,000. Log-returns are Gaussian from a seeded
generator (seed 18, so the file is the same on every run): 0.1% a step while calm (0-60 min and
120-150 min), 1.5% a step while volatile (60-120 min). Two real crashes are laid over it: -12% in
20 s at 30 min, in the calm, and -40% in 30 s at 110 min, in the volatile spell. Prices are rounded
to the $1 tick; the floats stay here, outside the ledger.
"""

from __future__ import annotations

import argparse
import math
import random
from pathlib import Path

SEED = 18
START_MS = 1_700_000_000_000
STEP_MS = 10_000
STEPS = 900  # 150 minutes
START_PRICE = 10_000_000_000  # $10,000 in quote minor units
TICK = 1_000_000  # $1
CALM_SIGMA = 0.001
VOLATILE_SIGMA = 0.015
VOLATILE_STEPS = range(360, 720)  # 60-120 min
# (first step, steps, total log-move): the real crashes, spread evenly over their steps
CRASHES = ((180, 2, math.log(0.88)), (660, 3, math.log(0.60)))
CRASH_WINDOWS_MS = tuple((START_MS + first * STEP_MS, START_MS + (first + steps) * STEP_MS) for first, steps, _ in CRASHES)


def series() -> list[tuple[int, int]]:
    """(time ms, price) rows."""
    rng = random.Random(SEED)
    log_price = math.log(START_PRICE)
    rows = []
    for step in range(STEPS):
        if step:
            sigma = VOLATILE_SIGMA if step in VOLATILE_STEPS else CALM_SIGMA
            log_price += rng.gauss(0.0, sigma)
            for first, steps, move in CRASHES:
                if first <= step < first + steps:
                    log_price += move / steps
        price = max(TICK, round(math.exp(log_price) / TICK) * TICK)
        rows.append((START_MS + step * STEP_MS, price))
    return rows


def write(path: Path) -> None:
    lines = [
        "# Synthetic BTC-PERP for the static-vs-adaptive band comparison (cluster/bench/adaptive_bands.py),",
        f"# written by `python -m cluster.bench.calm_then_volatile` (seed {SEED}): a row every 10 s for 150 min;",
        "# Gaussian log-returns of 0.1% a step while calm (0-60, 120-150 min), 1.5% while volatile (60-120 min);",
        "# real crashes of -12% in 20 s at 30 min and -40% in 30 s at 110 min. Not market data.",
        "time,market,source,price",
    ]
    lines += [f"{time_ms},BTC-PERP,a,{price}" for time_ms, price in series()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cluster.bench.calm_then_volatile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("scenarios/calm-then-volatile.csv"))
    args = parser.parse_args(argv)
    write(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
