"""Replay a price series through the pure ledger and show every guard decision it takes.

    python -m cluster replay --prices scenarios/march-2020.csv --scenario scenarios/march-2020.toml \\
        [--plot FILE.png | --no-plot] [--json FILE.json] [--verbose]

No cluster and no network: the scenario's markets, funds and accounts are set up in one entry,
then every distinct CSV time becomes one entry of `node.ledger.apply` (with the real Ed25519
verifier, node.identity.keys.verify_ed25519), stamped with that time. The output is a timeline of guard
decisions (price updates refused, oracle verdicts, breaker trips, market status changes,
liquidation slices, auto-deleveraging, global mode changes, insurance fund balances), then a
summary table, the final state hash, and a plot. The same inputs always give byte-identical
stdout, PNG, JSON and state hash.

Units are the ledger's: amounts and prices in quote minor units (1 unit = 1e-6 USD; prices per
contract), quantities in whole contracts, ratios in basis points, times in milliseconds of
ledger time. The output shows money as USD.

Prices CSV (one signed PriceUpdate per row)
-------------------------------------------
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
node.identity.keys.private_key_from_seed(f"oracle:{source}"), and registers that key at listing.

Scenario TOML
-------------
    title = "..."                    # optional, shown in the output and on the plot

    [[markets]]                      # one table per market: node/ledger/commands.py CreateMarket
    market = "BTC-PERP"              # fields by name; `id` is derived, `kind` defaults to
    sources = ["a", "b", "c"]        # "PERPETUAL"; fields without a default there are required
    tick_size = 1_000_000
    ...

    [funds]                          # optional initial deposits
    insurance = 30_000_000_000       # sys:insurance
    [funds.markets]
    BTC-PERP = 20_000_000_000        # sys:fund:BTC-PERP

    [[accounts]]
    id = "whale"
    deposit = 100_000_000_000_000

    [[positions]]                    # opening trades: applied in their own entry right after the
    buyer = "long-00"                # market's first VALID mark, or at `time` (ms) if given
    seller = "whale"
    market = "BTC-PERP"
    price = 8_000_000_000
    quantity = 100

    [[events]]                       # optional timed commands: kind = "withdraw" | "deposit"
    time = 1584000200000             # (account, amount) or "trade" (buyer, seller, market,
    kind = "withdraw"                # price, quantity); `note` is printed with the result
    account = "whale"
    amount = 1_000_000_000

Commands with a `time` go into that time's entry after its price rows. A scenario error (a
missing or unknown field, a bad number, an unknown market or source in the CSV, a listing the
ledger refuses) is reported with the file, line and field at fault, and the exit code is 2.
A broken ledger invariant exits with 1.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import difflib
import json
import re
import sys
import tomllib
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from node.identity.keys import private_key_from_seed, raw_public_key, sign_price, verify_ed25519
from node.ledger import INSURANCE_FUND, LedgerInvariantError, LedgerState, LogEntry, apply, check_full
from node.ledger.commands import (
    Command,
    CreateMarket,
    Deposit,
    MarketKind,
    OptionType,
    OracleSource,
    PriceUpdate,
    SettleTrade,
    Withdraw,
)
from node.ledger.events import (
    BreakerTripped,
    Deleveraged,
    GlobalModeChanged,
    Liquidation,
    MarketStatusChanged,
    OracleVerdictChanged,
)
from node.ledger.limits import (
    INT64_MAX,
    INT64_MIN,
    account_id_bytes_max,
    entry_commands_max,
    market_id_bytes_max,
    source_id_bytes_max,
)
from node.ledger.records import AccountStatus, GlobalMode, GlobalReason, MarketStatus, OracleVerdict, StatusReason
from node.ledger.results import Result, ResultCode
from node.ledger.state import is_fund, market_fund
from node.ledger.state_hash import hash_bytes
from node.ledger.validation import is_client_account_id, is_valid_id

EXIT_OK = 0
EXIT_INVARIANT = 1
EXIT_INPUT = 2

usd_minor_units = 1_000_000
csv_columns = ("time", "market", "source", "price")
csv_optional_column = "source_time"
event_kinds = ("withdraw", "deposit", "trade")
# Bounds on the inputs: a replay holds every row and every timeline line in memory.
price_rows_max = 1_000_000
# CreateMarket fields the replay sets itself, and defaults it adds to CreateMarket's.
_derived_market_fields = ("id",)
_market_field_defaults = {"kind": "PERPETUAL"}


class ScenarioError(Exception):
    """Bad input: the message names the file, the line when known, and what to fix."""


# -- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PriceRow:
    line: int  # line in the CSV
    time_ms: int
    market: str
    source: str
    price: int
    source_time_ms: int


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A scenario command (opening position or event): `time_ms` None = after the first VALID mark."""

    label: str  # "positions #2", "events #1": how the scenario names it
    line: int | None
    time_ms: int | None
    market: str  # "" for commands of no market
    command: Command
    note: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    path: Path
    title: str
    markets: tuple[CreateMarket, ...]
    market_lines: tuple[int | None, ...]
    insurance: int
    market_funds: tuple[tuple[str, int], ...]  # (market, amount), scenario order
    accounts: tuple[tuple[str, int], ...]  # (id, deposit)
    positions: tuple[Scheduled, ...]
    events: tuple[Scheduled, ...]

    def market(self, market_id: str) -> CreateMarket | None:
        return next((m for m in self.markets if m.market == market_id), None)

    def source_names(self, market_id: str) -> tuple[str, ...]:
        market = self.market(market_id)
        return tuple(s.source for s in market.sources) if market else ()


