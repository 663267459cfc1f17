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

An OPTION market (docs/design.md#options) names its underlying, an earlier [[markets]] entry of
kind PERPETUAL or FUTURE, and its terms; its expiry is relative to the series' first time, and its
implied volatility (ppm) is a constant or steps (ms after the series' first time, ppm), which the
run signs from each of the option's sources at every time the underlying has price rows (rows of
the CSV naming the option market are signed as any row, too):

    [[markets]]
    market = "BTC-C-12000"
    kind = "OPTION"
    underlying = "BTC-PERP"
    option_type = "CALL"               # or "PUT"
    strike_price = 12_000_000_000
    expires_after_ms = 2_592_000_000   # 30 days after the series' first time
    implied_volatility_ppm = 600_000   # 60%, or steps:
    # implied_volatility_ppm_steps = [[0, 600_000], [60_000, 1_000_000], [120_000, 1_500_000]]
    sources = ["iv-a", "iv-b", "iv-c"]
    ...                                # CreateMarket's other fields as for any market

A position in an option with neither `price` nor `premium_bps` opens at the model premium: the
option's mark after its first volatility print, rounded down to the tick.

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
# [[markets]] keys of an OPTION market that are the replay's, not CreateMarket's (OptionSetup).
option_scenario_fields = ("expires_after_ms", "implied_volatility_ppm", "implied_volatility_ppm_steps")


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
class OptionSetup:
    """What the replay adds to an OPTION market's listing: its expiry after the series' first time
    and the implied volatility its sources sign, as (ms after the first time, ppm) steps."""

    market: str
    underlying: str
    expires_after_ms: int
    volatility_steps: tuple[tuple[int, int], ...]  # first step at 0 ms

    def volatility_ppm(self, after_ms: int) -> int:
        """The step in force `after_ms` after the series' first time."""
        current = self.volatility_steps[0][1]
        for at_ms, ppm in self.volatility_steps:
            if at_ms > after_ms:
                break
            current = ppm
        return current


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
    options: tuple[OptionSetup, ...] = ()  # the replay's terms of each OPTION market, scenario order

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

    markets, market_lines, options = [], [], []
    for n, data in enumerate(_array(raw, "markets", path, locator, required=True)):
        table = _Table(path, locator, "markets", n, f"[[markets]] #{n + 1}", data)
        market = _market(table)
        if any(m.market == market.market for m in markets):
            raise table.error(f"market {market.market} is listed twice", "market")
        if market.kind == MarketKind.OPTION:
            options.append(_option_setup(table, market, markets))
        markets.append(market)
        market_lines.append(locator.table("markets", n))
    option_ids = {o.market for o in options}
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
        trade = _trade(table, f"pos-{n + 1}", market_ids, account_ids, option_ids)
        time_ms = table.integer("time", "ledger time in ms", minimum=0) if table.has("time") else None
        premium = _premium(table)
        if trade.market in option_ids and not trade.price and premium is None:
            premium = 0  # at the model premium: the option's mark, rounded down to the tick (run.py)
        positions.append(Scheduled(f"positions #{n + 1}", locator.table("positions", n), time_ms, trade.market, trade,
                                   table.string("note", "a note", default=""), premium))

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
                    tuple(positions), tuple(events), tuple(backstops), tuple(options))


def _market(table: _Table) -> CreateMarket:
    fields = {f.name: f for f in dataclasses.fields(CreateMarket)}
    allowed = tuple(name for name in fields if name not in _derived_market_fields) + option_scenario_fields
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
        elif name == "underlying":
            values[name] = table.string(name, "the PERPETUAL or FUTURE market the option is on", default="")
        elif not required and not table.has(name):
            continue  # CreateMarket's default
        else:
            values[name] = table.integer(name, "an integer CreateMarket parameter")
    if values["kind"] != MarketKind.OPTION:
        for key in option_scenario_fields + ("underlying",):
            if table.has(key):
                raise table.error(f"only an OPTION market takes '{key}' (this one is {values['kind'].name})", key)
    return CreateMarket(**values)  # type: ignore[arg-type]


