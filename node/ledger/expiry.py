"""Expiry: an expiring market cash-settles at its settlement price, or waits SETTLING for one.

At expiry_ms (docs/design.md#settlement-price) the market settles at the time-weighted average of
its VALID marks over its settlement window (settlement_window.py) when the window holds at least
settlement_coverage_min_pct of VALID time and the oracle's verdict at expiry is VALID. Otherwise it
becomes SETTLING (reason SETTLEMENT_PRICE_UNRELIABLE): no trades, no liquidations, its positions
frozen, until it has collected as much VALID time after expiry (then it settles at that time's
average) or a guardian quorum signs a price (EMERGENCY_SETTLE, interventions.py).

Settling closes every open position at the price and its pnl becomes collateral; a loss beyond an
account's collateral is covered as in a liquidation (the insurance fund, then BANKRUPT). The
market is then SETTLED: no trades, no prices, no positions. `settlement_price_of` is what a market
built on this one (an option on its underlying) asks for.
"""

from __future__ import annotations

from dataclasses import replace

from .breakers import set_status
from .events import Event, MarketSettled
from .fills import apply_fill
from .funding import settle_funding, stop_funding
from .funds import settle_closed_position
from .records import Account, MarketStatus, SettlementMethod, StatusReason
from .settlement_window import (
    begin_settling,
    has_enough_valid_time,
    reliable_at_expiry,
    resample,
    settlement_twap,
)
from .state import LedgerState, is_fund


def expire(state: LedgerState, market_id: str, events: list[Event]) -> bool:
    """Ledger time is at or past the market's expiry: settle it at its window's average, or keep
    it SETTLING until it can be. Returns whether it is now SETTLED."""
    market = state.markets[market_id]
    if market.status != MarketStatus.SETTLING:
        market = resample(market, market.expiry_ms)  # the window ends at expiry, whenever the entry came
        state.put_market(market_id, market)
        if has_enough_valid_time(market) and reliable_at_expiry(market):
            settle(state, market_id, settlement_twap(market), SettlementMethod.TWAP, StatusReason.EXPIRED, events)
            return True
        stop_funding(state, market_id)
        set_status(state, market_id, MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE, 0, events,
                   begin_settling(market))  # set_status counts the VALID time since expiry
    market = resample(state.markets[market_id], state.ledger_time_ms)
    state.put_market(market_id, market)
    if has_enough_valid_time(market):
        settle(state, market_id, settlement_twap(market), SettlementMethod.TWAP, StatusReason.EXPIRED, events)
        return True
    return False


def settle(
    state: LedgerState, market_id: str, price: int, method: SettlementMethod, reason: StatusReason, events: list[Event],
) -> None:
    """Close every position at `price`, make the market SETTLED and say how the price was formed."""
    market = state.markets[market_id]
    if method == SettlementMethod.PAYOFF:  # an option's payoff (option_expiry.py): any amount, 0 out of the money
        assert price >= 0, price
    else:
        assert price > 0 and price % market.tick_size == 0, (price, market.tick_size)
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
    market = state.markets[market_id]
    events.append(MarketSettled(
        market_id, price, method, market.settlement_valid_ms, market.settlement_window_ms, state.ledger_time_ms,
    ))
    set_status(state, market_id, MarketStatus.SETTLED, reason, 0, events, replace(market, settlement_price=price))


def settlement_price_of(state: LedgerState, market_id: str) -> int:
    """The price the market settled at; 0 while it has none (not expired yet, or SETTLING)."""
    return state.markets[market_id].settlement_price
