"""The margin of an account that holds options: scenario portfolio margin per underlying
(portfolio_margin.py), linear margin for the rest (docs/design.md#options).

For each underlying in which the account holds an option, its book is that underlying's own
position (the perpetual or future itself, at its mark) and every option on it (strike, expiry,
the option market's mark volatility), revalued at the underlying's mark; the book's initial and
maintenance requirement replace the linear margin of the underlying's position. Positions in
markets outside those books keep the linear rule (margin.positions_valuation). The equity is the
collateral plus the linear positions' pnl at their marks: an option's premium was paid at the fill
(fills.option_fill), so no option is counted at its price, which is why portfolio_margin takes the
net option value off its requirement.

The scenario grid of an underlying comes from its own listing, so one market's parameters set the
risk of every book on it: the price scan is the underlying's initial margin (a book holding only
the underlying then needs about its linear initial margin, plus the extreme moves at their
fraction), maintenance is the underlying's maintenance as a share of its initial margin (rounded
up), and the volatility scan, extreme moves and short-option minimum are the named constants below.
An account that holds no option never comes here (margin.account_valuation): its margin is
exactly the linear rule it always was.
"""

from __future__ import annotations

from dataclasses import replace

from .commands import MarketKind
from .margin import ceil_div, positions_valuation
from .option_pricing import option_valuation
from .portfolio_margin import (
    EXTREME_DOWN,
    EXTREME_UP,
    Greeks,
    LinearPosition,
    OptionPosition,
    ScenarioParams,
    UnderlyingBook,
    UnderlyingRequirement,
    percent_denominator,
    requirement_from_risk_arrays,
    risk_array,
    underlying_greeks,
    underlying_requirement,
)
from .records import Market, Position
from .state import LedgerState

option_vol_scan_ppm = 150_000  # every option's volatility up and down by 15 points
option_extreme_move_multiple = 3  # the extreme moves: three price scans ...
option_extreme_fraction_pct = 33  # ... counted at a third of their loss (SPAN)
short_option_minimum_bps = 100  # 1% of the index per short option contract, whatever the scenarios say


def scenario_params(underlying: Market) -> ScenarioParams:
    """The scenario grid of books on this underlying (module docstring)."""
    return ScenarioParams(
        price_scan_bps=underlying.initial_margin_bps,
        vol_scan_ppm=option_vol_scan_ppm,
        extreme_move_multiple=option_extreme_move_multiple,
        extreme_fraction_pct=option_extreme_fraction_pct,
        short_option_minimum_bps=short_option_minimum_bps,
        maintenance_pct=min(
            ceil_div(underlying.maintenance_margin_bps * percent_denominator, underlying.initial_margin_bps), percent_denominator,
        ),
    )


def option_position(option: Market, size: int) -> OptionPosition:
    return OptionPosition(size, option.option_type, option.strike_price, option.expiry_ms, option.mark_volatility_ppm)


def underlying_books(state: LedgerState, positions: list[tuple[str, Position]]) -> dict[str, UnderlyingBook]:
    """The account's books, by underlying: every underlying it holds a non-zero option on, with
    its options and its own position in the underlying market."""
    markets = state.markets
    options = state.option_underlying
    held: dict[str, list[LinearPosition | OptionPosition]] = {}
    for market_id, position in sorted(positions):
        underlying = options.get(market_id)
        if underlying is not None and position.size:
            held.setdefault(underlying, []).append(option_position(markets[market_id], position.size))
    for market_id, position in sorted(positions):
        if market_id in held and position.size:
            held[market_id].insert(0, LinearPosition(position.size, markets[market_id].mark_price))
    books = {}
    for underlying in sorted(held):
        index = markets[underlying].mark_price
        assert index > 0, underlying  # an option trades only once its underlying is marked
        books[underlying] = UnderlyingBook(index, tuple(held[underlying]))
    return books


def option_account_valuation(
    state: LedgerState, positions: list[tuple[str, Position]], open_interest_overrides: dict[str, int] | None = None,
) -> tuple[int, int, int, int]:
    """margin.account_valuation's (pnl, loss, initial, maintenance) for an account with options."""
    books = underlying_books(state, positions)
    options = state.option_underlying
    outside = [(m, p) for m, p in positions if m not in books and m not in options]
    inside = [(m, p) for m, p in positions if m in books]
    pnl, loss, initial, maintenance = positions_valuation(state, outside, open_interest_overrides)
    book_pnl, book_loss, _, _ = positions_valuation(state, inside)  # their pnl is equity; their margin is the book's
    for underlying, book in books.items():
        requirement = book_requirement(state, underlying, book)
        initial += requirement.initial
        maintenance += requirement.maintenance
    return pnl + book_pnl, loss + book_loss, initial, maintenance