class _Locator:
    """Line numbers of TOML tables and keys, so errors point at the line to fix (tomllib keeps
    none once parsed). A heuristic over the text: it finds `[table]`, `[[array]]` headers and
    `key =` lines; a value it cannot place is reported without a line."""

    _array = re.compile(r"\s*\[\[\s*([^\[\]]+?)\s*\]\]")
    _table = re.compile(r"\s*\[\s*([^\[\]]+?)\s*\]")

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.sections: list[tuple[int, str, int]] = [(0, "", 0)]  # (header line, name, ordinal)
        counts: dict[str, int] = {}
        for number, line in enumerate(self.lines, 1):
            match = self._array.match(line) or self._table.match(line)
            if match:
                name = match.group(1)
                ordinal = counts.get(name, 0)
                counts[name] = ordinal + 1
                self.sections.append((number, name, ordinal))

    def table(self, name: str, ordinal: int = 0) -> int | None:
        for number, section, n in self.sections:
            if section == name and n == ordinal:
                return number or None
        return None

    def key(self, name: str, ordinal: int, key: str) -> int | None:
        for i, (number, section, n) in enumerate(self.sections):
            if section == name and n == ordinal:
                end = self.sections[i + 1][0] if i + 1 < len(self.sections) else len(self.lines) + 1
                pattern = re.compile(r"\s*(" + re.escape(key) + r"|\"" + re.escape(key) + r"\"|'" + re.escape(key) + r"')\s*=")
                for line_number in range(number + 1, end):
                    if pattern.match(self.lines[line_number - 1]):
                        return line_number
                return number or None
        return None


class _Table:
    """One TOML table being read: typed getters that raise ScenarioError at the right line."""

    def __init__(self, path: Path, locator: _Locator, section: str, ordinal: int, where: str, data: object) -> None:
        self.path, self.locator, self.section, self.ordinal, self.where = path, locator, section, ordinal, where
        if not isinstance(data, dict):
            raise self.error(f"expected a table, got {_show(data)}")
        self.data: dict = data

    def error(self, problem: str, key: str | None = None) -> ScenarioError:
        line = self.locator.key(self.section, self.ordinal, key) if key else self.locator.table(self.section, self.ordinal)
        at = f"{self.path}:{line}" if line else f"{self.path}"
        what = f"{self.where}, field '{key}'" if key else self.where
        return ScenarioError(f"{at}: {what}: {problem}")

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; known fields: {', '.join(allowed)}"
                raise self.error(f"unknown field{hint}", key)

    def has(self, key: str) -> bool:
        return key in self.data

    def integer(self, key: str, what: str, default: int | None = None, minimum: int = INT64_MIN) -> int:
        if key not in self.data:
            if default is None:
                raise self.error(f"missing field '{key}' ({what})")
            return default
        value = self.data[key]
        if type(value) is not int:
            raise self.error(f"expected an integer ({what}), got {_show(value)}", key)
        if not INT64_MIN <= value <= INT64_MAX:
            raise self.error(f"{value} is outside int64", key)
        if value < minimum:
            raise self.error(f"must be at least {minimum}, got {value}", key)
        return value

    def string(self, key: str, what: str, default: str | None = None) -> str:
        if key not in self.data:
            if default is None:
                raise self.error(f"missing field '{key}' ({what})")
            return default
        value = self.data[key]
        if type(value) is not str:
            raise self.error(f"expected a string ({what}), got {_show(value)}", key)
        return value


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    return repr(value)


