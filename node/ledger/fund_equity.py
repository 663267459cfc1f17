"""A fund is judged by its equity at the mark, never by its cash alone.

A market's fund takes over liquidated positions (liquidation.py) and holds them until it unwinds
them (fund_unwinding.py). Its cash says nothing about what those positions are worth: a fund that
took over shorts in a rally holds a loss its cash does not show (issue 17: a fund read $1.44M of
cash while it was about -$90M at the mark). So every place that judges a fund uses

    equity = cash + sum over its positions of (size x mark - cost basis - funding owed)

in exact integers, with a profit at a HALTED mark counted as nothing (as margin.py does: a price
that tripped a breaker is not money), and the funding its position owes but has not settled yet
counted as margin counts it for any account (funding.py: a payment at once, rounded up). A market's fund holds at most one position (its own
market's) and the global fund none, so a fund's equity costs O(1) and all funds together
O(funds holding a position) <= O(markets): `LedgerState.fund_positions` names them.
"""

from __future__ import annotations

from .funding import owed
from .records import MarketStatus
from .state import LedgerState


def fund_unrealized(state: LedgerState, fund_id: str) -> int:
    """The unrealized result of the fund's positions at the marks (quote minor units)."""
    total = 0
    for market_id, position in state.positions.get(fund_id, {}).items():
        if not position.size:
            continue
        market = state.markets[market_id]
        pnl = position.size * market.mark_price - position.cost_basis
        if pnl > 0 and market.status in (MarketStatus.HALTED, MarketStatus.SETTLING):  # as margin counts it
            pnl = 0
        funding = state.funding.get(market_id)
        total += pnl - (owed(position, funding.index) if funding is not None else 0)
    return total


def fund_equity(state: LedgerState, fund_id: str) -> int:
    return state.accounts[fund_id].collateral + fund_unrealized(state, fund_id)


def funds_equity_total(state: LedgerState) -> int:
    """The global fund and every market's fund together, at the marks: what the floor judges."""
    total = state.funds_total
    for fund_id in state.fund_positions:  # an integer sum: the order does not matter
        total += fund_unrealized(state, fund_id)
    return total
