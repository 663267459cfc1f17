"""Deposit and Withdraw: collateral in and out. Only realized value is ever withdrawable, within a
per-account and a venue-wide limit per window (governed policy parameters), and not at all for a
while after any account went negative. Beyond `custody_quorum_threshold` per account per window
one custodian key is not enough: the withdrawal is a CUSTODY_WITHDRAW a quorum of custodian keys signs
(docs/design.md#custody-quorum), and passes the same checks (`withdrawal_refusal`)."""

from __future__ import annotations

from .commands import Deposit, Withdraw
from .governance import policy
from .limits import account_id_bytes_max, withdrawal_window_ms
from .events import Event
from .liquidation import holds_unreliable_mark
from .margin_calls import review
from .margin import account_valuation
from .policy_params import governed
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
    """A withdrawal on one custodian key's batch: once a signer set is installed, at most
    `custody_quorum_threshold` per account per withdrawal window, counting what left the account
    in the window (so one key cannot split a large withdrawal into small ones); beyond it the
    custodians sign a CUSTODY_WITHDRAW together (emergency.py)."""
    if not is_client_account_id(cmd.account, account_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "account id must be 1-64 bytes of [A-Za-z0-9._:-], not sys:")
    if not is_positive_int64(cmd.amount):
        return Result(cmd.id, ResultCode.INVALID_AMOUNT, "amount must be a positive int64")
    threshold = governed(state, "custody_quorum_threshold")
    if policy(state) is not None:
        withdrawn = _windows(state, cmd.account)[0].withdrawn
        if withdrawn + cmd.amount > threshold:
            return Result(
                cmd.id, ResultCode.CUSTODY_QUORUM_REQUIRED,
                f"one key withdraws at most {threshold} per account per window ({withdrawn} so far): beyond it "
                f"{governed(state, 'custody_quorum')} custodian signatures (CUSTODY_WITHDRAW)",
            )
    refused = withdrawal_refusal(state, cmd.account, cmd.amount)
    if refused is not None:
        return Result(cmd.id, *refused)
    return Result(cmd.id, ResultCode.OK, collateral=pay_out(state, cmd.account, cmd.amount))


def withdrawal_refusal(state: LedgerState, account_id: str, amount: int) -> tuple[ResultCode, str, int] | None:
    """Why this much cannot leave this (well-formed) account now, as (code, message, collateral),
    or None: the checks every withdrawal passes, on one key or a custody quorum."""
    account = state.accounts.get(account_id)
    if account is None:
        return ResultCode.UNKNOWN_ACCOUNT, f"no account {account_id}", 0
    if account.status != AccountStatus.ACTIVE:
        return ResultCode.ACCOUNT_NOT_ACTIVE, f"account is {account.status.name}", 0
    now = state.ledger_time_ms
    gated_until = state.meta[META_WITHDRAWALS_GATED_UNTIL]
    if now < gated_until:
        return ResultCode.WITHDRAWALS_GATED, f"an account went negative: withdrawals resume at {gated_until}", account.collateral
    if holds_unreliable_mark(state, account_id):
        # A position valued at a STALE, TOO_VOLATILE or HALTED mark has no trustworthy value: the
        # account's money stays until the mark is valid again (a withdrawal against a stale mark
        # leaves the funds to pay the difference when the real price arrives).
        return ResultCode.STALE_PRICE, "a position is valued at an unreliable mark: withdrawals wait for a valid one", account.collateral
    free = withdrawable(state, account_id)
    if amount > free:
        return ResultCode.INSUFFICIENT_COLLATERAL, f"withdrawable {max(free, 0)}", account.collateral
    window, venue_start, venue_withdrawn = _windows(state, account_id)
    account_max = governed(state, "withdrawal_account_max_per_window")
    if window.withdrawn + amount > account_max:
        return ResultCode.WITHDRAWAL_LIMIT, f"at most {account_max} per account per window", account.collateral
    venue_max = governed(state, "withdrawal_global_max_per_window")
    if venue_withdrawn + amount > venue_max:
        return ResultCode.WITHDRAWAL_LIMIT, f"at most {venue_max} for the venue per window", account.collateral
    return None


def _windows(state: LedgerState, account_id: str) -> tuple[WithdrawalWindow, int, int]:
    """The account's window and the venue's (start, withdrawn), each restarted if it is over."""
    now = state.ledger_time_ms
    window = state.withdrawal_windows.get(account_id)
    if window is None or now - window.start_ms >= withdrawal_window_ms:
        window = WithdrawalWindow(now, 0)
    venue_start, venue_withdrawn = state.meta[META_WITHDRAWAL_WINDOW_START], state.meta[META_WITHDRAWN_IN_WINDOW]
    if now - venue_start >= withdrawal_window_ms:
        venue_start, venue_withdrawn = now, 0
    return window, venue_start, venue_withdrawn


def pay_out(state: LedgerState, account_id: str, amount: int) -> int:
    """Debit a withdrawal withdrawal_refusal allowed, count it in both windows; the new collateral."""
    account = state.accounts[account_id]
    window, venue_start, venue_withdrawn = _windows(state, account_id)
    collateral = account.collateral - amount
    state.put_account(account_id, Account(collateral, account.status))
    state.add_meta(META_WITHDRAWALS_TOTAL, amount)
    state.put_withdrawal_window(account_id, WithdrawalWindow(window.start_ms, window.withdrawn + amount))
    state.put_meta(META_WITHDRAWAL_WINDOW_START, venue_start)
    state.put_meta(META_WITHDRAWN_IN_WINDOW, venue_withdrawn + amount)
    return collateral
