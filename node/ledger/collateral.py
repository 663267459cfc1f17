"""Deposit and Withdraw: collateral in and out. Only realized value is ever withdrawable."""

from __future__ import annotations

from .commands import Deposit, Withdraw
from .limits import account_id_bytes_max
from .margin import account_valuation
from .records import Account, AccountStatus
from .results import Result, ResultCode
from .state import INSURANCE_FUND, META_DEPOSITS_TOTAL, META_WITHDRAWALS_TOTAL, LedgerState
from .validation import is_client_account_id, is_int64, is_positive_int64


def deposit(state: LedgerState, cmd: Deposit) -> Result:
    # The custodian may top up the insurance fund; every other ledger-owned id is refused.
    if cmd.account != INSURANCE_FUND and not is_client_account_id(cmd.account, account_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "account id must be 1-64 bytes of [A-Za-z0-9._:-], not sys:")
    if not is_positive_int64(cmd.amount):
        return Result(cmd.id, ResultCode.INVALID_AMOUNT, "amount must be a positive int64")
    account = state.accounts.get(cmd.account) or Account(0)
    collateral = account.collateral + cmd.amount
    if not is_int64(collateral):
        return Result(cmd.id, ResultCode.INVALID_AMOUNT, "collateral would exceed int64")
    state.put_account(cmd.account, Account(collateral, account.status))
    state.add_meta(META_DEPOSITS_TOTAL, cmd.amount)
    return Result(cmd.id, ResultCode.OK, collateral=collateral)


def withdrawable(state: LedgerState, account_id: str) -> int:
    """Collateral less unrealized losses less initial margin; unrealized profit counts for nothing."""
    collateral = state.accounts[account_id].collateral
    _, loss, initial, _ = account_valuation(state, account_id, collateral)
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
    free = withdrawable(state, cmd.account)
    if cmd.amount > free:
        return Result(
            cmd.id, ResultCode.INSUFFICIENT_COLLATERAL,
            f"withdrawable {max(free, 0)}", collateral=account.collateral,
        )
    collateral = account.collateral - cmd.amount
    state.put_account(cmd.account, Account(collateral, account.status))
    state.add_meta(META_WITHDRAWALS_TOTAL, cmd.amount)
    return Result(cmd.id, ResultCode.OK, collateral=collateral)
