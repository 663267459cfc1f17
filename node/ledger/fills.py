"""How one fill changes one position: the arithmetic shared by trades and liquidations."""

from __future__ import annotations

from .commands import MarketKind
from .records import Market, Position


def apply_fill(position: Position | None, quantity: int, price: int) -> tuple[Position, int]:
    """Return the position after buying `quantity` (negative: selling) at `price`, and the pnl
    realized by it. Pnl is realized only when the position goes flat or flips side (see
    records.Position), so every amount is an exact integer and buyer and seller realize
    amounts that the conservation invariant can account for to the unit.
    """
    assert quantity != 0
    old = position or Position(0, 0)
    size = old.size + quantity
    cost = old.cost_basis + quantity * price
    if old.size == 0 or (old.size > 0) == (quantity > 0) or (size != 0 and (size > 0) == (old.size > 0)):
        # Opening, adding, or a partial reduction: nothing realized yet.
        return Position(size, cost, old.realized_pnl, old.funding_index), 0
    # Flat or flipped: the whole old position closed at `price`; any remainder opens at `price`.
    realized = old.size * price - old.cost_basis
    return Position(size, size * price, old.realized_pnl + realized, old.funding_index), realized


def long_contracts(size: int) -> int:
    return size if size > 0 else 0


def option_fill(position: Position | None, quantity: int, price: int) -> tuple[Position, int]:
    """An option's fill (docs/design.md#options): the premium is paid at the fill, so the
    position keeps no cost basis and the cash it moves is returned as realized: buying `quantity`
    contracts at `price` pays quantity x price, selling receives it. At expiry the same rule
    closes a position at its payoff per contract (a long receives size x payoff)."""
    assert quantity != 0
    old = position or Position(0, 0)
    assert old.cost_basis == 0, old  # an option position never carries a cost basis
    cash = -quantity * price
    return Position(old.size + quantity, 0, old.realized_pnl + cash, old.funding_index), cash


def fill_rule(market: Market):
    """How a fill changes a position in this market: an option's premium is cash at the fill."""
    return option_fill if market.kind == MarketKind.OPTION else apply_fill
