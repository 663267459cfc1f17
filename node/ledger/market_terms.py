"""A market's fee, funding and margin-call terms: their validation and their record.

They are CreateMarket fields (and SET_MARKET_PARAMS parameters) like the others, but kept in their
own record (records.MarketTerms) beside the market. A market listed without them has no record and
reads as all zero: no fees from a schedule, no funding, no margin calls.
"""

from __future__ import annotations

import dataclasses

from .commands import CreateMarket, MarketKind
from .limits import (
    bps_denominator,
    funding_interval_ms_max,
    funding_interval_ms_min,
    funding_rate_cap_bps_max,
    trading_fee_bps_max,
)
from .records import MarketTerms
from .state import LedgerState
from .validation import is_int64

NO_TERMS = MarketTerms()
TERMS_FIELDS = tuple(f.name for f in dataclasses.fields(MarketTerms))


def terms_of(state: LedgerState, market_id: str) -> MarketTerms:
    return state.market_terms.get(market_id, NO_TERMS)


def terms_from(cmd: CreateMarket) -> MarketTerms:
    return MarketTerms(**{name: getattr(cmd, name) for name in TERMS_FIELDS})


def has_fee_schedule(terms: MarketTerms) -> bool:
    return bool(terms.maker_fee_bps or terms.taker_fee_bps)


def terms_problem(cmd: CreateMarket) -> str | None:
    """Why these fee, funding and margin-call terms are invalid for this market, or None."""
    values = [getattr(cmd, name) for name in TERMS_FIELDS]
    if not all(is_int64(v) for v in values):
        return "fee, funding and margin-call parameters must be int64"
    if not 0 <= cmd.taker_fee_bps <= trading_fee_bps_max:
        return f"taker_fee_bps must be within 0..{trading_fee_bps_max}"
    if not -cmd.taker_fee_bps <= cmd.maker_fee_bps <= trading_fee_bps_max:
        return f"maker_fee_bps must be within -taker_fee_bps..{trading_fee_bps_max} (a rebate is paid out of the taker's fee)"
    if not 0 <= cmd.fee_fund_share_bps <= bps_denominator:
        return f"fee_fund_share_bps must be within 0..{bps_denominator}"
    if cmd.funding_interval_ms:
        if cmd.kind != MarketKind.PERPETUAL:
            return "only a perpetual pays funding"
        if not funding_interval_ms_min <= cmd.funding_interval_ms <= funding_interval_ms_max:
            return f"funding_interval_ms must be 0 or within {funding_interval_ms_min}..{funding_interval_ms_max}"
        if not 0 < cmd.funding_rate_cap_bps <= funding_rate_cap_bps_max:
            return f"funding_rate_cap_bps must be within 1..{funding_rate_cap_bps_max}"
    elif cmd.funding_rate_cap_bps:
        return "funding_rate_cap_bps needs a funding_interval_ms"
    if cmd.margin_call_bps and not cmd.maintenance_margin_bps < cmd.margin_call_bps < cmd.initial_margin_bps:
        return "margin_call_bps must be 0 or between maintenance_margin_bps and initial_margin_bps (exclusive)"
    return None
