"""Scenario portfolio margin: one account's positions in one underlying revalued over CME SPAN's 16
risk scenarios, and requirements across underlyings added (docs/design.md#option-pricing-and-portfolio-margin).

The scenarios (`SCENARIO_NAMES`, in SPAN's order): the underlying unchanged and moved up and down by
1/3, 2/3 and 3/3 of `price_scan_bps`, each with every option's volatility up and down by
`vol_scan_ppm` (14), then the two extreme moves, up and down by `extreme_move_multiple` x the scan
with volatilities unchanged, whose loss counts at `extreme_fraction_pct` (rounded up). A moved
price is `price + floor(price x move)`, at least 1 minor unit; a shifted volatility is floored at
`scenario_volatility_ppm_min` (1%), or at the option's own volatility if that is lower, so a
shock down never raises it. Time stands still in every scenario (no decay is credited).

A scenario's loss is the fall in the book's value from now: linear positions (perpetuals, futures)
lose size x (mark now - mark moved), the mark moving by the scenario's fraction; options lose size x
(price now - price in the scenario), priced by option_pricing (an expired option at its intrinsic
value). `worst_loss` is the largest, at least 0; `worst_scenario` the first scenario (in the order
above) that reaches it.

The requirement: risk = max(worst loss, short option minimum), the minimum being
`short_option_minimum_bps` of the index per short option contract (rounded up), as in SPAN; then
the net option value (options at their prices now, longs plus, shorts minus) is taken off, as in
SPAN for premium paid at the fill: the buyer paid the premium and the seller received it as
collateral, and the account's equity counts no option at its price. So

    initial = max(risk - net option value, 0)
    maintenance = max(ceil(risk x maintenance_pct / 100) - net option value, 0)

Only the risk is scaled for maintenance: the price of the options is counted in full at both
levels, so an account short options that is worth less than nothing at the marks (its collateral
below the cost of buying its shorts back) is always below maintenance.

A long option alone needs 0 (its worst loss is at most its value); a short option needs its price
now (to buy it back) plus its worst loss; a hedge lowers the worst loss of the book below the sum of
its legs'. Requirements of several underlyings add, in sorted order of their ids.

As in SPAN, the work is per contract: `risk_array` prices one contract in every scenario, and a
book's losses are integer sums of size x its contracts' arrays (`requirement_from_risk_arrays`), so
a caller that keeps each contract's array until the index, its volatility, the time or the
parameters change margins every holder without pricing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .commands import OptionType
from .limits import bps_denominator, positions_per_account_max
from .margin import ceil_div
from .option_pricing import delta_one, option_price, option_valuation, time_to_expiry_ms_max, volatility_ppm_max

scenario_volatility_ppm_min = 10_000  # 1%: the floor of a shocked-down volatility
extreme_move_multiple_max = 10
percent_denominator = 100
thirds = 3  # the scan range is taken in thirds

# (price move in thirds of the scan, volatility shift: +1 up, -1 down, 0 unchanged), SPAN's order.
_PRICE_VOLATILITY_SCENARIOS = (
    (0, 1), (0, -1),
    (1, 1), (1, -1), (-1, 1), (-1, -1),
    (2, 1), (2, -1), (-2, 1), (-2, -1),
    (3, 1), (3, -1), (-3, 1), (-3, -1),
)
EXTREME_UP = 14  # index of the extreme move up in SCENARIO_NAMES
EXTREME_DOWN = 15
SCENARIO_NAMES = (
    "unchanged, vol up", "unchanged, vol down",
    "up 1/3, vol up", "up 1/3, vol down", "down 1/3, vol up", "down 1/3, vol down",
    "up 2/3, vol up", "up 2/3, vol down", "down 2/3, vol up", "down 2/3, vol down",
    "up 3/3, vol up", "up 3/3, vol down", "down 3/3, vol up", "down 3/3, vol down",
    "extreme up, vol unchanged", "extreme down, vol unchanged",
)
scenario_count = len(SCENARIO_NAMES)  # 16


@dataclass(frozen=True, slots=True)
class ScenarioParams:
    price_scan_bps: int  # the scan range of the underlying, e.g. 1500 = 15%
    vol_scan_ppm: int  # absolute volatility shock, e.g. 100_000 = 10 volatility points
    extreme_move_multiple: int  # the extreme moves are this many scans, e.g. 3
    extreme_fraction_pct: int  # ... and their loss counts at this percentage, e.g. 33
    short_option_minimum_bps: int  # of the index, per short option contract
    maintenance_pct: int  # maintenance as a percentage of initial, e.g. 80

    def check(self) -> None:
        assert 0 < self.price_scan_bps <= bps_denominator, self.price_scan_bps
        assert 0 <= self.vol_scan_ppm <= volatility_ppm_max, self.vol_scan_ppm
        assert 1 <= self.extreme_move_multiple <= extreme_move_multiple_max, self.extreme_move_multiple
        assert 0 <= self.extreme_fraction_pct <= percent_denominator, self.extreme_fraction_pct
        assert 0 <= self.short_option_minimum_bps <= bps_denominator, self.short_option_minimum_bps
        assert 0 < self.maintenance_pct <= percent_denominator, self.maintenance_pct


@dataclass(frozen=True, slots=True)
class LinearPosition:
    """A perpetual or future position: its unrealised pnl to now is already in the equity, so only
    its mark matters here."""

    size: int  # contracts, signed: long > 0
    mark_price: int  # quote minor units per contract


@dataclass(frozen=True, slots=True)
class OptionPosition:
    size: int  # contracts, signed: long > 0
    option_type: OptionType
    strike: int  # quote minor units per contract
    expiry_ms: int  # ledger time
    volatility_ppm: int  # its mark (implied) volatility


@dataclass(frozen=True, slots=True)
class UnderlyingBook:
    """An account's positions in one underlying, and that underlying's index now."""

    index: int  # quote minor units per contract
    positions: tuple[LinearPosition | OptionPosition, ...]


@dataclass(frozen=True, slots=True)
class UnderlyingRequirement:
    initial: int  # quote minor units, >= 0
    maintenance: int  # quote minor units, >= 0
    worst_scenario: int  # index into SCENARIO_NAMES
    worst_loss: int  # the largest scenario loss, >= 0
    short_option_minimum: int  # set the risk when above worst_loss
    net_option_value: int  # options at their prices now: longs plus, shorts minus
    losses: tuple[int, ...]  # per scenario, in SCENARIO_NAMES order (extremes already at their fraction)


@dataclass(frozen=True, slots=True)
class AccountRequirement:
    initial: int
    maintenance: int
    per_underlying: tuple[tuple[str, UnderlyingRequirement], ...]  # sorted by underlying id


@dataclass(frozen=True, slots=True)
class Greeks:
    delta: int  # billionths of the underlying (10^9 = one unit long)
    gamma: int  # billionths of delta per 1% move of the index
    vega: int  # quote minor units per volatility point


def moved_price(price: int, move_thirds: int, price_scan_bps: int) -> int:
    """price moved by move_thirds / 3 of the scan, rounded down, at least 1 minor unit."""
    return max(price + price * move_thirds * price_scan_bps // (thirds * bps_denominator), 1)


def shocked_volatility(volatility_ppm: int, shift: int, vol_scan_ppm: int) -> int:
    floor_ppm = min(volatility_ppm, scenario_volatility_ppm_min)
    return min(max(volatility_ppm + shift * vol_scan_ppm, floor_ppm), volatility_ppm_max)


def _time_to_expiry_ms(position: OptionPosition, now_ms: int) -> int:
    time_ms = max(position.expiry_ms - now_ms, 0)
    assert time_ms <= time_to_expiry_ms_max, (position.expiry_ms, now_ms)
    return time_ms


@dataclass(frozen=True, slots=True)
class RiskArray:
    """One contract's exposure, as SPAN publishes it per contract: its value now and its loss in
    each scenario (SCENARIO_NAMES order), the extremes still in full. A pure function of the
    contract, the index, the time and the parameters, so a caller may keep it for every holder of
    the same contract until one of those changes."""

    value_now: int  # an option's price now; 0 for a linear contract (its pnl is in the equity)
    losses: tuple[int, ...]  # per contract, quote minor units


def _scenario_moves(params: ScenarioParams) -> tuple[tuple[int, int], ...]:
    extreme_thirds = thirds * params.extreme_move_multiple
    return _PRICE_VOLATILITY_SCENARIOS + ((extreme_thirds, 0), (-extreme_thirds, 0))


def risk_array(position: LinearPosition | OptionPosition, index: int, now_ms: int, params: ScenarioParams) -> RiskArray:
    """Per contract: a linear contract loses its mark's move; an option its change of price, at the
    moved index and the shocked volatility (an expired option at its intrinsic value)."""
    if isinstance(position, LinearPosition):
        mark = position.mark_price
        losses = tuple(mark - moved_price(mark, move, params.price_scan_bps) for move, _ in _scenario_moves(params))
        return RiskArray(0, losses)
    time_ms = _time_to_expiry_ms(position, now_ms)
    price_now = option_price(position.option_type, index, position.strike, position.volatility_ppm, time_ms)
    losses = tuple(
        price_now
        - option_price(
            position.option_type,
            moved_price(index, move, params.price_scan_bps),
            position.strike,
            shocked_volatility(position.volatility_ppm, shift, params.vol_scan_ppm),
            time_ms,
        )
        for move, shift in _scenario_moves(params)
    )
    return RiskArray(price_now, losses)


def _check_book(book: UnderlyingBook) -> None:
    assert book.index > 0, book.index
    assert len(book.positions) <= positions_per_account_max, len(book.positions)
    for position in book.positions:
        assert isinstance(position, (LinearPosition, OptionPosition)), position
        if isinstance(position, LinearPosition):
            assert position.mark_price > 0, position


def _book_losses(held: tuple[tuple[int, RiskArray], ...], params: ScenarioParams) -> tuple[int, ...]:
    """size x each contract's loss, added per scenario; the extremes' sums at their fraction."""
    losses = [sum(size * array.losses[scenario] for size, array in held) for scenario in range(scenario_count)]
    for scenario in (EXTREME_UP, EXTREME_DOWN):
        losses[scenario] = ceil_div(losses[scenario] * params.extreme_fraction_pct, percent_denominator)
    return tuple(losses)


def _held(book: UnderlyingBook, now_ms: int, params: ScenarioParams) -> tuple[tuple[int, RiskArray], ...]:
    params.check()
    _check_book(book)
    return tuple((position.size, risk_array(position, book.index, now_ms, params)) for position in book.positions)


def scenario_losses(book: UnderlyingBook, now_ms: int, params: ScenarioParams) -> tuple[int, ...]:
    """The loss of each scenario (SCENARIO_NAMES order), the extremes at their fraction, rounded up."""
    return _book_losses(_held(book, now_ms, params), params)


def underlying_requirement(book: UnderlyingBook, now_ms: int, params: ScenarioParams) -> UnderlyingRequirement:
    """Initial and maintenance requirement of one account's book in one underlying."""
    held = _held(book, now_ms, params)
    short_contracts = sum(-p.size for p in book.positions if isinstance(p, OptionPosition) and p.size < 0)
    return requirement_from_risk_arrays(held, short_contracts, book.index, params)


