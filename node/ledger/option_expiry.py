"""Expiry of an OPTION market: cash settlement at its intrinsic value (docs/design.md#options).

At expiry_ms each position closes at the option's payoff per contract against the underlying's
price, call max(0, S - K), put max(0, K - S), through the same path a future takes
(expiry.settle, method PAYOFF): a position holds no cost basis (its premium was paid at the
fill), so closing it at the payoff pays size x payoff from the shorts to the longs, exactly, and a
short who cannot pay is covered as in a liquidation. The market is then SETTLED.

S is `underlying_settlement_price`, never a price nobody could trade or liquidate at:
- a FUTURE underlying past its own expiry: the price that future settled at (its settlement
  window's time-weighted average, or a guardian's), so an option and its future never settle at two
  prices; while that future has not settled (it is SETTLING, or settles later in the same entry),
  the option waits;
- otherwise the underlying's mark, only while it is VALID, fresh and neither HALTED nor SETTLING.
While there is no such price the option is SETTLING (reason SETTLEMENT_PRICE_UNRELIABLE): nothing
trades, nobody is liquidated, and every entry asks again; a guardian quorum can settle it with
EMERGENCY_SETTLE. Left open: a time-weighted average of a perpetual underlying's index over a window
before the option's expiry (a perpetual has no settlement window of its own).
"""

from __future__ import annotations

from .breakers import set_status
from .commands import MarketKind, OptionType
from .events import Event
from .expiry import settle
from .records import Market, MarketStatus, OracleVerdict, SettlementMethod, StatusReason
from .state import LedgerState


def option_payoff(option_type: OptionType, strike: int, underlying_price: int) -> int:
    """The payoff per contract at expiry, quote minor units: exact, never negative."""
    if option_type == OptionType.CALL:
        return max(underlying_price - strike, 0)
    assert option_type == OptionType.PUT, option_type
    return max(strike - underlying_price, 0)


def underlying_settlement_price(state: LedgerState, option: Market) -> int:
    """The underlying's price an expiring option settles against (module docstring); 0 while
    there is none it may settle at."""
    underlying = state.markets[option.underlying]
    if underlying.kind == MarketKind.FUTURE and state.ledger_time_ms >= underlying.expiry_ms:
        return underlying.settlement_price if underlying.status == MarketStatus.SETTLED else 0
    if underlying.status in (MarketStatus.HALTED, MarketStatus.SETTLING, MarketStatus.SETTLED) \
            or underlying.oracle_verdict != OracleVerdict.VALID or underlying.fresh_until_ms <= state.ledger_time_ms:
        return 0
    return underlying.mark_price


def expire_option(state: LedgerState, market_id: str, events: list[Event]) -> bool:
    """Ledger time is at or past the option's expiry: settle it at its payoff, or keep it
    SETTLING until its underlying's price can be trusted. Returns whether it is now SETTLED."""
    option = state.markets[market_id]
    assert option.kind == MarketKind.OPTION, market_id
    if not state.holders.get(market_id):
        settle(state, market_id, 0, SettlementMethod.PAYOFF, StatusReason.EXPIRED, events)  # nobody holds it
        return True
    price = underlying_settlement_price(state, option)
    if price:
        payoff = option_payoff(option.option_type, option.strike_price, price)
        settle(state, market_id, payoff, SettlementMethod.PAYOFF, StatusReason.EXPIRED, events)
        return True
    if option.status != MarketStatus.SETTLING:
        set_status(state, market_id, MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE, 0, events)
    return False
