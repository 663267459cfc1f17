"""PriceUpdate: a signed price from one registered source, the median mark, and the verdicts.

Each market registers its sources (id and Ed25519 public key) when it is listed. An update must
be signed by its source over `signatures.price_update_bytes` and carry a source time later than
that source's last one. The mark is the lower median of the fresh counted sources' prices (a
source is fresh while its source time is within stale_after_ms of ledger time); one lying source
among three cannot move it (Mango Markets 2022).

One mark per entry (docs/design.md#one-mark-per-entry): each update is judged and recorded as it
comes; the mark, the verdict, the breakers and the liquidation sweep run once per repriced market
at the end of the entry's commands (`mark_repriced_markets`), so no breaker ever sees a mark that
mixes the entry's new prices with old ones, and every command of the entry sees the same mark.

Each update is judged against the other sources (docs/design.md#outliers-and-clamps):

- INVALID: a non-positive price. Refused, nothing changes.
- CLAMPED (PRICE_CLAMPED): the source's price has not changed for clamp_after_ms while another
  fresh counted source reported a different price in that time (LUNA 2022). Recorded, not counted,
  until the source reports a different price. All sources flat is a quiet market: no clamp.
- OUTLIER (PRICE_OUTLIER): more than outlier_bps from the median of the other fresh sources (at
  least two of them). Recorded, counted in the source's outlier_prints, streamed, not counted until
  it is judged back within the band: a later print of it, or, at the end of an entry, its last
  print against the others' latest ones (`readmit_outliers`: the first source to report a real
  move counts once the others confirm it). With fewer than two other fresh sources nobody is
  judged: a source counts, but an outlier stays one.

The market's verdicts, at the end of the entry:

- STALE: fewer than min_sources fresh counted sources. The mark is kept, the market is
  REDUCE_ONLY and nobody is liquidated until enough sources are fresh again. Detected at the end
  of an entry with updates or, in ledger time, at the market's fresh_until_ms deadline
  (breakers.run_due_timers).
- TOO_VOLATILE: the new mark is more than volatility_bps from its time-weighted average. The mark
  is taken (trading goes on, valued at it), but nobody is liquidated at it.
- VALID: the mark passes the price-band breaker (breakers.py) and, unless that halts the market,
  the accounts it pushes below maintenance margin are liquidated (liquidation.py).
"""

from __future__ import annotations

from dataclasses import replace

from .breakers import record_mark, set_status
from .commands import PriceUpdate
from .events import Event, OracleVerdictChanged, SourceClamped, SourceOutlier
from .limits import (
    bps_denominator,
    market_id_bytes_max,
    outlier_others_min,
    signature_bytes_max,
    source_clock_skew_max_ms,
    source_id_bytes_max,
)
from .funding import note_mark
from .liquidation import liquidate_below_maintenance
from .margin_calls import review_after_sweep
from .records import Market, MarketStatus, OracleSourceState, OracleVerdict, SourceExclusion, StatusReason
from .results import Result, ResultCode
from .settlement_window import resample
from .signatures import SignatureVerifier, price_update_bytes
from .state import LedgerState
from .validation import is_int64, is_valid_id


