"""The replay's scenario: a TOML file of markets, funds, accounts, opening positions and
timed events, parsed into ledger commands (`load_scenario`).

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

    [[backstops]]                    # optional: backstop liquidity providers a guardian quorum
    market = "BTC-PERP"              # registers (REGISTER_BACKSTOP) right after the setup; the
    account = "desk"                 # market's fund auction fills them (fund_unwinding.py). With
    discount_bps = 200               # any, the replay installs a signer set of its own (replay
    position_max = 40                # keys) and signs every batch, as a live cluster would

    [[events]]                       # optional timed commands: kind = "withdraw" | "deposit"
    time = 1584000200000             # (account, amount) or "trade" (buyer, seller, market,
    kind = "withdraw"                # price, quantity); `note` is printed with the result
    account = "whale"
    amount = 1_000_000_000

A market's fee schedule (maker_fee_bps, taker_fee_bps, fee_fund_share_bps), funding
(funding_interval_ms, funding_rate_cap_bps) and margin-call level (margin_call_bps) are CreateMarket
fields like the others. A trade (position or event) may name `maker_side = "buyer" | "seller"`:
the ledger then charges the market's schedule (required on a market with one). Instead of `price`
a trade may give `premium_bps`: the run applies it in an entry of its own right after its time's
price rows, priced that many bps off the mark they made (rounded down to the tick), so traded
prices sit off the mark and a perpetual's funding has a premium to pay; the trade band applies.

Commands with a `time` go into that time's entry after its price rows; the ledger makes one mark
per entry, at its end, so they are judged at the mark before those rows (give a command a later
time, with no rows, to judge it at the mark they made). A scenario error (a
missing or unknown field, a bad number, an unknown market, account or source, a listing the
ledger refuses) is a ScenarioError naming the file, line and field at fault.

A market's oracle sources sign with deterministic keys, `source_key(name)`
(node.identity.keys.private_key_from_seed(f"oracle:{name}")): the scenario registers their public keys
at listing and the run signs each price row with the private one.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from node.identity.keys import private_key_from_seed, raw_public_key
from node.ledger import INSURANCE_FUND
from node.ledger.commands import (
    Command,
    CreateMarket,
    Deposit,
    MakerSide,
    MarketKind,
    OptionType,
    OracleSource,
    SettleTrade,
    Withdraw,
)
from node.ledger.limits import INT64_MAX, INT64_MIN, account_id_bytes_max, market_id_bytes_max, source_id_bytes_max
from node.ledger.state import market_fund
from node.ledger.validation import is_client_account_id, is_valid_id

event_kinds = ("withdraw", "deposit", "trade")
# CreateMarket fields the replay sets itself, and defaults it adds to CreateMarket's.
_derived_market_fields = ("id",)
_market_field_defaults = {"kind": "PERPETUAL"}


class ScenarioError(Exception):
    """Bad input: the message names the file, the line when known, and what to fix."""


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A scenario command (opening position or event): `time_ms` None = after the first VALID mark."""

    label: str  # "positions #2", "events #1": how the scenario names it
    line: int | None
    time_ms: int | None
    market: str  # "" for commands of no market
    command: Command
    note: str = ""
    premium_bps: int | None = None  # a trade priced this far off the mark at its entry (run.py)


@dataclass(frozen=True, slots=True)
class Backstop:
    """A backstop liquidity provider the replay's guardians register for a market's fund auction."""

    market: str
    account: str
    discount_bps: int
    position_max: int
    line: int | None = None


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
    backstops: tuple[Backstop, ...] = ()

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
    top.check_keys(("title", "markets", "funds", "accounts", "positions", "events", "backstops"))
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
        table.check_keys(("buyer", "seller", "market", "price", "quantity", "time", "note") + _trade_options)
        trade = _trade(table, f"pos-{n + 1}", market_ids, account_ids)
        time_ms = table.integer("time", "ledger time in ms", minimum=0) if table.has("time") else None
        positions.append(Scheduled(f"positions #{n + 1}", locator.table("positions", n), time_ms, trade.market, trade,
                                   table.string("note", "a note", default=""), _premium(table)))

    events = []
    for n, data in enumerate(_array(raw, "events", path, locator, required=False)):
        table = _Table(path, locator, "events", n, f"[[events]] #{n + 1}", data)
        kind = table.string("kind", f"one of {', '.join(event_kinds)}")
        if kind not in event_kinds:
            raise table.error(f"kind must be one of {', '.join(event_kinds)}, got {kind!r}", "kind")
        command_id = f"ev-{n + 1}"
        market = ""
        premium = None
        if kind == "trade":
            table.check_keys(("time", "kind", "note", "buyer", "seller", "market", "price", "quantity") + _trade_options)
            command: Command = _trade(table, command_id, market_ids, account_ids)
            market = command.market
            premium = _premium(table)
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
                                table.string("note", "a note", default=""), premium))

    backstops = []
    for n, data in enumerate(_array(raw, "backstops", path, locator, required=False)):
        table = _Table(path, locator, "backstops", n, f"[[backstops]] #{n + 1}", data)
        table.check_keys(("market", "account", "discount_bps", "position_max"))
        market = table.string("market", "the market id")
        if market not in market_ids:
            raise table.error(f"no market {market} in [[markets]] (markets: {', '.join(market_ids)})", "market")
        account_id = table.string("account", "an account id from [[accounts]]")
        if account_id not in account_ids:
            raise table.error(f"no account {account_id} in [[accounts]]", "account")
        backstops.append(Backstop(
            market, account_id, table.integer("discount_bps", "the least discount from the mark it takes, bps", minimum=0),
            table.integer("position_max", "the most contracts it holds on the fund's side", minimum=1),
            locator.table("backstops", n),
        ))

    return Scenario(path, title, tuple(markets), tuple(market_lines), insurance, tuple(market_funds), tuple(accounts),
                    tuple(positions), tuple(events), tuple(backstops))


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
    return tuple(OracleSource(name, raw_public_key(source_key(name))) for name in names)


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
    if table.has("price") == table.has("premium_bps"):
        raise table.error("give exactly one of 'price' (quote minor units per contract) and 'premium_bps' (bps off the mark)")
    # A premium-priced trade gets its price at run time (run.py); 0 until then.
    price = table.integer("price", "quote minor units per contract", minimum=1) if table.has("price") else 0
    quantity = table.integer("quantity", "contracts", minimum=1)
    maker_side = MakerSide.NONE
    if table.has("maker_side"):
        name = table.string("maker_side", '"buyer" or "seller"')
        if name not in ("buyer", "seller"):
            raise table.error(f'must be "buyer" or "seller", got {name!r}', "maker_side")
        maker_side = MakerSide.BUYER if name == "buyer" else MakerSide.SELLER
    return SettleTrade(command_id, market, sides[0], sides[1], price, quantity, maker_side=maker_side)


_trade_options = ("maker_side", "premium_bps")


def _premium(table: _Table) -> int | None:
    return table.integer("premium_bps", "bps off the mark (negative: below it)", minimum=-9_999) if table.has("premium_bps") else None


def source_key(source: str):
    """The deterministic private key of oracle source `source`."""
    return private_key_from_seed(f"oracle:{source}")
