"""Moving part of one account's position to another at a price: how liquidations hand positions
to an insurance fund and how auto-deleveraging closes them against opposite positions. Both
sides' pnl is realized into collateral as fills.apply_fill says, and open interest follows."""

from __future__ import annotations

from dataclasses import replace

from .fills import fill_rule, long_contracts
from .funding import settle_funding
from .records import Account
from .state import LedgerState


def move_position(state: LedgerState, market_id: str, from_id: str, to_id: str, quantity: int, price: int) -> tuple[int, int]:
    """`from_id`'s position changes by -quantity and `to_id`'s by +quantity, at `price`.
    Returns the pnl each side realized (from, to). Both sides settle their funding first."""
    funding = state.funding.get(market_id)
    if funding is not None:
        settle_funding(state, from_id, market_id)
        settle_funding(state, to_id, market_id)
    old_from = state.positions[from_id][market_id]
    old_to = state.position(to_id, market_id)
    fill = fill_rule(state.markets[market_id])
    new_from, realized_from = fill(old_from, -quantity, price)
    new_to, realized_to = fill(old_to, quantity, price)
    if funding is not None and new_to.funding_index != funding.index:
        new_to = replace(new_to, funding_index=funding.index)  # a position opened now
    old_to_size = old_to.size if old_to else 0
    open_interest = (
        state.open_interest[market_id]
        - long_contracts(old_from.size) + long_contracts(new_from.size)
        - long_contracts(old_to_size) + long_contracts(new_to.size)
    )
    state.put_position(from_id, market_id, new_from)
    state.put_position(to_id, market_id, new_to)
    state.put_open_interest(market_id, open_interest)
    for account_id, realized in ((from_id, realized_from), (to_id, realized_to)):
        if realized:
            account = state.accounts[account_id]
            state.put_account(account_id, Account(account.collateral + realized, account.status))
    return realized_from, realized_to