def price_update(state: LedgerState, cmd: PriceUpdate, events: list[Event], verify: SignatureVerifier) -> Result:
    if not is_valid_id(cmd.market, market_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_MARKET, "market id must be 1-32 bytes of [A-Za-z0-9._:-]")
    market = state.markets.get(cmd.market)
    if market is None:
        return Result(cmd.id, ResultCode.UNKNOWN_MARKET, f"no market {cmd.market}")
    if not is_valid_id(cmd.source, source_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_SOURCE, "source id must be 1-64 bytes of [A-Za-z0-9._:-]")
    source = state.oracle_sources.get(cmd.market, {}).get(cmd.source)
    if source is None:
        return Result(cmd.id, ResultCode.INVALID_SOURCE, f"{cmd.source} is not a registered source of {cmd.market}")
    if not (is_int64(cmd.price) and is_int64(cmd.source_time_ms)):
        return Result(cmd.id, ResultCode.INVALID_PRICE, "price and source time must be int64")
    if not isinstance(cmd.signature, bytes) or len(cmd.signature) > signature_bytes_max or not verify(
        source.public_key, price_update_bytes(cmd.market, cmd.source, cmd.price, cmd.source_time_ms), cmd.signature,
    ):
        return Result(cmd.id, ResultCode.INVALID_SIGNATURE, f"not signed by {cmd.source}'s registered key")
    if market.status == MarketStatus.SETTLED:
        return Result(cmd.id, ResultCode.MARKET_NOT_ACTIVE, "market is settled")
    now = state.ledger_time_ms
    if cmd.source_time_ms <= source.source_time_ms:
        return Result(cmd.id, ResultCode.STALE_PRICE, f"source time {cmd.source_time_ms} not after {source.source_time_ms}")
    if cmd.source_time_ms > now + source_clock_skew_max_ms:
        return Result(cmd.id, ResultCode.STALE_PRICE, f"source time {cmd.source_time_ms} is ahead of ledger time {now}")
    if now - cmd.source_time_ms > market.stale_after_ms:
        return Result(cmd.id, ResultCode.STALE_PRICE, f"source time {cmd.source_time_ms} is older than {market.stale_after_ms} ms")
    # Verdict INVALID: the update is refused.
    if cmd.price <= 0:
        return Result(cmd.id, ResultCode.INVALID_PRICE, "price must be positive")

    # From here the print is recorded, whatever its judgement: its source time (so it cannot be
    # sent again) and its price (so the source's next print is judged against it). The market is
    # marked once, at the end of the entry (mark_repriced_markets).
    repeated = cmd.price == source.price
    since = source.price_since_ms if repeated else cmd.source_time_ms
    others = _other_sources(state, cmd.market, cmd.source, market)
    recorded = OracleSourceState(source.public_key, cmd.price, cmd.source_time_ms, since, SourceExclusion.NONE, source.outlier_prints)
    state.entry_repriced[cmd.market] = None
    if repeated and (source.exclusion == SourceExclusion.CLAMPED or _is_clamp(market, recorded, others)):
        state.put_oracle_source(cmd.market, cmd.source, replace(recorded, exclusion=SourceExclusion.CLAMPED))
        if source.exclusion != SourceExclusion.CLAMPED:
            events.append(SourceClamped(cmd.market, cmd.source, cmd.price, since))
        return Result(cmd.id, ResultCode.PRICE_CLAMPED, f"{cmd.source} has repeated {cmd.price} since {since} while others moved")
    reference = _outlier_reference(market, cmd.price, others)
    if reference:
        prints = source.outlier_prints + 1
        state.put_oracle_source(cmd.market, cmd.source, replace(recorded, exclusion=SourceExclusion.OUTLIER, outlier_prints=prints))
        events.append(SourceOutlier(cmd.market, cmd.source, cmd.price, reference, prints))
        return Result(cmd.id, ResultCode.PRICE_OUTLIER,
                      f"{cmd.price} is more than {market.outlier_bps} bps from the other sources' median {reference}")
    if source.exclusion == SourceExclusion.OUTLIER and market.outlier_bps and len(others) < outlier_others_min:
        # Back within the band is a judgement too: with too few others to make it, an outlier stays
        # excluded (a feed stuck at its floor must not become the mark when the venues go quiet).
        state.put_oracle_source(cmd.market, cmd.source, replace(recorded, exclusion=SourceExclusion.OUTLIER))
        return Result(cmd.id, ResultCode.PRICE_OUTLIER,
                      f"{cmd.source} stays an outlier: fewer than {outlier_others_min} other fresh sources to judge it")
    state.put_oracle_source(cmd.market, cmd.source, recorded)
    return Result(cmd.id, ResultCode.OK)


def _other_sources(state: LedgerState, market_id: str, source_id: str, market: Market) -> list[OracleSourceState]:
    """The market's other sources that are fresh, have a price and are not clamped, by id. An
    OUTLIER stays among them: a print is judged against the prices the others report, not against
    an earlier judgement of them, so a source flagged in a real move is evidence once others
    confirm it (docs/design.md#outliers-and-clamps)."""
    now = state.ledger_time_ms
    return [
        s for name, s in sorted(state.oracle_sources.get(market_id, {}).items())
        if name != source_id and s.price > 0 and s.exclusion != SourceExclusion.CLAMPED
        and now - s.source_time_ms <= market.stale_after_ms
    ]


