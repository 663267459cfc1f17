"""Deposit and Withdraw: collateral in and out. Only realized value is ever withdrawable, within a
per-account and a venue-wide limit per window, and not at all for a while after any account went
negative."""

from __future__ import annotations

from .commands import Deposit, Withdraw
from .limits import (
    account_id_bytes_max,
    withdrawal_account_max_per_window,
    withdrawal_global_max_per_window,
    withdrawal_window_ms,
)
from .events import Event
from .liquidation import holds_unreliable_mark
from .margin_calls import review
from .margin import account_valuation
from .records import Account, AccountStatus, WithdrawalWindow
from .results import Result, ResultCode
from .state import (
    is_fund,
    META_DEPOSITS_TOTAL,
    META_WITHDRAWAL_WINDOW_START,
    META_WITHDRAWALS_GATED_UNTIL,
    META_WITHDRAWALS_TOTAL,
    META_WITHDRAWN_IN_WINDOW,
    LedgerState,
)
from .validation import is_client_account_id, is_int64, is_positive_int64


def deposit(state: LedgerState, cmd: Deposit, events: list[Event] | None = None) -> Result:
    # The custodian may top up the insurance funds (the global one and each market's, which
    # exist from the market's listing); every other ledger-owned id is refused.
    if not (cmd.account in state.accounts and is_fund(cmd.account)) and not is_client_account_id(cmd.account, account_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "account id must be 1-64 bytes of [A-Za-z0-9._:-], not sys:")
    if not is_positive_int64(cmd.amount):
        return Result(cmd.id, ResultCode.INVALID_AMOUNT, "amount must be a positive int64")
    account = state.accounts.get(cmd.account) or Account(0)
    collateral = account.collateral + cmd.amount
    if not is_int64(collateral):
        return Result(cmd.id, ResultCode.INVALID_AMOUNT, "collateral would exceed int64")
    state.put_account(cmd.account, Account(collateral, account.status))
    state.add_meta(META_DEPOSITS_TOTAL, cmd.amount)
    if events is not None and cmd.account in state.margin_calls:
        review(state, cmd.account, events, may_call=False)  # a top-up may cure a margin call
    return Result(cmd.id, ResultCode.OK, collateral=collateral)


def withdrawable(state: LedgerState, account_id: str) -> int:
    """Collateral less unrealized losses less initial margin; unrealized profit counts for nothing."""
    collateral = state.accounts[account_id].collateral
    _, loss, initial, _ = account_valuation(state, account_id)
    return collateral + loss - initial


def withdraw(state: LedgerState, cmd: Withdraw) -> Result:
    if not is_client_account_id(cmd.account, account_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "account id must be 1-64 bytes of [A-Za-z0-9._:-], not sys:")
    if not is_positive_int64(cmd.amount):
        return Result(cmd.id, ResultCode.INVALID_AMOUNT, "amount must be a positive int64")
    account = state.accounts.get(cmd.account)
    if account is None:
        return Result(cmd.id, ResultCode.UNKNOWN_ACCOUNT, f"no account {cmd.account}")
    if account.status != AccountStatus.ACTIVE:
        return Result(cmd.id, ResultCode.ACCOUNT_NOT_ACTIVE, f"account is {account.status.name}")
    now = state.ledger_time_ms
    gated_until = state.meta[META_WITHDRAWALS_GATED_UNTIL]
    if now < gated_until:
        return Result(cmd.id, ResultCode.WITHDRAWALS_GATED, f"an account went negative: withdrawals resume at {gated_until}", collateral=account.collateral)
    if holds_unreliable_mark(state, cmd.account):
        # A position valued at a STALE, TOO_VOLATILE or HALTED mark has no trustworthy value: the
        # account's money stays until the mark is valid again (a withdrawal against a stale mark
        # leaves the funds to pay the difference when the real price arrives).
        return Result(cmd.id, ResultCode.STALE_PRICE, "a position is valued at an unreliable mark: withdrawals wait for a valid one", collateral=account.collateral)
    free = withdrawable(state, cmd.account)
    if cmd.amount > free:
        return Result(
            cmd.id, ResultCode.INSUFFICIENT_COLLATERAL,
            f"withdrawable {max(free, 0)}", collateral=account.collateral,
        )
    window = state.withdrawal_windows.get(cmd.account)
    if window is None or now - window.start_ms >= withdrawal_window_ms:
        window = WithdrawalWindow(now, 0)
    venue_start, venue_withdrawn = state.meta[META_WITHDRAWAL_WINDOW_START], state.meta[META_WITHDRAWN_IN_WINDOW]
    if now - venue_start >= withdrawal_window_ms:
        venue_start, venue_withdrawn = now, 0
    if window.withdrawn + cmd.amount > withdrawal_account_max_per_window:
        return Result(cmd.id, ResultCode.WITHDRAWAL_LIMIT, f"at most {withdrawal_account_max_per_window} per account per window", collateral=account.collateral)
    if venue_withdrawn + cmd.amount > withdrawal_global_max_per_window:
        return Result(cmd.id, ResultCode.WITHDRAWAL_LIMIT, f"at most {withdrawal_global_max_per_window} for the venue per window", collateral=account.collateral)
    collateral = account.collateral - cmd.amount
    state.put_account(cmd.account, Account(collateral, account.status))
    state.add_meta(META_WITHDRAWALS_TOTAL, cmd.amount)
    state.put_withdrawal_window(cmd.account, WithdrawalWindow(window.start_ms, window.withdrawn + cmd.amount))
    state.put_meta(META_WITHDRAWAL_WINDOW_START, venue_start)
    state.put_meta(META_WITHDRAWN_IN_WINDOW, venue_withdrawn + cmd.amount)
    return Result(cmd.id, ResultCode.OK, collateral=collateral)
