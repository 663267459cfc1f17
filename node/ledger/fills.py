"""How one fill changes one position: the arithmetic shared by trades and liquidations."""

from __future__ import annotations

from .records import Position


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