def _is_clamp(market: Market, recorded: OracleSourceState, others: list[OracleSourceState]) -> bool:
    """The price unchanged for clamp_after_ms of source time while another fresh counted source
    reported a different price since (an OUTLIER moving does not count). All flat: a quiet market."""
    if not market.clamp_after_ms or recorded.source_time_ms - recorded.price_since_ms < market.clamp_after_ms:
        return False
    return any(
        s.exclusion == SourceExclusion.NONE and s.price != recorded.price and s.price_since_ms > recorded.price_since_ms
        for s in others
    )


def _outlier_reference(market: Market, price: int, others: list[OracleSourceState]) -> int:
    """The others' median this price is more than outlier_bps from, or 0 (within the band, the
    rule off, or fewer than outlier_others_min others: one other source cannot say which of the
    two is wrong). For an even count every price between the two middle ones is a median, so the
    price is judged against the nearer of them."""
    if not market.outlier_bps or len(others) < outlier_others_min:
        return 0
    prices = sorted(s.price for s in others)
    low, high = prices[(len(prices) - 1) // 2], prices[len(prices) // 2]
    if low <= price <= high:
        return 0
    reference = low if price < low else high
    return reference if abs(price - reference) * bps_denominator > market.outlier_bps * reference else 0


def mark_repriced_markets(state: LedgerState, events: list[Event]) -> None:
    """One mark per entry: every market whose sources recorded a print in this entry is marked and
    judged once, by market id, after the entry's commands (a market settled meanwhile is final).
    First its outliers are judged again against the others' latest prints (`readmit_outliers`)."""
    for market_id in sorted(state.entry_repriced):
        if market_id in state.option_underlying:
            continue  # an option is marked after every linear market (option_marks.py)
        if state.markets[market_id].status != MarketStatus.SETTLED:
            readmit_outliers(state, market_id)
            judge_market(state, market_id, events)


def readmit_outliers(state: LedgerState, market_id: str) -> None:
    """Each fresh OUTLIER whose last print is now within the band of the other sources' latest
    prints (at least two of them, or the rule switched off) counts again. A print is judged as it
    comes, against the prices before it: the first source to report a real move larger than
    outlier_bps is an outlier until others confirm it, and they may in the same entry. Judged
    against the others' prices, not their flags, so the order does not matter here."""
    market = state.markets[market_id]
    now = state.ledger_time_ms
    for name, source in sorted(state.oracle_sources.get(market_id, {}).items()):
        if source.exclusion != SourceExclusion.OUTLIER or now - source.source_time_ms > market.stale_after_ms:
            continue
        others = _other_sources(state, market_id, name, market)
        if not market.outlier_bps or (len(others) >= outlier_others_min and not _outlier_reference(market, source.price, others)):
            state.put_oracle_source(market_id, name, replace(source, exclusion=SourceExclusion.NONE))


def fresh_prices(state: LedgerState, market_id: str, market: Market) -> list[tuple[int, int]]:
    """(source time, price) of every fresh source, newest first (sorted: deterministic)."""
    now = state.ledger_time_ms
    sources = state.oracle_sources.get(market_id, {})
    fresh = [
        (s.source_time_ms, s.price) for _, s in sorted(sources.items())
        if s.counted and now - s.source_time_ms <= market.stale_after_ms
    ]
    fresh.sort(reverse=True)
    return fresh


def lower_median(sorted_values: list[int]) -> int:
    """The lower median of a sorted, non-empty list: always a value some source signed."""
    return sorted_values[(len(sorted_values) - 1) // 2]


def judge_market(state: LedgerState, market_id: str, events: list[Event]) -> None:
    """Recompute the mark and the verdict from the fresh sources; act on the verdict."""
    market = state.markets[market_id]
    fresh = fresh_prices(state, market_id, market)
    if len(fresh) < market.min_sources:
        mark_stale(state, market_id, len(fresh), events)
        return
    prices = sorted(price for _, price in fresh)
    mark = lower_median(prices)
    # Fresh until the min_sources-th newest source ages out.
    fresh_until = fresh[market.min_sources - 1][0] + market.stale_after_ms + 1
    now = state.ledger_time_ms
    twap = _advance_twap(market, now)
    volatile = bool(market.volatility_bps and twap) and abs(mark - twap) * bps_denominator > market.volatility_bps * twap
    verdict = OracleVerdict.TOO_VOLATILE if volatile else OracleVerdict.VALID
    newest_source_time = fresh[0][0]
    market = replace(market, fresh_until_ms=fresh_until, twap=twap if twap else mark, twap_time_ms=now)
    state.put_market(market_id, market)
    if market.status == MarketStatus.SETTLING:
        _judge_settling(state, market_id, market, mark, newest_source_time, verdict, len(fresh), events)
        return
    if mark != market.mark_price or market.mark_time_ms != newest_source_time:
        if mark != market.mark_price:
            note_mark(state, market_id, mark)  # the funding premium is taken over the new mark from now
        market = record_mark(state, market_id, mark, newest_source_time, events)
    if verdict != market.oracle_verdict:
        market = replace(market, oracle_verdict=verdict)
        state.put_market(market_id, market)
        events.append(OracleVerdictChanged(market_id, verdict, len(fresh), mark))
    if market.status == MarketStatus.REDUCE_ONLY and market.status_reason == StatusReason.ORACLE_STALE:
        market = set_status(state, market_id, MarketStatus.ACTIVE, StatusReason.NONE, 0, events)
    market = state.markets[market_id]
    resampled = resample(market, now)  # the settlement window's sample (a perpetual has none: unchanged)
    if resampled is not market:
        state.put_market(market_id, resampled)
    if verdict == OracleVerdict.VALID and market.status != MarketStatus.HALTED:
        liquidate_below_maintenance(state, market_id, events)
        review_after_sweep(state, market_id, events)  # margin calls placed and lifted


def _judge_settling(
    state: LedgerState, market_id: str, market: Market, mark: int, source_time_ms: int, verdict: OracleVerdict,
    fresh_sources: int, events: list[Event],
) -> None:
    """A SETTLING market is marked only to find its settlement price (expiry.py): the mark and
    the verdict, counted by the settlement window; no breaker, no sweep, no margin call: nothing
    trades or is liquidated in it, its positions wait for the price."""
    if verdict != market.oracle_verdict:
        events.append(OracleVerdictChanged(market_id, verdict, fresh_sources, mark))
    market = replace(market, mark_price=mark, mark_time_ms=source_time_ms, oracle_verdict=verdict)
    state.put_market(market_id, resample(market, state.ledger_time_ms))


def _advance_twap(market: Market, now: int) -> int:
    """The mark's time-weighted average up to now: the previous average moves towards the mark
    that held since, in proportion to the time it held (capped at the window). 0: no mark yet."""
    if not market.mark_price:
        return 0
    if not market.twap or not market.twap_window_ms:
        return market.mark_price
    held = min(now - market.twap_time_ms, market.twap_window_ms)
    return market.twap + (market.mark_price - market.twap) * held // market.twap_window_ms


def mark_stale(state: LedgerState, market_id: str, fresh_sources: int, events: list[Event]) -> None:
    """Fewer than min_sources fresh sources: keep the mark, stop liquidations, reduce-only."""
    market = state.markets[market_id]
    if market.oracle_verdict != OracleVerdict.STALE:
        events.append(OracleVerdictChanged(market_id, OracleVerdict.STALE, fresh_sources, market.mark_price))
    if market.oracle_verdict != OracleVerdict.STALE or market.fresh_until_ms:
        market = resample(replace(market, oracle_verdict=OracleVerdict.STALE, fresh_until_ms=0), state.ledger_time_ms)
        state.put_market(market_id, market)
    if market.status == MarketStatus.ACTIVE and market.mark_price:
        set_status(state, market_id, MarketStatus.REDUCE_ONLY, StatusReason.ORACLE_STALE, 0, events)