def _array(raw: dict, key: str, path: Path, locator: _Locator, required: bool) -> list:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        line = locator.key("", 0, key)
        raise ScenarioError(f"{path}:{line or 1}: '{key}' must be an array of tables ([[{key}]])")
    if required and not value:
        raise ScenarioError(f"{path}: the scenario needs at least one [[{key}]] table")
    return value


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read the scenario: {error.strerror or error}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: TOML syntax error: {error}") from None
    locator = _Locator(text)
    top = _Table(path, locator, "", 0, "top level", raw)
    top.check_keys(("title", "markets", "funds", "accounts", "positions", "events"))
    title = top.string("title", "a title for the output", default=path.stem)

    markets, market_lines = [], []
    for n, data in enumerate(_array(raw, "markets", path, locator, required=True)):
        table = _Table(path, locator, "markets", n, f"[[markets]] #{n + 1}", data)
        market = _market(table)
        if any(m.market == market.market for m in markets):
            raise table.error(f"market {market.market} is listed twice", "market")
        markets.append(market)
        market_lines.append(locator.table("markets", n))
    market_ids = [m.market for m in markets]

    insurance, market_funds = 0, []
    if "funds" in raw:
        funds = _Table(path, locator, "funds", 0, "[funds]", raw["funds"])
        funds.check_keys(("insurance", "markets"))
        insurance = funds.integer("insurance", "initial deposit of sys:insurance, quote minor units", default=0, minimum=0)
        if "markets" in funds.data:
            per_market = _Table(path, locator, "funds.markets", 0, "[funds.markets]", funds.data["markets"])
            for market_id in per_market.data:
                if market_id not in market_ids:
                    raise per_market.error(f"no market {market_id} in [[markets]] (markets: {', '.join(market_ids)})", market_id)
                amount = per_market.integer(market_id, f"initial deposit of {market_fund(market_id)}, quote minor units", minimum=0)
                market_funds.append((market_id, amount))

    accounts: list[tuple[str, int]] = []
    for n, data in enumerate(_array(raw, "accounts", path, locator, required=False)):
        table = _Table(path, locator, "accounts", n, f"[[accounts]] #{n + 1}", data)
        table.check_keys(("id", "deposit"))
        account_id = table.string("id", "the account id")
        if not is_client_account_id(account_id, account_id_bytes_max):
            raise table.error(f"{account_id!r} is not an account id: 1-64 of [A-Za-z0-9._:-], not starting with sys:", "id")
        if any(a == account_id for a, _ in accounts):
            raise table.error(f"account {account_id} is declared twice", "id")
        accounts.append((account_id, table.integer("deposit", "initial deposit, quote minor units", minimum=1)))
    account_ids = {a for a, _ in accounts}

    positions = []
    for n, data in enumerate(_array(raw, "positions", path, locator, required=False)):
        table = _Table(path, locator, "positions", n, f"[[positions]] #{n + 1}", data)
        table.check_keys(("buyer", "seller", "market", "price", "quantity", "time", "note"))
        trade = _trade(table, f"pos-{n + 1}", market_ids, account_ids)
        time_ms = table.integer("time", "ledger time in ms", minimum=0) if table.has("time") else None
        positions.append(Scheduled(f"positions #{n + 1}", locator.table("positions", n), time_ms, trade.market, trade,
                                   table.string("note", "a note", default="")))

    events = []
    for n, data in enumerate(_array(raw, "events", path, locator, required=False)):
        table = _Table(path, locator, "events", n, f"[[events]] #{n + 1}", data)
        kind = table.string("kind", f"one of {', '.join(event_kinds)}")
        if kind not in event_kinds:
            raise table.error(f"kind must be one of {', '.join(event_kinds)}, got {kind!r}", "kind")
        command_id = f"ev-{n + 1}"
        market = ""
        if kind == "trade":
            table.check_keys(("time", "kind", "note", "buyer", "seller", "market", "price", "quantity"))
            command: Command = _trade(table, command_id, market_ids, account_ids)
            market = command.market
        else:
            table.check_keys(("time", "kind", "note", "account", "amount"))
            account_id = table.string("account", "the account id")
            known = account_ids | ({INSURANCE_FUND} | {market_fund(m) for m in market_ids} if kind == "deposit" else set())
            if account_id not in known:
                raise table.error(f"no account {account_id} in [[accounts]]" + (" (or a fund)" if kind == "deposit" else ""), "account")
            amount = table.integer("amount", "quote minor units", minimum=1)
            command = Withdraw(command_id, account_id, amount) if kind == "withdraw" else Deposit(command_id, account_id, amount)
        time_ms = table.integer("time", "ledger time in ms", minimum=0)
        events.append(Scheduled(f"events #{n + 1}", locator.table("events", n), time_ms, market, command,
                                table.string("note", "a note", default="")))

    return Scenario(path, title, tuple(markets), tuple(market_lines), insurance, tuple(market_funds), tuple(accounts),
                    tuple(positions), tuple(events))


def _market(table: _Table) -> CreateMarket:
    fields = {f.name: f for f in dataclasses.fields(CreateMarket)}
    allowed = tuple(name for name in fields if name not in _derived_market_fields)
    market_id = table.string("market", "the market id")
    if not is_valid_id(market_id, market_id_bytes_max):
        raise table.error(f"{market_id!r} is not a market id: 1-{market_id_bytes_max} of [A-Za-z0-9._:-]", "market")
    table.where = f"[[markets]] #{table.ordinal + 1} ({market_id})"
    table.check_keys(allowed)
    values: dict[str, object] = {"id": f"list-{market_id}", "market": market_id}
    for name, f in fields.items():
        if name in values:
            continue
        required = f.default is dataclasses.MISSING and name not in _market_field_defaults
        if name == "kind":
            values[name] = _enum(table, name, MarketKind, _market_field_defaults["kind"])
        elif name == "option_type":
            values[name] = _enum(table, name, OptionType, "NONE")
        elif name == "sources":
            values[name] = _sources(table)
        elif not required and not table.has(name):
            continue  # CreateMarket's default
        else:
            values[name] = table.integer(name, "an integer CreateMarket parameter")
    return CreateMarket(**values)  # type: ignore[arg-type]


def _enum(table: _Table, key: str, enum_type: type, default: str):
    name = table.string(key, f"one of {', '.join(enum_type.__members__)}", default=default)
    if name not in enum_type.__members__:
        raise table.error(f"must be one of {', '.join(enum_type.__members__)}, got {name!r}", key)
    return enum_type[name]