def requirement_from_risk_arrays(
    held: tuple[tuple[int, RiskArray], ...], short_option_contracts: int, index: int, params: ScenarioParams
) -> UnderlyingRequirement:
    """The requirement of a book given as (size, the contract's risk array) pairs, and its short
    option contracts: integer sums only, no pricing (the arrays may be kept per contract)."""
    params.check()
    assert len(held) <= positions_per_account_max and short_option_contracts >= 0 and index > 0
    losses = _book_losses(held, params)
    net_option_value = sum(size * array.value_now for size, array in held)
    worst_loss = max(max(losses), 0)
    worst_scenario = losses.index(max(losses))
    short_option_minimum = ceil_div(short_option_contracts * index * params.short_option_minimum_bps, bps_denominator)
    risk = max(worst_loss, short_option_minimum)
    initial = max(risk - net_option_value, 0)
    # Only the risk is scaled down for maintenance, never the price of the options: an account
    # whose equity counts no option at its price must still cover buying its shorts back in full,
    # or it could be worth less than nothing at the marks and stay above maintenance.
    maintenance = max(ceil_div(risk * params.maintenance_pct, percent_denominator) - net_option_value, 0)
    assert 0 <= maintenance <= initial, (maintenance, initial)
    return UnderlyingRequirement(
        initial, maintenance, worst_scenario, worst_loss, short_option_minimum, net_option_value, losses
    )


