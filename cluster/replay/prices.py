"""The replay's price series: a CSV, one signed PriceUpdate per row (`load_prices`).

    time,market,source,price[,source_time]
    1584000000000,BTC-PERP,a,8000000000

- `time`: ledger time in ms; rows must be in time order (equal times allowed). All rows with the
  same time go into one entry, so the CSV's time step is also the liquidation pace (liquidating
  accounts take one slice per entry).
- `market`: a market of the scenario; `source`: one of that market's `sources`.
- `price`: an integer (0 or negative ones are sent as they are: the ledger refuses them).
- optional `source_time`: the source's own time (ms), default `time`; an old one shows a late feed.
- Blank lines and lines starting with `#` are ignored.
The replay signs each row with the source's deterministic key,
node.identity.keys.private_key_from_seed(f"oracle:{source}") (scenario.source_key), and registers that key
at listing. Every problem is a ScenarioError naming the file, line and column to fix.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cluster.replay.scenario import Scenario, ScenarioError
from node.ledger.limits import INT64_MAX, INT64_MIN, entry_commands_max

csv_columns = ("time", "market", "source", "price")
csv_optional_column = "source_time"
# Bounds on the inputs: a replay holds every row and every timeline line in memory.
price_rows_max = 1_000_000


@dataclass(frozen=True, slots=True)
class PriceRow:
    line: int  # line in the CSV
    time_ms: int
    market: str
    source: str
    price: int
    source_time_ms: int



_INTEGER = re.compile(r"[+-]?[0-9]+")


def load_prices(path: Path, scenario: Scenario) -> tuple[PriceRow, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read the prices: {error.strerror or error}") from None
    header: list[str] | None = None
    rows: list[PriceRow] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if header is None:
            if tuple(cells) not in (csv_columns, csv_columns + (csv_optional_column,)):
                raise ScenarioError(
                    f"{path}:{number}: the header must be '{','.join(csv_columns)}' "
                    f"(optionally ',{csv_optional_column}'), got '{line.strip()}'"
                )
            header = cells
            continue
        if len(cells) != len(header):
            raise ScenarioError(f"{path}:{number}: expected {len(header)} columns ({','.join(header)}), got {len(cells)}")
        values = dict(zip(header, cells))

        def integer(column: str, what: str) -> int:
            cell = values[column]
            if not _INTEGER.fullmatch(cell):
                raise ScenarioError(f"{path}:{number}: column '{column}': {cell!r} is not an integer ({what})")
            value = int(cell)
            if not INT64_MIN <= value <= INT64_MAX:
                raise ScenarioError(f"{path}:{number}: column '{column}': {cell} is outside int64")
            return value

        time_ms = integer("time", "ledger time in ms")
        if time_ms < 0:
            raise ScenarioError(f"{path}:{number}: column 'time': {time_ms} is negative")
        market, source = values["market"], values["source"]
        known = scenario.market(market)
        if known is None:
            names = ", ".join(m.market for m in scenario.markets)
            raise ScenarioError(f"{path}:{number}: column 'market': no market {market!r} in the scenario (markets: {names})")
        if source not in scenario.source_names(market):
            names = ", ".join(scenario.source_names(market))
            raise ScenarioError(f"{path}:{number}: column 'source': {source!r} is not a source of {market} (sources: {names})")
        price = integer("price", "quote minor units per contract")
        source_time = integer(csv_optional_column, "ms") if csv_optional_column in values else time_ms
        if rows and time_ms < rows[-1].time_ms:
            raise ScenarioError(
                f"{path}:{number}: column 'time': {time_ms} is before the previous row's {rows[-1].time_ms} "
                "(rows must be in time order)"
            )
        if len(rows) == price_rows_max:
            raise ScenarioError(f"{path}:{number}: more than {price_rows_max} price rows")
        rows.append(PriceRow(number, time_ms, market, source, price, source_time))
    if header is None or not rows:
        raise ScenarioError(f"{path}: no price rows (header '{','.join(csv_columns)}' and at least one row)")
    per_time = Counter(row.time_ms for row in rows)
    time_ms, count = max(sorted(per_time.items()), key=lambda item: item[1])
    if count > entry_commands_max:
        raise ScenarioError(f"{path}: {count} rows at time {time_ms}: at most {entry_commands_max} fit one entry")
    return tuple(rows)