def _sources(table: _Table) -> tuple[OracleSource, ...]:
    names = table.data.get("sources")
    if names is None:
        raise table.error("missing field 'sources' (the oracle source ids, e.g. [\"a\", \"b\", \"c\"])")
    if not isinstance(names, list) or not names or not all(type(n) is str for n in names):
        raise table.error(f"expected a non-empty list of source ids, got {_show(names)}", "sources")
    for name in names:
        if not is_valid_id(name, source_id_bytes_max):
            raise table.error(f"{name!r} is not a source id: 1-{source_id_bytes_max} of [A-Za-z0-9._:-]", "sources")
    if len(set(names)) != len(names):
        raise table.error("source ids must be distinct", "sources")
    return tuple(OracleSource(name, raw_public_key(_source_key(name))) for name in names)


def _trade(table: _Table, command_id: str, market_ids: list[str], account_ids: set[str]) -> SettleTrade:
    market = table.string("market", "the market id")
    if market not in market_ids:
        raise table.error(f"no market {market} in [[markets]] (markets: {', '.join(market_ids)})", "market")
    sides = []
    for key in ("buyer", "seller"):
        account_id = table.string(key, "an account id from [[accounts]]")
        if account_id not in account_ids:
            raise table.error(f"no account {account_id} in [[accounts]]", key)
        sides.append(account_id)
    price = table.integer("price", "quote minor units per contract", minimum=1)
    quantity = table.integer("quantity", "contracts", minimum=1)
    return SettleTrade(command_id, market, sides[0], sides[1], price, quantity)


def _source_key(source: str):
    return private_key_from_seed(f"oracle:{source}")


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


# -- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineItem:
    time_ms: int
    index: int  # the entry
    kind: str  # PRICE, VERDICT, BREAKER, STATUS, LIQUIDATION, ADL, ACCOUNT, FUND, GLOBAL, COMMAND, MARK, NOTE
    market: str  # "" when none
    text: str
    repeat_key: str = ""  # items with the same key in a row are printed once, with a count (not --verbose)


@dataclass(slots=True)
class MarketStats:
    updates_accepted: int = 0
    updates_refused: Counter = field(default_factory=Counter)  # result code name -> count
    band_trips: int = 0
    cascade_trips: int = 0
    liquidations: int = 0  # slices
    liquidated_notional: int = 0
    liquidated_accounts: set = field(default_factory=set)
    adl: int = 0  # Deleveraged events
    adl_contracts: int = 0


@dataclass(slots=True)
class Run:
    """What a replay collected: the timeline, the series for the plot, the statistics."""

    scenario: Scenario
    rows: tuple[PriceRow, ...]
    t0_ms: int
    state: LedgerState = field(default_factory=LedgerState)
    timeline: list[TimelineItem] = field(default_factory=list)
    stats: dict[str, MarketStats] = field(default_factory=dict)
    marks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # market -> (time, mark)
    statuses: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # market -> (time, status)
    funds: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # fund -> (time, balance)
    refused_rows: list[PriceRow] = field(default_factory=list)
    band_trips: list[tuple[int, BreakerTripped]] = field(default_factory=list)
    cascade_trips: list[tuple[int, str, int]] = field(default_factory=list)  # (time, market, mark)
    liquidations: list[tuple[int, Liquidation]] = field(default_factory=list)
    deleveraged: list[tuple[int, Deleveraged]] = field(default_factory=list)
    unopened: list[Scheduled] = field(default_factory=list)
    funds_start: dict[str, int] = field(default_factory=dict)
    funds_min: dict[str, int] = field(default_factory=dict)

    @property
    def fund_ids(self) -> list[str]:
        return sorted([INSURANCE_FUND] + [market_fund(m.market) for m in self.scenario.markets])

    def add(self, time_ms: int, index: int, kind: str, market: str, text: str, repeat_key: str = "") -> None:
        self.timeline.append(TimelineItem(time_ms, index, kind, market, text, repeat_key))


