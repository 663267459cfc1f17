"""The settlement window: the time-weighted average of an expiring market's VALID marks.

An expiring market settles at the average of its mark over the `settlement_window_ms` before
expiry, weighted by the ledger time each mark held (Deribit: the index's 30-minute TWAP), counting
only time in which the mark was one to trade and liquidate at: verdict VALID, fresh (before its
`fresh_until_ms`), and not the price that tripped the band breaker (HALTED for PRICE_BAND). A STALE
or TOO_VOLATILE interval, a band halt and, since they never reach the mark, an OUTLIER or CLAMPED
print contribute no time (docs/design.md#settlement-price).

Exact integers, in the market record: the sums of price x ms (128-bit) and of ms, and the sample
running now (its price, since when, valid until when). `resample` closes the running sample and
starts the next one from the market as it stands; it is called wherever the mark, the verdict or
the status changes (oracle.py, breakers.set_status, expiry.py), so no interval is ever counted at
a price other than the one that held. While a market is SETTLING the sums count from expiry.

One job: the accumulator. What happens at expiry with it is expiry.py's.
"""

from __future__ import annotations

from dataclasses import replace

from .limits import INT64_MAX, settlement_coverage_min_pct
from .records import Market, MarketStatus, OracleVerdict, StatusReason

percent_denominator = 100


def mark_counts(market: Market) -> bool:
    """Whether the market's mark counts towards its settlement price from now on."""
    return (
        market.mark_price > 0 and market.oracle_verdict == OracleVerdict.VALID and market.fresh_until_ms > 0
        and not (market.status == MarketStatus.HALTED and market.status_reason == StatusReason.PRICE_BAND)
    )


def window_bounds(market: Market) -> tuple[int, int]:
    """[start, end) of the ledger time that counts: the window before expiry, or, while
    SETTLING, everything after expiry."""
    if market.status == MarketStatus.SETTLING:
        return market.expiry_ms, INT64_MAX
    return market.expiry_ms - market.settlement_window_ms, market.expiry_ms


def resample(market: Market, at_ms: int) -> Market:
    """The market with its running sample closed at `at_ms` (the part of it inside the window and
    before the mark went stale, added to the sums) and the next one started at `at_ms`. A market
    without a window (a perpetual) or settled is returned as it is."""
    if not market.settlement_window_ms or market.status == MarketStatus.SETTLED:
        return market
    price_ms, valid_ms = market.settlement_price_ms, market.settlement_valid_ms
    if market.settlement_sample_price:
        start, end = window_bounds(market)
        held_from = max(market.settlement_sample_since_ms, start)
        held_to = min(at_ms, market.settlement_sample_until_ms, end)
        if held_to > held_from:
            price_ms += market.settlement_sample_price * (held_to - held_from)
            valid_ms += held_to - held_from
    price = market.mark_price if mark_counts(market) and market.fresh_until_ms > at_ms else 0
    resampled = replace(
        market, settlement_price_ms=price_ms, settlement_valid_ms=valid_ms, settlement_sample_price=price,
        settlement_sample_since_ms=at_ms, settlement_sample_until_ms=market.fresh_until_ms if price else 0,
    )
    return market if resampled == market else resampled


def valid_ms_min(market: Market) -> int:
    """The VALID time a settlement price needs: settlement_coverage_min_pct of the window, rounded up."""
    return -(-market.settlement_window_ms * settlement_coverage_min_pct // percent_denominator)


def has_enough_valid_time(market: Market) -> bool:
    return market.settlement_valid_ms > 0 and market.settlement_valid_ms >= valid_ms_min(market)


def settlement_twap(market: Market) -> int:
    """sum(price x ms) / sum(ms), rounded to the nearest multiple of the tick (half up, exactly:
    from the fraction, not from a floored average), and at least one tick."""
    tick, valid_ms = market.tick_size, market.settlement_valid_ms
    assert valid_ms > 0, valid_ms
    ticks = (2 * market.settlement_price_ms + tick * valid_ms) // (2 * tick * valid_ms)
    return max(ticks, 1) * tick


def running_twap(market: Market) -> int:
    """The average so far (floored, not rounded to the tick), for display; 0 without valid time."""
    if not market.settlement_valid_ms:
        return 0
    return market.settlement_price_ms // market.settlement_valid_ms


def reliable_at_expiry(market: Market) -> bool:
    """The oracle's verdict at expiry was VALID: VALID and still fresh at expiry_ms."""
    return market.oracle_verdict == OracleVerdict.VALID and market.fresh_until_ms > market.expiry_ms


def begin_settling(market: Market) -> Market:
    """The sums restart at expiry: a SETTLING market settles only on what it sees after it.
    The running sample stays (it counts from expiry on); breakers.set_status makes it SETTLING."""
    return replace(market, settlement_price_ms=0, settlement_valid_ms=0)


def settling_deadline_ms(market: Market) -> int:
    """When a SETTLING market's running sample, if it stays valid, completes the VALID time it
    needs (0: no price counts now; a new mark will set one)."""
    if not market.settlement_sample_price:
        return 0
    since = max(market.settlement_sample_since_ms, market.expiry_ms)
    return since + valid_ms_min(market) - market.settlement_valid_ms
