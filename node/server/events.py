"""Ledger events -> the protobuf Events that WatchEvents streams, and the kind filter."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from node.api.settlement.v1 import events_pb2
from node.codec.errors import CodecError
from node.ledger.events import (
    ActionTaken,
    BandChanged,
    BreakerTripped,
    CheckpointCertified,
    CheckpointDue,
    Deleveraged,
    FundAuctionEnded,
    FundAuctionStarted,
    FundDeadlineDeleveraged,
    FundSliceSold,
    FundingPaid,
    GlobalModeChanged,
    Liquidation,
    MarginCall,
    MarginCallLifted,
    MarketSettled,
    MarketStatusChanged,
    OracleVerdictChanged,
    SourceClamped,
    SourceOutlier,
)
from node.ledger.records import GlobalReason, StatusReason
from node.replica.port import AppliedEvent


def _liquidation(e: Liquidation) -> tuple[int, dict[str, events_pb2.Liquidation]]:
    message = events_pb2.Liquidation(
        account=e.account,
        market=e.market,
        size=e.size,
        price=e.price,
        fee=e.fee,
        fund_paid=e.fund_paid,
        uncovered=e.uncovered,
        fund_size=e.fund_size,
        deleveraged_size=e.deleveraged_size,
        remaining=e.remaining,
    )
    return events_pb2.LIQUIDATION, {"liquidation": message}


def _deleveraged(e: Deleveraged) -> tuple[int, dict[str, events_pb2.Deleveraged]]:
    message = events_pb2.Deleveraged(account=e.account, against=e.against, market=e.market, size=e.size, price=e.price)
    return events_pb2.DELEVERAGED, {"deleveraged": message}


def _breaker_tripped(e: BreakerTripped) -> tuple[int, dict[str, events_pb2.BreakerTripped]]:
    reason = f"mark {e.price} moved beyond the band from {e.reference}"
    return events_pb2.BREAKER_TRIPPED, {"breaker_tripped": events_pb2.BreakerTripped(market=e.market, reason=reason, until_ms=e.until_ms)}


def _market_status_changed(e: MarketStatusChanged) -> tuple[int, dict[str, events_pb2.MarketStatusChanged]]:
    message = events_pb2.MarketStatusChanged(
        market=e.market, status=int(e.status), reason=StatusReason(e.reason).name.lower(), at_ms=e.at_ms
    )
    return events_pb2.MARKET_STATUS_CHANGED, {"market_status_changed": message}


def _oracle_verdict_changed(e: OracleVerdictChanged) -> tuple[int, dict[str, events_pb2.OracleVerdictChanged]]:
    # records.OracleVerdict and state.proto's Market.OracleVerdict share their numbers (a test checks).
    message = events_pb2.OracleVerdictChanged(market=e.market, verdict=int(e.verdict), fresh_sources=e.fresh_sources, mark=e.mark)
    return events_pb2.ORACLE_VERDICT_CHANGED, {"oracle_verdict_changed": message}


def _global_mode_changed(e: GlobalModeChanged) -> tuple[int, dict[str, events_pb2.GlobalModeChanged]]:
    message = events_pb2.GlobalModeChanged(mode=int(e.mode), reason=GlobalReason(e.reason).name.lower())
    return events_pb2.GLOBAL_MODE_CHANGED, {"global_mode_changed": message}


def _action_taken(e: ActionTaken) -> tuple[int, dict[str, events_pb2.ActionTaken]]:
    message = events_pb2.ActionTaken(
        kind=int(e.kind), nonce=e.nonce, market=e.market, outcome=e.outcome, effective_at_ms=e.effective_at_ms,
    )
    return events_pb2.ACTION_TAKEN, {"action_taken": message}


def _checkpoint_certified(e: CheckpointCertified) -> tuple[int, dict[str, events_pb2.CheckpointCertified]]:
    message = events_pb2.CheckpointCertified(index=e.index, state_hash=e.state_hash, epoch=e.epoch, signers=list(e.signers))
    return events_pb2.CHECKPOINT_CERTIFIED, {"checkpoint_certified": message}


def _checkpoint_due(e: CheckpointDue) -> tuple[int, dict[str, events_pb2.CheckpointDue]]:
    return events_pb2.CHECKPOINT_DUE, {"checkpoint_due": events_pb2.CheckpointDue(index=e.index)}


def _fund_auction_started(e: FundAuctionStarted) -> tuple[int, dict]:
    message = events_pb2.FundAuctionStarted(market=e.market, size=e.size, mark=e.mark, deadline_ms=e.deadline_ms)
    return events_pb2.FUND_AUCTION_STARTED, {"fund_auction_started": message}


def _fund_slice_sold(e: FundSliceSold) -> tuple[int, dict]:
    message = events_pb2.FundSliceSold(market=e.market, backstop=e.backstop, size=e.size, price=e.price, discount_bps=e.discount_bps)
    return events_pb2.FUND_SLICE_SOLD, {"fund_slice_sold": message}


def _fund_deadline_deleveraged(e: FundDeadlineDeleveraged) -> tuple[int, dict]:
    message = events_pb2.FundDeadlineDeleveraged(market=e.market, size=e.size, price=e.price)
    return events_pb2.FUND_DEADLINE_DELEVERAGED, {"fund_deadline_deleveraged": message}


def _fund_auction_ended(e: FundAuctionEnded) -> tuple[int, dict]:
    return events_pb2.FUND_AUCTION_ENDED, {"fund_auction_ended": events_pb2.FundAuctionEnded(market=e.market)}
def _funding_paid(e: FundingPaid) -> tuple[int, dict[str, events_pb2.FundingPaid]]:
    message = events_pb2.FundingPaid(
        market=e.market, rate=e.rate, mark=e.mark, intervals=e.intervals, index=str(e.index), at_ms=e.at_ms,
    )
    return events_pb2.FUNDING_PAID, {"funding_paid": message}


def _margin_call(e: MarginCall) -> tuple[int, dict[str, events_pb2.MarginCallEvent]]:
    message = events_pb2.MarginCallEvent(account=e.account, equity=e.equity, level=e.level, at_ms=e.at_ms)
    return events_pb2.MARGIN_CALL, {"margin_call": message}


def _margin_call_lifted(e: MarginCallLifted) -> tuple[int, dict[str, events_pb2.MarginCallLifted]]:
    message = events_pb2.MarginCallLifted(account=e.account, equity=e.equity, initial=e.initial, at_ms=e.at_ms)
    return events_pb2.MARGIN_CALL_LIFTED, {"margin_call_lifted": message}


def _band_changed(e: BandChanged) -> tuple[int, dict[str, events_pb2.BandChanged]]:
    message = events_pb2.BandChanged(market=e.market, band_bps=e.band_bps, volatility_ppm=e.volatility_ppm, at_ms=e.at_ms)
    return events_pb2.BAND_CHANGED, {"band_changed": message}
def _source_outlier(e: SourceOutlier) -> tuple[int, dict[str, events_pb2.SourceOutlier]]:
    message = events_pb2.SourceOutlier(
        market=e.market, source=e.source, price=e.price, reference=e.reference, outlier_prints=e.outlier_prints,
    )
    return events_pb2.SOURCE_OUTLIER, {"source_outlier": message}


def _source_clamped(e: SourceClamped) -> tuple[int, dict[str, events_pb2.SourceClamped]]:
    message = events_pb2.SourceClamped(market=e.market, source=e.source, price=e.price, since_ms=e.since_ms)
    return events_pb2.SOURCE_CLAMPED, {"source_clamped": message}


def _market_settled(e: MarketSettled) -> tuple[int, dict[str, events_pb2.MarketSettled]]:
    message = events_pb2.MarketSettled(
        market=e.market, price=e.price, method=int(e.method), valid_ms=e.valid_ms, window_ms=e.window_ms, at_ms=e.at_ms,
    )
    return events_pb2.MARKET_SETTLED, {"market_settled": message}


# One row per ledger event type; a test checks it covers node.ledger.events.Event.
EVENT_ENCODERS: dict[type, Callable] = {
    Liquidation: _liquidation,
    Deleveraged: _deleveraged,
    BreakerTripped: _breaker_tripped,
    MarketStatusChanged: _market_status_changed,
    OracleVerdictChanged: _oracle_verdict_changed,
    GlobalModeChanged: _global_mode_changed,
    ActionTaken: _action_taken,
    CheckpointCertified: _checkpoint_certified,
    CheckpointDue: _checkpoint_due,
    FundAuctionStarted: _fund_auction_started,
    FundSliceSold: _fund_slice_sold,
    FundDeadlineDeleveraged: _fund_deadline_deleveraged,
    FundAuctionEnded: _fund_auction_ended,
    FundingPaid: _funding_paid,
    MarginCall: _margin_call,
    MarginCallLifted: _margin_call_lifted,
    BandChanged: _band_changed,
    SourceOutlier: _source_outlier,
    SourceClamped: _source_clamped,
    MarketSettled: _market_settled,
}


def event_to_proto(applied: AppliedEvent) -> tuple[int, events_pb2.Event] | None:
    """(EventKind, Event) for an applied ledger event; None for a type this server cannot encode
    yet (a newer ledger), which WatchEvents skips rather than ending every stream."""
    encode = EVENT_ENCODERS.get(type(applied.event))
    if encode is None:
        return None
    kind, member = encode(applied.event)
    return kind, events_pb2.Event(applied_index=applied.applied_index, time_ms=applied.time_ms,
                                  position=applied.position, **member)


def kinds_filter(kinds: Iterable[int]) -> frozenset[int]:
    """The requested kinds; empty means every kind. Unknown or unspecified numbers are refused."""
    wanted = set()
    for position, number in enumerate(kinds):
        if number == events_pb2.EVENT_KIND_UNSPECIFIED or number not in events_pb2.EventKind.values():
            raise CodecError(f"kinds[{position}]", f"{number} is not an EventKind")
        wanted.add(number)
    return frozenset(wanted)
