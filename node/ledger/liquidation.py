"""Liquidation after a mark change: accounts below maintenance margin are closed at the mark.

The insurance fund takes the closed positions over at the mark and receives the liquidation fee;
a loss beyond the account's collateral is paid by the fund; what the fund cannot pay stays on
the account, which becomes BANKRUPT. The fund itself can run a deficit (negative balance) when
positions it took over lose more than it holds; a fund in deficit pays nothing. (Partial slices, per-window caps, per-market funds and
auto-deleveraging arrive with the guards.)

Cost: one sweep visits the accounts holding a position in the repriced market (the `holders`
index), not every account, and values each one across its own positions.
"""

from __future__ import annotations

from .breakers import count_liquidation
from .events import Event, Liquidation
from .fills import apply_fill, long_contracts
from .margin import below_maintenance, ceil_div
from .limits import bps_denominator, withdrawal_gate_after_negative_ms
from .records import Account, AccountStatus, MarketStatus
from .state import INSURANCE_FUND, META_WITHDRAWALS_GATED_UNTIL, LedgerState


def liquidate_below_maintenance(state: LedgerState, market_id: str, events: list[Event]) -> None:
    # Sorted: the holders index is in write order live but in key order after a restart.
    for account_id in sorted(state.holders.get(market_id, ())):
        if account_id == INSURANCE_FUND:
            continue
        if state.accounts[account_id].status != AccountStatus.ACTIVE:
            continue
        if holds_halted_market(state, account_id):
            continue  # valued at a price that tripped a breaker: wait for the halt to end
        if below_maintenance(state, account_id):
            liquidate_account(state, account_id, events)


def holds_halted_market(state: LedgerState, account_id: str) -> bool:
    markets = state.markets
    return any(
        p.size and markets[m].status == MarketStatus.HALTED for m, p in state.positions.get(account_id, {}).items()
    )


def _close_into_fund(state: LedgerState, account_id: str, market_id: str) -> tuple[int, int, int]:
    """Move the account's whole position in one market to the fund at the mark.
    Returns (size closed, mark, realized pnl of the account)."""
    market = state.markets[market_id]
    mark = market.mark_price
    position = state.positions[account_id][market_id]
    size = position.size
    closed, realized = apply_fill(position, -size, mark)
    fund_old = state.position(INSURANCE_FUND, market_id)
    fund_new, fund_realized = apply_fill(fund_old, size, mark)
    fund_old_size = fund_old.size if fund_old else 0
    open_interest = (
        state.open_interest[market_id]
        - long_contracts(size) + long_contracts(closed.size)
        - long_contracts(fund_old_size) + long_contracts(fund_new.size)
    )
    state.put_position(account_id, market_id, closed)
    state.put_position(INSURANCE_FUND, market_id, fund_new)
    state.put_open_interest(market_id, open_interest)
    if fund_realized:
        fund = state.accounts[INSURANCE_FUND]
        state.put_account(INSURANCE_FUND, Account(fund.collateral + fund_realized, fund.status))
    return size, mark, realized


def settle_account_loss(state: LedgerState, account_id: str, collateral: int) -> tuple[int, int]:
    """Write the account's collateral after its positions closed; a negative balance is paid by
    the insurance fund as far as the fund has money, and what is left makes the account
    BANKRUPT; a negative balance also pauses withdrawals. Returns (fund paid, uncovered)."""
    fund_paid = 0
    if collateral < 0:
        # An account went negative: withdrawals pause while the venue absorbs it (dYdX).
        gated_until = state.ledger_time_ms + withdrawal_gate_after_negative_ms
        state.put_meta(META_WITHDRAWALS_GATED_UNTIL, max(state.meta[META_WITHDRAWALS_GATED_UNTIL], gated_until))
        fund = state.accounts[INSURANCE_FUND]
        fund_paid = min(-collateral, max(fund.collateral, 0))
        collateral += fund_paid
        state.put_account(INSURANCE_FUND, Account(fund.collateral - fund_paid, fund.status))
    uncovered = -collateral if collateral < 0 else 0
    state.put_account(account_id, Account(collateral, AccountStatus.BANKRUPT if uncovered else AccountStatus.ACTIVE))
    return fund_paid, uncovered


def liquidate_account(state: LedgerState, account_id: str, events: list[Event]) -> None:
    collateral = state.accounts[account_id].collateral
    closed: list[tuple[str, int, int, int]] = []
    for market_id in sorted(state.positions[account_id]):
        if state.positions[account_id][market_id].size == 0:
            continue
        size, mark, realized = _close_into_fund(state, account_id, market_id)
        count_liquidation(state, market_id, abs(size) * mark, events)
        collateral += realized
        fee = ceil_div(abs(size) * mark * state.markets[market_id].liquidation_fee_bps, bps_denominator)
        closed.append((market_id, size, mark, fee))

    fund = state.accounts[INSURANCE_FUND].collateral
    fees_paid: list[int] = []
    for _, _, _, fee in closed:
        paid = min(fee, max(collateral, 0))  # a fee is never taken from money the account lacks
        collateral -= paid
        fund += paid
        fees_paid.append(paid)
    state.put_account(INSURANCE_FUND, Account(fund, state.accounts[INSURANCE_FUND].status))
    fund_paid, uncovered = settle_account_loss(state, account_id, collateral)
    for i, (market_id, size, mark, _) in enumerate(closed):
        last = i == len(closed) - 1
        events.append(
            Liquidation(
                account=account_id, market=market_id, size=size, price=mark, fee=fees_paid[i],
                fund_paid=fund_paid if last else 0, uncovered=uncovered if last else 0,
            )
        )
