"""The insurance funds: each market's own fund first, then the global fund.

Both are accounts of the ledger itself (ids under `sys:`), so their balances take part in
conservation like any other collateral. A market's fund takes over that market's liquidated
positions (up to the market's fund_position_cap), receives its liquidation fees, and pays the
losses of accounts bankrupted there; the global fund pays what the market funds cannot, and its
floor drives the venue's global mode (global_mode.py). A fund pays at most its cash and at most
its equity at the mark (fund_equity.py): a fund in deficit, or whose inherited position has lost
what its cash shows, pays nothing.
"""

from __future__ import annotations

from .fund_equity import fund_equity
from .policy_params import governed
from .records import Account, AccountStatus
from .state import INSURANCE_FUND, META_WITHDRAWALS_GATED_UNTIL, LedgerState, market_fund


def pay_from_funds(state: LedgerState, amount: int, market_ids: list[str]) -> int:
    """Debit up to `amount` from the funds of `market_ids` (in order), then the global fund.
    Returns what they paid; the caller credits it to whoever the loss belongs to."""
    paid = 0
    for fund_id in [market_fund(m) for m in market_ids] + [INSURANCE_FUND]:
        if paid == amount:
            break
        fund = state.accounts[fund_id]
        share = min(amount - paid, max(min(fund.collateral, fund_equity(state, fund_id)), 0))
        if share:
            state.put_account(fund_id, Account(fund.collateral - share, fund.status))
            paid += share
    return paid


def gate_withdrawals(state: LedgerState) -> None:
    """An account went negative: withdrawals pause while the venue absorbs it (dYdX)."""
    gated_until = state.ledger_time_ms + governed(state, "withdrawal_gate_after_negative_ms")
    state.put_meta(META_WITHDRAWALS_GATED_UNTIL, max(state.meta[META_WITHDRAWALS_GATED_UNTIL], gated_until))


def settle_account_loss(state: LedgerState, account_id: str, collateral: int, market_ids: list[str]) -> tuple[int, int]:
    """Write a client account's collateral once its positions are closed. A negative balance is
    paid by the funds as far as they can, pauses withdrawals, and what is left makes the account
    BANKRUPT. Returns (funds paid, uncovered)."""
    fund_paid = 0
    if collateral < 0:
        gate_withdrawals(state)
        fund_paid = pay_from_funds(state, -collateral, market_ids)
        collateral += fund_paid
    uncovered = -collateral if collateral < 0 else 0
    state.put_account(account_id, Account(collateral, AccountStatus.BANKRUPT if uncovered else AccountStatus.ACTIVE))
    return fund_paid, uncovered


def settle_closed_position(state: LedgerState, account_id: str, collateral: int, market_ids: list[str]) -> None:
    """Write a client's collateral after one of its positions was closed by the venue (ADL,
    expiry, an emergency settlement). Flat everywhere: settle it as above. Still holding other
    markets with a negative balance: those positions may cover it, so liquidation takes over
    (the account is never left ACTIVE and negative, nor made BANKRUPT with positive equity)."""
    account = state.accounts[account_id]
    if not any(p.size for p in state.positions.get(account_id, {}).values()):
        settle_account_loss(state, account_id, collateral, market_ids)
    elif collateral < 0 and account.status == AccountStatus.ACTIVE:
        state.put_account(account_id, Account(collateral, AccountStatus.LIQUIDATING))
    else:
        state.put_account(account_id, Account(collateral, account.status))
