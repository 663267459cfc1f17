"""Auto-deleveraging (ADL): closing a liquidated position against opposite positions when the
insurance funds cannot take it over or cannot pay its loss.

Opposite positions are ranked by unrealized pnl x leverage (leverage = notional / equity), the
most profitable and most leveraged first, ties broken by account id; the insurance funds come
last. Each is reduced at the given price: the mark when the market's fund is merely full, the
liquidated account's bankruptcy price when its loss exceeds what the funds can pay (so the
winners, not the venue, absorb it).

Cost: ranking values every opposite holder of the market once per deleveraging, O(h log h) for h
holders. It runs only when the funds are exhausted or full, never on an ordinary price update.
"""

from __future__ import annotations

from fractions import Fraction

from .events import Deleveraged, Event
from .funds import settle_closed_position
from .margin import account_valuation
from .position_transfer import move_position
from .state import LedgerState, is_fund


def ranked_counterparties(state: LedgerState, account_id: str, market_id: str, side: int) -> list[str]:
    """Holders of positions on `side` (+1 long, -1 short) of the market, in ADL order."""
    mark = state.markets[market_id].mark_price
    ranked: list[tuple[int, Fraction, str]] = []
    for holder in state.holders.get(market_id, ()):
        position = state.positions[holder][market_id]
        if holder == account_id or (position.size > 0) != (side > 0):
            continue
        if is_fund(holder):
            ranked.append((1, Fraction(0), holder))
            continue
        pnl = position.size * mark - position.cost_basis
        notional = abs(position.size) * mark
        equity = state.accounts[holder].collateral + account_valuation(state, holder)[0]
        score = Fraction(pnl * notional, max(equity, 1))
        ranked.append((0, -score, holder))
    ranked.sort()
    return [holder for _, _, holder in ranked]


def deleverage(state: LedgerState, account_id: str, market_id: str, quantity: int, price: int, events: list[Event]) -> None:
    """Close `quantity` contracts of the account's position against ranked opposite positions."""
    side = 1 if state.positions[account_id][market_id].size > 0 else -1
    remaining = quantity
    for holder in ranked_counterparties(state, account_id, market_id, -side):
        if remaining == 0:
            break
        held = state.positions[holder][market_id].size
        taken = min(abs(held), remaining)
        move_position(state, market_id, account_id, holder, side * taken, price)
        remaining -= taken
        events.append(Deleveraged(holder, account_id, market_id, -side * taken, price))
        counterparty = state.accounts[holder]
        if not is_fund(holder) and counterparty.collateral < 0:
            # Flattened at a price worse than the mark and realized more than it had.
            settle_closed_position(state, holder, counterparty.collateral, [market_id])
    assert remaining == 0, (account_id, market_id, remaining)  # net position zero: enough opposite