def _option_setup(table: _Table, option: CreateMarket, listed: list[CreateMarket]) -> OptionSetup:
    """An OPTION market's terms checked against the markets listed before it, and the replay's own
    fields (expiry after the series' first time, implied volatility)."""
    if not option.underlying:
        raise table.error("missing field 'underlying' (the PERPETUAL or FUTURE market the option is on)")
    underlying = next((m for m in listed if m.market == option.underlying), None)
    if underlying is None:
        names = ", ".join(m.market for m in listed) or "none"
        raise table.error(f"no market {option.underlying} listed before this option (listed before it: {names})", "underlying")
    if underlying.kind not in (MarketKind.PERPETUAL, MarketKind.FUTURE):
        raise table.error(f"the underlying {option.underlying} is {underlying.kind.name}: it must be a PERPETUAL or FUTURE", "underlying")
    if not table.has("option_type"):
        raise table.error('missing field \'option_type\' ("CALL" or "PUT")')
    if option.option_type not in (OptionType.CALL, OptionType.PUT):
        raise table.error(f'must be "CALL" or "PUT", got {option.option_type.name!r}', "option_type")
    if not table.has("strike_price"):
        raise table.error("missing field 'strike_price' (quote minor units per contract, a multiple of the underlying's tick)")
    if option.strike_price <= 0 or option.strike_price % underlying.tick_size:
        raise table.error(f"must be a positive multiple of {option.underlying}'s tick {underlying.tick_size}, got {option.strike_price}",
                          "strike_price")
    if table.has("expiry_ms"):
        raise table.error("an option's expiry is relative to the series: give 'expires_after_ms' instead", "expiry_ms")
    expires_after_ms = table.integer("expires_after_ms", "ms after the series' first time", minimum=1)
    if table.has("implied_volatility_ppm") == table.has("implied_volatility_ppm_steps"):
        raise table.error("give exactly one of 'implied_volatility_ppm' (a constant, ppm: 600_000 = 60%) and "
                          "'implied_volatility_ppm_steps' ([[ms after the first time, ppm], ...])")
    if table.has("implied_volatility_ppm"):
        steps: tuple[tuple[int, int], ...] = ((0, table.integer("implied_volatility_ppm", "ppm, 600_000 = 60%", minimum=1)),)
    else:
        steps = _volatility_steps(table)
    return OptionSetup(option.market, option.underlying, expires_after_ms, steps)


def _volatility_steps(table: _Table) -> tuple[tuple[int, int], ...]:
    key = "implied_volatility_ppm_steps"
    raw = table.data[key]
    shape = "a list of [ms after the series' first time, ppm] pairs starting at 0"
    if not isinstance(raw, list) or not raw:
        raise table.error(f"expected {shape}, got {_show(raw)}", key)
    steps: list[tuple[int, int]] = []
    for pair in raw:
        if (not isinstance(pair, list) or len(pair) != 2 or any(type(v) is not int for v in pair)
                or not 0 <= pair[0] <= INT64_MAX or not 0 < pair[1] <= INT64_MAX):
            raise table.error(f"expected {shape} (ppm positive), got {pair!r}", key)
        if steps and pair[0] <= steps[-1][0]:
            raise table.error(f"times must increase: {pair[0]} after {steps[-1][0]}", key)
        steps.append((pair[0], pair[1]))
    if steps[0][0] != 0:
        raise table.error(f"the first step must be at 0 (the series' first time), got {steps[0][0]}", key)
    return tuple(steps)


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


def _trade(table: _Table, command_id: str, market_ids: list[str], account_ids: set[str],
           option_ids: frozenset[str] | set[str] = frozenset()) -> SettleTrade:
    market = table.string("market", "the market id")
    if market not in market_ids:
        raise table.error(f"no market {market} in [[markets]] (markets: {', '.join(market_ids)})", "market")
    sides = []
    for key in ("buyer", "seller"):
        account_id = table.string(key, "an account id from [[accounts]]")
        if account_id not in account_ids:
            raise table.error(f"no account {account_id} in [[accounts]]", key)
        sides.append(account_id)
    # A position in an option may give neither: it opens at the model premium (load_scenario).
    priced = table.has("price") or table.has("premium_bps") or market in option_ids
    if (table.has("price") and table.has("premium_bps")) or not priced:
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
