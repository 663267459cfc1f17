"""The market status machine as the guards drive it, in ledger time.

Price-band breaker: a mark more than the band (band_bps, or with an adaptive band the one the
mark's volatility sets: volatility.py, docs/design.md#adaptive-thresholds) away from the lowest or highest mark seen in the
current band window (a tumbling window of band_window_ms) halts the market for cooldown_ms; then
it is REDUCE_ONLY for another cooldown_ms (the grace period), then ACTIVE. Marks keep updating
while a market is halted, so it sees reality, but nothing trades and nobody is liquidated at a
price that tripped it. The cascade breaker makes a market REDUCE_ONLY for cooldown_ms when
liquidations pile up. Every transition goes through `set_status`, which keeps the reason and the
time, and emits the event.
"""

from __future__ import annotations

from dataclasses import replace

from .commands import MarketKind
from .events import BandChanged, BreakerTripped, Event, MarketStatusChanged
from .limits import band_changed_step_bps, bps_denominator
from .records import Market, MarketStatus, OracleVerdict, StatusReason
from .settlement_window import resample
from .state import LedgerState
from .volatility import effective_band_bps, record_volatility, volatility_ppm


def set_status(
    state: LedgerState, market_id: str, status: MarketStatus, reason: StatusReason, until_ms: int,
    events: list[Event], market: Market | None = None,
) -> Market:
    market = replace(
        market or state.markets[market_id],
        status=status, status_reason=reason, status_since_ms=state.ledger_time_ms, status_until_ms=until_ms,
    )
    market = resample(market, state.ledger_time_ms)  # a band halt stops its price counting towards settlement
    state.put_market(market_id, market)
    events.append(MarketStatusChanged(market_id, status, reason, state.ledger_time_ms))
    return market


def record_mark(state: LedgerState, market_id: str, price: int, source_time_ms: int, events: list[Event]) -> Market:
    """Set a new mark and run the band breaker on it. Returns the market as it now stands."""
    market = state.markets[market_id]
    now = state.ledger_time_ms
    start, low, high, reference = band_move(market, market.mark_price, price, now)
    market = replace(
        record_volatility(market, price, now), mark_price=price, mark_time_ms=source_time_ms,
        band_window_start_ms=start, band_window_low=low, band_window_high=high,
    )
    announce = _band_to_announce(market)
    if announce is not None:
        market = replace(market, announced_band_bps=announce)
    if not reference:
        state.put_market(market_id, market)
    else:
        until = now + market.cooldown_ms
        market = replace(market, breaker_tripped_at_ms=now)
        events.append(BreakerTripped(market_id, price, reference, until))
        market = set_status(state, market_id, MarketStatus.HALTED, StatusReason.PRICE_BAND, until, events, market)
    if announce is not None:
        events.append(BandChanged(market_id, announce, volatility_ppm(market), now))
    return market


def band_move(market: Market, previous: int, value: int, now: int) -> tuple[int, int, int, int]:
    """The band window after `value` follows `previous` (what the band breaker watches: a
    market's mark, an option's mark volatility): (start, low, high, reference), reference being
    the window's low or high the move broke out of (the breaker trips), or 0."""
    start, low, high = market.band_window_start_ms, market.band_window_low, market.band_window_high
    reference = 0
    if previous == 0 or market.status == MarketStatus.HALTED:
        return now, value, value, 0  # first mark, or halted: the window restarts here
    if now - start >= market.band_window_ms:
        start, low, high = now, previous, previous
    band = effective_band_bps(market)  # the band before this move: a crash does not widen its own
    if band and value * bps_denominator > low * (bps_denominator + band):
        reference = low
    elif band and value * bps_denominator < high * (bps_denominator - band):
        reference = high
    if reference:
        return now, value, value, reference
    return start, min(low, value), max(high, value), 0


def _band_to_announce(market: Market) -> int | None:
    """The adaptive band, when it moved band_changed_step_bps or more from the one announced last."""
    if not market.band_volatility_pct:
        return None
    band = effective_band_bps(market)
    return band if abs(band - market.announced_band_bps) >= band_changed_step_bps else None


def count_liquidation(state: LedgerState, market_id: str, notional: int, events: list[Event]) -> None:
    """Cascade breaker: liquidated notional within cascade_window_ms above cascade_bps of the open
    interest's notional makes an ACTIVE market REDUCE_ONLY for cooldown_ms (March 2020)."""
    market = state.markets[market_id]
    if not market.cascade_bps:
        return
    now = state.ledger_time_ms
    start, total = market.cascade_window_start_ms, market.cascade_notional
    if now - start >= market.cascade_window_ms:
        start, total = now, 0
    total += notional
    market = replace(market, cascade_window_start_ms=start, cascade_notional=total)
    open_interest_notional = state.open_interest[market_id] * market.mark_price
    if market.status == MarketStatus.ACTIVE and open_interest_notional \
            and total * bps_denominator > market.cascade_bps * open_interest_notional:
        set_status(state, market_id, MarketStatus.REDUCE_ONLY, StatusReason.CASCADE, now + market.cooldown_ms, events, market)
    else:
        state.put_market(market_id, market)


def reopen(state: LedgerState, market_id: str, events: list[Event]) -> Market:
    """End a breaker's restriction: ACTIVE, unless the oracle is stale (then REDUCE_ONLY)."""
    if state.markets[market_id].oracle_verdict == OracleVerdict.STALE:
        return set_status(state, market_id, MarketStatus.REDUCE_ONLY, StatusReason.ORACLE_STALE, 0, events)
    return set_status(state, market_id, MarketStatus.ACTIVE, StatusReason.NONE, 0, events)


def run_due_timers(state: LedgerState, events: list[Event]) -> None:
    """Advance every market whose guard deadline has passed (called once per entry, cheaply:
    only when ledger time reaches the earliest deadline)."""
    from .expiry import expire  # expiry settles positions: it needs liquidation's helpers
    from .option_expiry import expire_option
    from .oracle import fresh_prices, mark_stale  # the oracle sweeps liquidations, which trip breakers

    now = state.ledger_time_ms
    for market_id in sorted(m for m, deadline in state.guard_deadlines.items() if deadline <= now):
        market = state.markets[market_id]
        if market.kind == MarketKind.FUTURE and market.status != MarketStatus.SETTLED and now >= market.expiry_ms:
            if expire(state, market_id, events):  # settled; else SETTLING, and its oracle still judged below
                continue
            market = state.markets[market_id]
        if market.kind == MarketKind.OPTION and market.status != MarketStatus.SETTLED and now >= market.expiry_ms:
            if expire_option(state, market_id, events):  # at its payoff; else SETTLING until its underlying's price is reliable
                continue
            market = state.markets[market_id]
        if market.fresh_until_ms and now >= market.fresh_until_ms:
            mark_stale(state, market_id, len(fresh_prices(state, market_id, market)), events)
            market = state.markets[market_id]
        if market.status == MarketStatus.HALTED and market.status_reason == StatusReason.PRICE_BAND \
                and now >= market.status_until_ms:
            grace_until = market.status_until_ms + market.cooldown_ms
            market = set_status(state, market_id, MarketStatus.REDUCE_ONLY, StatusReason.BREAKER_GRACE, grace_until, events)
        if market.status == MarketStatus.REDUCE_ONLY and market.status_reason in (StatusReason.BREAKER_GRACE, StatusReason.CASCADE) \
                and now >= market.status_until_ms:
            reopen(state, market_id, events)