def replay(scenario: Scenario, rows: tuple[PriceRow, ...], *, full_check: bool = True) -> Run:
    """Drive the ledger over the rows. `full_check` recomputes every invariant after each entry."""
    scheduled = [s for s in scenario.positions + scenario.events if s.time_ms is not None]
    times = sorted({row.time_ms for row in rows} | {s.time_ms for s in scheduled})
    run = Run(scenario, rows, times[0])
    run.stats = {m.market: MarketStats() for m in scenario.markets}
    state = run.state
    keys = {name: _source_key(name) for m in scenario.markets for name in sorted(scenario.source_names(m.market))}
    index = 0
    previous_funds = {fund: 0 for fund in run.fund_ids}
    previous_status: dict[str, AccountStatus] = {}
    previous_marks: dict[str, int] = {}

    def run_entry(time_ms: int, commands: list[Command], labels: dict[str, Scheduled | PriceRow]) -> None:
        nonlocal index
        if len(commands) > entry_commands_max:
            raise ScenarioError(f"{scenario.path}: {len(commands)} commands at time {time_ms}: at most {entry_commands_max} fit one entry")
        index += 1
        outcome = apply(state, LogEntry(index, time_ms, tuple(commands)), verify_ed25519)
        if full_check:
            check_full(state)
        if index == 1:  # the setup entry: any refusal is a scenario error
            for command, result in zip(commands, outcome.results):
                if not result.ok:
                    raise _setup_error(scenario, command, result)
        for command, result in zip(commands, outcome.results):
            if command.id in labels:  # the scenario's rows and commands (the setup's were checked above)
                _record_result(run, time_ms, index, command, result, labels[command.id])
        # The ledger emits a slice's Deleveraged events before the slice itself: print each
        # slice first and its ADL right under it (the plot and --json are not affected).
        held_adl: list[Deleveraged] = []
        for event in outcome.events:
            if isinstance(event, Deleveraged):
                held_adl.append(event)
                continue
            _record_event(run, time_ms, index, event)
            if isinstance(event, Liquidation):
                for adl in [e for e in held_adl if e.against == event.account and e.market == event.market]:
                    _record_event(run, time_ms, index, adl)
                held_adl = [e for e in held_adl if not (e.against == event.account and e.market == event.market)]
        for adl in held_adl:
            _record_event(run, time_ms, index, adl)
        for account_id in sorted(state.accounts):
            status = state.accounts[account_id].status
            before = previous_status.get(account_id, AccountStatus.ACTIVE)
            if not is_fund(account_id) and status != before and index > 1:
                run.add(time_ms, index, "ACCOUNT", "", f"{account_id} {before.name} -> {status.name}")
            previous_status[account_id] = status
        for fund in run.fund_ids:
            balance = state.accounts[fund].collateral if fund in state.accounts else 0
            if balance != previous_funds[fund] and index > 1:  # the SETUP line shows the first balances
                delta = balance - previous_funds[fund]
                market = fund.removeprefix("sys:fund:") if fund != INSURANCE_FUND else ""
                run.add(time_ms, index, "FUND", market,
                        f"{fund} {usd(previous_funds[fund])} -> {usd(balance)} ({'+' if delta > 0 else '-'}{usd(abs(delta))})")
            run.funds.setdefault(fund, []).append((time_ms, balance))
            if fund in run.funds_start:
                run.funds_min[fund] = min(run.funds_min[fund], balance)
            previous_funds[fund] = balance
        for market_id in sorted(run.stats):
            market = state.markets[market_id]
            run.statuses.setdefault(market_id, []).append((time_ms, market.status))
            if market.mark_price:
                run.marks.setdefault(market_id, []).append((time_ms, market.mark_price))
                if market.mark_price != previous_marks.get(market_id):
                    run.add(time_ms, index, "MARK", market_id, f"mark {usd(market.mark_price)} ({market.oracle_verdict.name})")
                previous_marks[market_id] = market.mark_price

    # Entry 1: list the markets, seed the funds, fund the accounts.
    setup: list[Command] = list(scenario.markets)
    if scenario.insurance:
        setup.append(Deposit("fund-insurance", INSURANCE_FUND, scenario.insurance))
    setup += [Deposit(f"fund-{i + 1}", market_fund(m), amount) for i, (m, amount) in enumerate(scenario.market_funds) if amount]
    setup += [Deposit(f"dep-{i + 1}", account_id, amount) for i, (account_id, amount) in enumerate(scenario.accounts)]
    run_entry(run.t0_ms, setup, {})
    run.funds_start = {fund: balance for fund, balance in previous_funds.items()}
    run.funds_min = dict(run.funds_start)
    run.add(run.t0_ms, index, "SETUP", "",
            f"listed {', '.join(m.market for m in scenario.markets)}; funded {len(scenario.accounts)} accounts; "
            + ", ".join(f"{fund} {usd(run.funds_start[fund])}" for fund in run.fund_ids))

    pending = {m.market: [p for p in scenario.positions if p.time_ms is None and p.market == m.market] for m in scenario.markets}
    rows_at: dict[int, list[PriceRow]] = {}
    for row in rows:
        rows_at.setdefault(row.time_ms, []).append(row)
    scheduled_at: dict[int, list[Scheduled]] = {}
    for item in scheduled:
        scheduled_at.setdefault(item.time_ms, []).append(item)

    for time_ms in times:
        commands: list[Command] = []
        labels: dict[str, Scheduled | PriceRow] = {}
        for row in rows_at.get(time_ms, ()):
            signature = sign_price(keys[row.source], row.market, row.source, row.price, row.source_time_ms)
            command = PriceUpdate(f"px-{row.line}", row.market, row.source, row.price, row.source_time_ms, signature)
            commands.append(command)
            labels[command.id] = row
        for item in scheduled_at.get(time_ms, ()):
            commands.append(item.command)
            labels[item.command.id] = item
        if commands:
            run_entry(time_ms, commands, labels)
        ready = [m for m in sorted(pending) if pending[m] and _valid_mark(state, m)]
        if ready:
            opening = [p for p in scenario.positions if p.time_ms is None and p.market in ready]
            for market_id in ready:
                pending[market_id] = []
            run_entry(time_ms, [p.command for p in opening], {p.command.id: p for p in opening})
    for market_id in sorted(pending):
        for item in pending[market_id]:
            run.unopened.append(item)
            run.add(times[-1], index, "NOTE", market_id, f"{item.label} never opened: {market_id} never had a VALID mark")
    if full_check:
        check_full(state)
    return run


def _valid_mark(state: LedgerState, market_id: str) -> bool:
    market = state.markets[market_id]
    return bool(market.mark_price) and market.oracle_verdict == OracleVerdict.VALID


