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


@dataclass(frozen=True, slots=True)
class BreakerTripped:
    market: str
    price: int  # the mark that tripped it
    reference: int  # the window's low or high it moved away from
    until_ms: int  # ledger time the HALTED cooldown ends


@dataclass(frozen=True, slots=True)
class MarketStatusChanged:
    market: str
    status: int  # records.MarketStatus
    reason: int  # records.StatusReason


@dataclass(frozen=True, slots=True)
class GlobalModeChanged:
    mode: int  # records.GlobalMode
    reason: int  # records.GlobalReason


Event = Liquidation | BreakerTripped | MarketStatusChanged | GlobalModeChanged
