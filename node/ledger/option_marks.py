"""An OPTION market's marks: its oracle's median implied volatility and its mark premium
(docs/design.md#options).

An option market's sources sign their implied volatility (ppm, 800_000 = 80%) as the `price` of a
PriceUpdate: the same signed bytes, judged as any print (oracle.price_update: outliers, clamps),
so the lower median of the fresh counted sources is the mark volatility and fewer than
min_sources of them is STALE (REDUCE_ONLY, nobody liquidated at it), as for any market. The
band breaker watches that volatility: a volatility that jumps beyond band_bps of its window halts
the option for its cooldown (a premium moves with its underlying, whose own band breaker guards
it: a premium breaker would halt every option on each ordinary move of the index).

The mark premium (the option's `mark_price`: what it trades, is liquidated and valued at) is
option_pricing's price from the underlying's mark, the mark volatility and the time to expiry at
ledger time, at least 1 minor unit (0 means "no mark" to the ledger). It is made once per entry,
after every linear market was marked (one mark per entry, docs/design.md#one-mark-per-entry),
for each option whose volatility was printed, whose underlying was repriced, or whose premium is
`option_premium_refresh_ms` old (time decays it). Then the holders of options on every underlying
whose book moved are swept for liquidation: `LedgerState.option_holders`, not every account.
"""

from __future__ import annotations

from dataclasses import replace

from .breakers import band_move, set_status
from .events import BreakerTripped, Event, OracleVerdictChanged
from .liquidation import liquidate_accounts
from .oracle import fresh_prices, lower_median, mark_stale, readmit_outliers
from .option_pricing import option_price
from .records import MarketStatus, OracleVerdict, StatusReason
from .state import LedgerState

option_premium_refresh_ms = 1_000  # a premium is made again once this old, even if nothing moved


def mark_option_markets(state: LedgerState, events: list[Event]) -> None:
    """Once per entry, after the linear markets' marks (module docstring). O(option markets)
    integer checks, a pricing per option that moved, and a sweep of the holders of options on
    each underlying that moved."""
    now = state.ledger_time_ms
    repriced = state.entry_repriced
    moved: dict[str, None] = {}
    for option_id in sorted(state.option_underlying):
        option = state.markets[option_id]
        if option.status == MarketStatus.SETTLED:
            continue
        underlying = option.underlying
        printed = option_id in repriced
        if printed:
            readmit_outliers(state, option_id)
            judge_volatility(state, option_id, events)
        if printed or underlying in repriced or now - state.markets[option_id].premium_time_ms >= option_premium_refresh_ms:
            if reprice_premium(state, option_id):
                moved[underlying] = None
    for underlying in repriced:
        if underlying in state.options_of:
            moved[underlying] = None
    for underlying in sorted(moved):
        market = state.markets[underlying]
        if market.oracle_verdict == OracleVerdict.VALID and market.status != MarketStatus.HALTED:
            liquidate_accounts(state, sorted(state.option_holders.get(underlying, ())), events)


def judge_volatility(state: LedgerState, option_id: str, events: list[Event]) -> None:
    """The mark volatility from the fresh sources' prints, the verdict and the band breaker."""
    option = state.markets[option_id]
    fresh = fresh_prices(state, option_id, option)
    if len(fresh) < option.min_sources:
        mark_stale(state, option_id, len(fresh), events)
        return
    volatilities = sorted(volatility for _, volatility in fresh)
    volatility = lower_median(volatilities)  # as for any market
    now = state.ledger_time_ms
    start, low, high, reference = band_move(option, option.mark_volatility_ppm, volatility, now)
    option = replace(
        option, mark_volatility_ppm=volatility, mark_time_ms=fresh[0][0],
        fresh_until_ms=fresh[option.min_sources - 1][0] + option.stale_after_ms + 1,
        band_window_start_ms=start, band_window_low=low, band_window_high=high,
    )
    if reference:
        until = now + option.cooldown_ms
        option = replace(option, breaker_tripped_at_ms=now)
        events.append(BreakerTripped(option_id, volatility, reference, until))
        option = set_status(state, option_id, MarketStatus.HALTED, StatusReason.PRICE_BAND, until, events, option)
    else:
        state.put_market(option_id, option)
    if option.oracle_verdict != OracleVerdict.VALID:
        option = replace(option, oracle_verdict=OracleVerdict.VALID)
        state.put_market(option_id, option)
        events.append(OracleVerdictChanged(option_id, OracleVerdict.VALID, len(fresh), volatility))
    if option.status == MarketStatus.REDUCE_ONLY and option.status_reason == StatusReason.ORACLE_STALE:
        set_status(state, option_id, MarketStatus.ACTIVE, StatusReason.NONE, 0, events)


def mark_premium(state: LedgerState, option_id: str) -> int:
    """The premium per contract at the marks and ledger time now, at least 1; 0 while the option
    has no mark volatility or its underlying no mark."""
    option = state.markets[option_id]
    index = state.markets[option.underlying].mark_price
    if not index or not option.mark_volatility_ppm:
        return 0
    time_ms = max(option.expiry_ms - state.ledger_time_ms, 0)
    price = option_price(option.option_type, index, option.strike_price, option.mark_volatility_ppm, time_ms)
    return max(price, 1)


def reprice_premium(state: LedgerState, option_id: str) -> bool:
    """Make the option's mark premium now; True when it changed."""
    option = state.markets[option_id]
    premium = mark_premium(state, option_id)
    if not premium:
        return False
    state.put_market(option_id, replace(option, mark_price=premium, premium_time_ms=state.ledger_time_ms))
    return premium != option.mark_price