risk_arrays_kept_max = 4_096  # contracts' arrays kept at once; past it the cache starts over


def book_requirement(state: LedgerState, underlying: str, book: UnderlyingBook) -> UnderlyingRequirement:
    """underlying_requirement, from each contract's risk array kept in LedgerState.risk_arrays:
    an array is a pure function of the contract, the index, the ledger time and the parameters
    (portfolio_margin.risk_array), so it is keyed by all of them and every holder of the same
    contract in the same entry reuses one pricing. Same result as underlying_requirement (tested)."""
    now = state.ledger_time_ms
    params = scenario_params(state.markets[underlying])
    kept = state.risk_arrays
    held = []
    for position in book.positions:
        contract = replace(position, size=1)
        key = (contract, book.index, now, params)
        array = kept.get(key)
        if array is None:
            if len(kept) >= risk_arrays_kept_max:
                kept.clear()
            array = kept[key] = risk_array(contract, book.index, now, params)
        held.append((position.size, array))
    short_contracts = sum(-p.size for p in book.positions if isinstance(p, OptionPosition) and p.size < 0)
    return requirement_from_risk_arrays(tuple(held), short_contracts, book.index, params)


def account_option_risk(state: LedgerState, account_id: str) -> tuple[tuple[str, UnderlyingRequirement, Greeks], ...]:
    """Per underlying the account holds options on: its requirement (with the scenario that sets
    it) and its greeks, in sorted order of the underlying ids (what GetAccount shows)."""
    if account_id not in state.option_accounts:
        return ()
    books = underlying_books(state, list(state.positions.get(account_id, {}).items()))
    now = state.ledger_time_ms
    return tuple(
        (underlying, underlying_requirement(book, now, scenario_params(state.markets[underlying])), underlying_greeks(book, now))
        for underlying, book in books.items()
    )


def option_greeks(state: LedgerState, option_id: str) -> Greeks:
    """One contract's delta, gamma and vega at the marks now (what GetMarket shows); zeros
    before the option has a mark volatility or its underlying a mark."""
    option = state.markets[option_id]
    assert option.kind == MarketKind.OPTION, option_id
    index = state.markets[option.underlying].mark_price
    if not index or not option.mark_volatility_ppm:
        return Greeks(0, 0, 0)
    valuation = option_valuation(
        option.option_type, index, option.strike_price, option.mark_volatility_ppm,
        max(option.expiry_ms - state.ledger_time_ms, 0),
    )
    return Greeks(valuation.delta, valuation.gamma, valuation.vega)


def open_interest_greeks(state: LedgerState, underlying: str) -> Greeks:
    """The greeks of the long side of every option on the underlying (open interest x one
    contract's): what the metrics export per underlying, without account labels (the short side
    is the same with the opposite sign). O(options on the underlying)."""
    delta = gamma = vega = 0
    for option_id in sorted(state.options_of.get(underlying, ())):
        greeks = option_greeks(state, option_id)
        long_contracts = state.open_interest.get(option_id, 0)
        delta += long_contracts * greeks.delta
        gamma += long_contracts * greeks.gamma
        vega += long_contracts * greeks.vega
    return Greeks(delta, gamma, vega)



def riskiest_book_positions(state: LedgerState, account_id: str) -> dict[str, str]:
    """Per book of the account (by underlying), the market of the position that contributes most
    to the book's worst scenario: size x that contract's loss there (an extreme scenario's at its
    fraction), the largest first, ties by market id. A liquidation step closes that one position
    of each book (docs/design.md#options): the largest risk first."""
    markets = state.markets
    options = state.option_underlying
    positions = sorted((m, p) for m, p in state.positions.get(account_id, {}).items() if p.size)
    books = underlying_books(state, positions)
    now = state.ledger_time_ms
    riskiest: dict[str, str] = {}
    for underlying, book in books.items():
        params = scenario_params(markets[underlying])
        worst = underlying_requirement(book, now, params).worst_scenario
        best: tuple[int, str] | None = None
        for market_id, position in positions:
            if market_id == underlying:
                contract = LinearPosition(position.size, markets[market_id].mark_price)
            elif options.get(market_id) == underlying:
                contract = option_position(markets[market_id], position.size)
            else:
                continue
            loss = position.size * risk_array(contract, book.index, now, params).losses[worst]
            if worst in (EXTREME_UP, EXTREME_DOWN):
                loss = ceil_div(loss * params.extreme_fraction_pct, percent_denominator)
            if best is None or loss > best[0]:
                best = (loss, market_id)
        assert best is not None, underlying
        riskiest[underlying] = best[1]
    return riskiest
