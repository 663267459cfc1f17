"""Events the ledger emits while applying an entry (streamed by WatchEvents)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Liquidation:
    account: str
    market: str
    size: int  # the position closed, signed as it was held
    price: int  # the mark it was closed at
    fee: int  # liquidation fee paid to the insurance fund
    fund_paid: int  # loss beyond the account's collateral that the fund covered
    uncovered: int  # loss that neither the account nor the fund could pay (account BANKRUPT)


Event = Liquidation