def _setup_error(scenario: Scenario, command: Command, result: Result) -> ScenarioError:
    problem = f"the ledger refused it: {result.code.name} ({result.message})"
    if isinstance(command, CreateMarket):
        n = next(i for i, m in enumerate(scenario.markets) if m.market == command.market)
        line = scenario.market_lines[n]
        return ScenarioError(f"{scenario.path}:{line}: [[markets]] #{n + 1} ({command.market}): {problem}")
    if isinstance(command, Deposit) and command.id.startswith("fund-"):
        return ScenarioError(f"{scenario.path}: [funds] deposit to {command.account}: {problem}")
    return ScenarioError(f"{scenario.path}: [[accounts]] {getattr(command, 'account', '')}: {problem}")


_PRICE_VERDICT = {
    ResultCode.INVALID_PRICE: "INVALID",
    ResultCode.PRICE_CLAMPED: "INVALID",
    ResultCode.STALE_PRICE: "STALE",
}


def _record_result(run: Run, time_ms: int, index: int, command: Command, result: Result, label) -> None:
    if isinstance(command, PriceUpdate):
        stats = run.stats[command.market]
        if result.ok:
            stats.updates_accepted += 1
            return
        stats.updates_refused[result.code.name] += 1
        if isinstance(label, PriceRow):
            run.refused_rows.append(label)
        verdict = _PRICE_VERDICT.get(result.code, "REFUSED")
        where = f" (csv line {label.line})" if isinstance(label, PriceRow) else ""
        run.add(time_ms, index, "PRICE", command.market,
                f"{verdict} {command.source} {usd(command.price)} refused {result.code.name}: {result.message}{where}",
                repeat_key=f"{command.market}/{command.source}/{command.price}/{result.code.name}")
        return
    assert isinstance(label, Scheduled), command
    if isinstance(command, SettleTrade):
        what = f"trade {command.buyer} buys {command.quantity} from {command.seller} @ {usd(command.price)}"
    elif isinstance(command, Withdraw):
        what = f"withdraw {command.account} {usd(command.amount)}"
    else:
        what = f"deposit {command.account} {usd(command.amount)}"
    outcome = "OK" if result.ok else f"refused {result.code.name}: {result.message}"
    note = f"  [{label.note}]" if label.note else ""
    run.add(time_ms, index, "COMMAND", label.market, f"{label.label}: {what}: {outcome}{note}")


def _record_event(run: Run, time_ms: int, index: int, event) -> None:
    if isinstance(event, Liquidation):
        stats = run.stats[event.market]
        stats.liquidations += 1
        stats.liquidated_notional += abs(event.size) * event.price
        stats.liquidated_accounts.add(event.account)
        run.liquidations.append((time_ms, event))
        side = "long" if event.size > 0 else "short"
        parts = [f"{event.account} {side} {abs(event.size)} @ {usd(event.price)}"]
        parts.append(f"fund took {abs(event.fund_size)}, ADL {abs(event.deleveraged_size)}")
        parts.append(f"fee {usd(event.fee)}")
        if event.fund_paid:
            parts.append(f"funds paid {usd(event.fund_paid)}")
        if event.uncovered:
            parts.append(f"UNCOVERED {usd(event.uncovered)}")
        parts.append(f"left {abs(event.remaining)}")
        run.add(time_ms, index, "LIQUIDATION", event.market, ", ".join(parts))
    elif isinstance(event, Deleveraged):
        stats = run.stats[event.market]
        stats.adl += 1
        stats.adl_contracts += abs(event.size)
        run.deleveraged.append((time_ms, event))
        side = "long" if event.size > 0 else "short"
        run.add(time_ms, index, "ADL", event.market,
                f"{event.account} {side} {abs(event.size)} closed against {event.against} @ {usd(event.price)}")
    elif isinstance(event, BreakerTripped):
        run.stats[event.market].band_trips += 1
        run.band_trips.append((time_ms, event))
        run.add(time_ms, index, "BREAKER", event.market,
                f"price band tripped: mark {usd(event.price)} vs window reference {usd(event.reference)}; "
                f"HALTED until {rel(event.until_ms, run.t0_ms)}")
    elif isinstance(event, MarketStatusChanged):
        market = run.state.markets[event.market]
        reason = StatusReason(event.reason)
        if reason == StatusReason.CASCADE and event.status == MarketStatus.REDUCE_ONLY:
            run.stats[event.market].cascade_trips += 1
            run.cascade_trips.append((time_ms, event.market, market.mark_price))
            run.add(time_ms, index, "BREAKER", event.market,
                    f"cascade breaker tripped: liquidations within {market.cascade_window_ms} ms above "
                    f"{market.cascade_bps} bps of the open interest's notional")
        current = (market.status, market.status_reason, market.status_since_ms) == (event.status, reason, event.at_ms)
        until = f" until {rel(market.status_until_ms, run.t0_ms)}" if current and market.status_until_ms else ""
        reason_text = f" ({reason.name})" if reason != StatusReason.NONE else ""
        run.add(time_ms, index, "STATUS", event.market, f"market {MarketStatus(event.status).name}{reason_text}{until}")
    elif isinstance(event, OracleVerdictChanged):
        verdict = OracleVerdict(event.verdict)
        kept = " kept" if verdict == OracleVerdict.STALE else ""
        run.add(time_ms, index, "VERDICT", event.market,
                f"oracle {verdict.name}: {event.fresh_sources} fresh source{'s' if event.fresh_sources != 1 else ''}, "
                f"mark {usd(event.mark)}{kept}")
    elif isinstance(event, GlobalModeChanged):
        run.add(time_ms, index, "GLOBAL", "", f"global mode {GlobalMode(event.mode).name} ({GlobalReason(event.reason).name})")
    else:  # a new event type: still shown, never dropped
        run.add(time_ms, index, type(event).__name__.upper(), getattr(event, "market", ""), repr(event))