def account_requirement(books: Mapping[str, UnderlyingBook], now_ms: int, params: ScenarioParams) -> AccountRequirement:
    """The account's requirement: each underlying's, added, in sorted order of the underlying ids."""
    per_underlying = tuple((underlying, underlying_requirement(books[underlying], now_ms, params)) for underlying in sorted(books))
    return AccountRequirement(
        initial=sum(requirement.initial for _, requirement in per_underlying),
        maintenance=sum(requirement.maintenance for _, requirement in per_underlying),
        per_underlying=per_underlying,
    )


def underlying_greeks(book: UnderlyingBook, now_ms: int) -> Greeks:
    """The book's delta, gamma and vega: the sum of size x each option's, and size x 10^9 of delta
    for each linear position (which has no gamma or vega)."""
    _check_book(book)
    delta = gamma = vega = 0
    for position in book.positions:
        if isinstance(position, LinearPosition):
            delta += position.size * delta_one
            continue
        valuation = option_valuation(
            position.option_type, book.index, position.strike, position.volatility_ppm, _time_to_expiry_ms(position, now_ms)
        )
        delta += position.size * valuation.delta
        gamma += position.size * valuation.gamma
        vega += position.size * valuation.vega
    return Greeks(delta, gamma, vega)


def account_greeks(books: Mapping[str, UnderlyingBook], now_ms: int) -> tuple[tuple[str, Greeks], ...]:
    """Greeks per underlying, in sorted order of the underlying ids (what the API layer shows)."""
    return tuple((underlying, underlying_greeks(books[underlying], now_ms)) for underlying in sorted(books))
