"""Expiry of an OPTION market: cash settlement at its intrinsic value (docs/design.md#options).

At expiry_ms each position closes at the option's payoff per contract against the underlying's
price, call max(0, S - K), put max(0, K - S), through the same path a future takes
(expiry.settle_expired): a position holds no cost basis (its premium was paid at the fill), so
closing it at the payoff pays size x payoff from the shorts to the longs, exactly, and a short who
cannot pay is covered as in a liquidation. The market is then SETTLED.

S is `underlying_settlement_price`: the price the underlying itself settles at, so an option and
its future never settle at two prices; today that is the underlying's mark (the rule a future
expires at), the one place a settlement price rule replaces it.
"""

from __future__ import annotations

from .commands import MarketKind, OptionType
from .events import Event
from .expiry import settle_expired
from .records import Market
from .state import LedgerState


def option_payoff(option_type: OptionType, strike: int, underlying_price: int) -> int:
    """The payoff per contract at expiry, quote minor units: exact, never negative."""
    if option_type == OptionType.CALL:
        return max(underlying_price - strike, 0)
    assert option_type == OptionType.PUT, option_type
    return max(strike - underlying_price, 0)


def underlying_settlement_price(state: LedgerState, option: Market) -> int:
    """The underlying's price an expiring option settles against (module docstring)."""
    price = state.markets[option.underlying].mark_price
    assert price > 0, option.underlying  # listed only on a market that trades, so it was marked
    return price


def settle_expired_option(state: LedgerState, market_id: str, events: list[Event]) -> None:
    option = state.markets[market_id]
    assert option.kind == MarketKind.OPTION, market_id
    if not state.holders.get(market_id) and not state.markets[option.underlying].mark_price:
        settle_expired(state, market_id, events, price=0)  # never priced, nobody holds it
        return
    payoff = option_payoff(option.option_type, option.strike_price, underlying_settlement_price(state, option))
    settle_expired(state, market_id, events, price=payoff)