# -- output -----------------------------------------------------------------------------------


def usd(minor: int) -> str:
    """Quote minor units as USD, exactly (integer arithmetic): at least cents, at most 6 digits."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), usd_minor_units)
    digits = f"{fraction:06d}".rstrip("0")
    digits = digits.ljust(2, "0")
    return f"{sign}${whole:,}.{digits}"


def rel(time_ms: int, t0_ms: int) -> str:
    """Ledger time relative to t0 as +HH:MM:SS.mmm."""
    delta = time_ms - t0_ms
    sign = "+" if delta >= 0 else "-"
    seconds, ms = divmod(abs(delta), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}"


def format_header(run: Run, prices_path: str, scenario_path: str) -> str:
    scenario = run.scenario
    lines = [f"replay: {scenario.title}", f"  scenario {scenario_path}, prices {prices_path} ({len(run.rows)} rows)"]
    for m in scenario.markets:
        lines.append(
            f"  {m.market}: sources {', '.join(s.source for s in m.sources)} (min {m.min_sources}, stale after "
            f"{m.stale_after_ms} ms), band {m.band_bps} bps/{m.band_window_ms} ms, cooldown {m.cooldown_ms} ms, "
            f"slice {m.liquidation_slice_bps} bps, cascade {m.cascade_bps} bps/{m.cascade_window_ms} ms"
        )
    lines.append(f"  t0 = {run.t0_ms} ms of ledger time; times below are relative to it")
    return "\n".join(lines)


def format_timeline(run: Run, verbose: bool = False) -> str:
    """One line per decision. Unless verbose, mark changes are left out and a run of alike refused
    updates (same market, source, price and code, nothing else in between) is one line and a count."""
    lines = ["timeline", f"  {'time':<13}  {'entry':>5}  {'market':<12} {'what':<11}  detail"]

    def line(item: TimelineItem, text: str) -> str:
        return f"  {rel(item.time_ms, run.t0_ms)}  {item.index:>5}  {item.market or '-':<12} {item.kind:<11}  {text}"

    alike: list[TimelineItem] = []  # repeats of the last printed item

    def flush() -> None:
        if alike:
            lines.append(line(alike[-1], f"... {len(alike)} more alike, the last at entry {alike[-1].index}"))
            alike.clear()

    last_key = ""
    for item in run.timeline:
        if item.kind == "MARK" and not verbose:
            continue
        if not verbose and item.repeat_key and item.repeat_key == last_key:
            alike.append(item)
            continue
        flush()
        lines.append(line(item, item.text))
        last_key = item.repeat_key
    flush()
    return "\n".join(lines)


def summary(run: Run) -> dict:
    """The summary as plain data (raw integers), for the table and --json."""
    state = run.state
    markets = {}
    for market_id in sorted(run.stats):
        stats, market = run.stats[market_id], state.markets[market_id]
        markets[market_id] = {
            "price_updates_accepted": stats.updates_accepted,
            "price_updates_refused": dict(sorted(stats.updates_refused.items())),
            "band_breaker_trips": stats.band_trips,
            "cascade_breaker_trips": stats.cascade_trips,
            "liquidations": stats.liquidations,
            "liquidated_accounts": len(stats.liquidated_accounts),
            "liquidated_notional": stats.liquidated_notional,
            "adl": stats.adl,
            "adl_contracts": stats.adl_contracts,
            "final_mark": market.mark_price,
            "final_status": market.status.name,
            "final_status_reason": market.status_reason.name,
            "final_verdict": market.oracle_verdict.name,
            "open_interest": state.open_interest[market_id],
        }
    funds = {
        fund: {"start": run.funds_start[fund], "end": state.accounts[fund].collateral, "min": run.funds_min[fund]}
        for fund in run.fund_ids
    }
    bankrupt = sorted(a for a, acc in state.accounts.items() if acc.status == AccountStatus.BANKRUPT and not is_fund(a))
    return {
        "title": run.scenario.title,
        "t0_ms": run.t0_ms,
        "markets": markets,
        "funds": funds,
        "accounts_bankrupt": bankrupt,
        "global_mode": GlobalMode(state.global_mode).name,
        "positions_never_opened": [item.label for item in run.unopened],
        "applied_entries": state.applied_index,
        "ledger_time_ms": state.ledger_time_ms,
        "state_hash": hash_bytes(state.state_hash).hex(),
    }


def format_summary(run: Run) -> str:
    data = summary(run)
    market_ids = list(data["markets"])
    refused_codes = sorted({code for m in data["markets"].values() for code in m["price_updates_refused"]})
    rows: list[tuple[str, list[str]]] = [
        ("price updates accepted", [str(m["price_updates_accepted"]) for m in data["markets"].values()]),
    ]
    for code in refused_codes:
        rows.append((f"  refused {code}", [str(m["price_updates_refused"].get(code, 0)) for m in data["markets"].values()]))
    for label, key, render in (
        ("price-band breaker trips", "band_breaker_trips", str),
        ("cascade breaker trips", "cascade_breaker_trips", str),
        ("liquidation slices", "liquidations", str),
        ("accounts liquidated", "liquidated_accounts", str),
        ("liquidated notional", "liquidated_notional", usd),
        ("ADL (deleveragings)", "adl", str),
        ("ADL contracts", "adl_contracts", str),
        ("final mark", "final_mark", usd),
        ("final status", "final_status", str),
        ("final status reason", "final_status_reason", str),
        ("final oracle verdict", "final_verdict", str),
        ("open interest", "open_interest", str),
    ):
        rows.append((label, [render(m[key]) for m in data["markets"].values()]))
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(market_ids[i]), *(len(cells[i]) for _, cells in rows)) for i in range(len(market_ids))]
    lines = ["summary", "  " + " " * label_width + "  " + "  ".join(m.rjust(w) for m, w in zip(market_ids, widths))]
    for label, cells in rows:
        lines.append("  " + label.ljust(label_width) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    fund_width = max(len(f) for f in data["funds"])
    cells = {f: [usd(v["start"]), usd(v["end"]), usd(v["min"])] for f, v in data["funds"].items()}
    col = max(5, *(len(c) for row in cells.values() for c in row))
    lines.append("")
    lines.append("  " + "insurance fund".ljust(fund_width) + "  " + "  ".join(h.rjust(col) for h in ("start", "end", "min")))
    for fund, row in cells.items():
        lines.append("  " + fund.ljust(fund_width) + "  " + "  ".join(c.rjust(col) for c in row))
    lines.append("")
    bankrupt = data["accounts_bankrupt"]
    lines.append(f"  accounts bankrupt      {len(bankrupt)}" + (f" ({', '.join(bankrupt)})" if bankrupt else ""))
    if data["positions_never_opened"]:
        lines.append(f"  positions never opened {', '.join(data['positions_never_opened'])}")
    lines.append(f"  global mode            {data['global_mode']}")
    lines.append(f"  applied entries        {data['applied_entries']}")
    lines.append(f"  ledger time            {data['ledger_time_ms']} ms ({rel(data['ledger_time_ms'], run.t0_ms)})")
    lines.append(f"  state hash             {data['state_hash']}")
    return "\n".join(lines)


def write_json(run: Run, path: Path) -> None:
    data = summary(run)
    data["timeline"] = [
        {"time_ms": i.time_ms, "entry": i.index, "kind": i.kind, "market": i.market, "text": i.text}
        for i in run.timeline
    ]
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# -- command line -----------------------------------------------------------------------------


_HELP = """\
Replay a price series through the pure ledger (node.ledger.apply, real Ed25519 signatures; no
cluster, no network) and print every guard decision, a summary table and the final state hash.

  prices CSV     time,market,source,price[,source_time]  (ms of ledger time, quote minor units;
                 rows in time order, one entry per distinct time; '#' lines are comments)
  scenario TOML  [[markets]] (CreateMarket fields and sources), [funds], [[accounts]],
                 [[positions]], [[events]]
  formats: cluster/replay.py's docstring and scenarios/README.md; examples in scenarios/
  exit codes: 0 done; 2 bad input (file:line: what to fix); 1 a ledger invariant broke
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = _HELP
    parser.add_argument("--prices", required=True, metavar="FILE.csv", help="price series: time,market,source,price[,source_time]")
    parser.add_argument("--scenario", required=True, metavar="FILE.toml", help="markets, funds, accounts, positions, events")
    parser.add_argument(
        "--plot", metavar="FILE.png",
        help="where to write the plot (default: <prices file stem>.png in the current directory)",
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write a plot (and do not import matplotlib)")
    parser.add_argument("--json", metavar="FILE.json", help="also write the summary and the timeline as JSON")
    parser.add_argument("--verbose", action="store_true",
                        help="print every mark change and every refused update (by default a run of alike refusals is one line)")
    parser.add_argument("--quick", action="store_true",
                        help="check the invariants only as apply does (by default every entry is also fully rechecked)")


def run_cli(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(Path(args.scenario))
        rows = load_prices(Path(args.prices), scenario)
        run = replay(scenario, rows, full_check=not args.quick)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INPUT
    except AssertionError as error:  # LedgerInvariantError is one: a ledger bug, not a scenario error
        traceback.print_exc(file=sys.stderr)
        what = "invariant broke" if isinstance(error, LedgerInvariantError) else "assertion failed"
        print(f"error: a ledger {what} (a ledger bug, not a scenario error): {error}", file=sys.stderr)
        return EXIT_INVARIANT
    out = sys.stdout
    out.write(format_header(run, args.prices, args.scenario) + "\n\n")
    out.write(format_timeline(run, verbose=args.verbose) + "\n\n")
    out.write(format_summary(run) + "\n")
    if args.json:
        write_json(run, Path(args.json))
        out.write(f"  json                   {args.json}\n")
    if not args.no_plot:
        from cluster.replay_plot import write_plot

        plot_path = Path(args.plot) if args.plot else Path(Path(args.prices).stem + ".png")
        write_plot(run, plot_path)
        out.write(f"  plot                   {plot_path}\n")
    out.flush()
    return EXIT_OK


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cluster.replay", formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    sys.exit(run_cli(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
