"""Expiry: a FUTURE market cash-settles at its mark once ledger time reaches expiry_ms.

Every open position closes at the mark and its pnl becomes collateral; a loss beyond an
account's collateral is covered as in a liquidation (the insurance fund, then BANKRUPT). The
market is then SETTLED: no trades, no prices, no positions.
"""

from __future__ import annotations

from .breakers import set_status
from .events import Event
from .fills import apply_fill
from .funding import settle_funding, stop_funding
from .funds import settle_closed_position
from .records import Account, MarketStatus, StatusReason
from .state import LedgerState, is_fund


def settle_expired(
    state: LedgerState, market_id: str, events: list[Event], price: int | None = None,
    reason: StatusReason = StatusReason.EXPIRED,
) -> None:
    """Close every position at `price` (default: the mark) and make the market SETTLED."""
    price = price if price is not None else state.markets[market_id].mark_price
    for account_id in sorted(state.holders.get(market_id, ())):  # sorted: store order differs
        settle_funding(state, account_id, market_id)  # a perpetual's funding up to now, first
        position = state.positions[account_id][market_id]
        closed, realized = apply_fill(position, -position.size, price)
        state.put_position(account_id, market_id, closed)
        account = state.accounts[account_id]
        collateral = account.collateral + realized
        if is_fund(account_id):
            state.put_account(account_id, Account(collateral, account.status))  # a fund may run a deficit
        else:
            settle_closed_position(state, account_id, collateral, [market_id])
    state.put_open_interest(market_id, 0)
    stop_funding(state, market_id)
    set_status(state, market_id, MarketStatus.SETTLED, reason, 0, events)
