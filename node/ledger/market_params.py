"""SET_MARKET_PARAMS: which parameters a quorum may change, which way is tighter, and how far.

Every change needs the guardian quorum (docs/design.md#bounded-governance). Tightening (every
change in its safer direction) takes effect at once; anything else is loosening and also waits the
timelock. For parameters where 0 means "no limit" (a soft cap, a position cap, a breaker band), 0
is the loosest value. A raise of a margin or a fee (RAISE_BOUNDED), either way, is bounded per
action: by `margin_raise_step_max_bps` of its current value, or `margin_raise_step_floor_bps`
when that is more (policy_params.py), so no single approval can take margins to 100% at once.
"""

from __future__ import annotations

import dataclasses

from .commands import CreateMarket, OracleSource
from .fund_unwinding import unwind_listing_fields
from .limits import bps_denominator
from .market_terms import TERMS_FIELDS, terms_of
from .markets import listing_problem
from .policy_params import governed
from .records import Market
from .state import LedgerState
from .validation import is_int64

# name -> (+1: higher is tighter, -1: lower is tighter, 0: every change loosens; 0 means "off")
ADJUSTABLE: dict[str, tuple[int, bool]] = {
    "initial_margin_bps": (1, False),
    "maintenance_margin_bps": (1, False),
    "liquidation_fee_bps": (1, False),
    "open_interest_cap": (-1, False),
    "open_interest_soft_cap": (-1, True),
    "position_cap": (-1, True),
    "trade_band_bps": (-1, False),
    "band_bps": (-1, True),
    "cascade_bps": (-1, True),
    "min_sources": (1, False),
    "stale_after_ms": (-1, False),
    "volatility_bps": (-1, True),
    "fund_position_cap": (-1, True),
    "liquidation_slice_bps": (0, False),
    "liquidation_cap_notional": (0, True),
    # Fees and funding are not solvency limits: every change waits the timelock, except a larger
    # share of fees for the fund. A margin call level is a tightening when raised or switched on.
    "maker_fee_bps": (0, False),
    "taker_fee_bps": (0, False),
    "fee_fund_share_bps": (1, False),
    "funding_rate_cap_bps": (0, False),
    "margin_call_bps": (1, True),
    # Adaptive thresholds (docs/design.md#adaptive-thresholds): a narrower band or a higher margin
    # ceiling tightens; switching the adaptive band on or off also sets band_bps (to or from 0),
    # which loosens, so a switch always waits the timelock; a new half-life does too.
    "volatility_half_life_ms": (0, False),
    "band_volatility_pct": (-1, True),
    "band_floor_bps": (-1, False),
    "band_ceiling_bps": (-1, False),
    "initial_margin_ceiling_bps": (1, True),
    # Judging sources against the others (oracle.py): a narrower band or a shorter clamp window
    # excludes more, so it tightens; switching either off loosens.
    "outlier_bps": (-1, True),
    "clamp_after_ms": (-1, True),
}


# A raise of these costs accounts money at once: bounded per action.
RAISE_BOUNDED = ("initial_margin_bps", "maintenance_margin_bps", "liquidation_fee_bps", "maker_fee_bps", "taker_fee_bps")


def current_value(state: LedgerState, market_id: str, name: str) -> int:
    source = terms_of(state, market_id) if name in TERMS_FIELDS else state.markets[market_id]
    return getattr(source, name)


def raise_step_problem(state: LedgerState, market_id: str, params: dict) -> str | None:
    """Why a raise in these values is larger than one action may make, or None."""
    step_bps, floor_bps = governed(state, "margin_raise_step_max_bps"), governed(state, "margin_raise_step_floor_bps")
    for name in RAISE_BOUNDED:
        if name not in params:
            continue
        old = current_value(state, market_id, name)
        allowed = max(abs(old) * step_bps // bps_denominator, floor_bps)
        if params[name] - old > allowed:
            return f"{name} may rise by at most {allowed} in one action (from {old} to at most {old + allowed})"
    return None


def tightens(name: str, old: int, new: int) -> bool:
    direction, zero_is_off = ADJUSTABLE[name]
    if new == old:
        return True
    if direction == 0:
        return False
    if zero_is_off and new == 0:
        return False
    if zero_is_off and old == 0:
        return True
    return (new > old) if direction > 0 else (new < old)


def all_tighten(state: LedgerState, market_id: str, params: dict) -> bool:
    return all(tightens(name, current_value(state, market_id, name), value) for name, value in sorted(params.items()))


def params_problem(state: LedgerState, market_id: str, params: dict, pending: dict | None = None) -> str | None:
    """Why these values cannot apply to the market, checked as a listing would check them;
    `pending`: values already decided that apply later (a phased-in raise), counted as current."""
    unknown = [name for name in sorted(params) if name not in ADJUSTABLE]
    if unknown:
        return f"not adjustable: {', '.join(unknown)} (adjustable: {', '.join(sorted(ADJUSTABLE))})"
    if not all(is_int64(v) for v in params.values()):
        return "parameter values must be int64"
    market = state.markets[market_id]
    sources = tuple(OracleSource(name, s.public_key) for name, s in sorted(state.oracle_sources.get(market_id, {}).items()))
    unwind = unwind_listing_fields(state, market_id)  # kept in the market's fund_unwind record
    terms = terms_of(state, market_id)  # kept in the market's market_terms record
    current = {
        f.name: unwind[f.name] if f.name in unwind else getattr(terms if f.name in TERMS_FIELDS else market, f.name)
        for f in dataclasses.fields(CreateMarket) if f.name not in ("id", "market", "sources")
    }
    current.update(pending or {})
    current.update(params)
    return listing_problem(CreateMarket(id="set-market-params", market=market_id, sources=sources, **current), state.ledger_time_ms)


def apply_params(state: LedgerState, market_id: str, params: dict) -> None:
    market_params = {name: value for name, value in params.items() if name not in TERMS_FIELDS}
    terms_params = {name: value for name, value in params.items() if name in TERMS_FIELDS}
    if market_params:
        state.put_market(market_id, dataclasses.replace(state.markets[market_id], **market_params))
    if terms_params:
        state.put_market_terms(market_id, dataclasses.replace(terms_of(state, market_id), **terms_params))
    for account_id in state.holders.get(market_id, ()):
        state.margin_dirty[account_id] = None  # maintenance changed: re-index their triggers
