"""CreateMarket: listing a market with its margin, band and cap parameters."""

from __future__ import annotations

from .commands import CreateMarket, MarketKind, OptionType
from .limits import (
    band_ceiling_bps_max,
    band_volatility_pct_max,
    bps_denominator,
    clamp_after_ms_max,
    outlier_bps_max,
    settlement_window_ms_default,
    settlement_window_ms_max,
    oracle_sources_max,
    source_id_bytes_max,
    liquidation_fee_bps_max,
    margin_bps_max,
    market_id_bytes_max,
    markets_max,
    trade_band_bps_max,
    volatility_half_life_ms_max,
    volatility_half_life_ms_min,
)
from .fund_unwinding import unwind_of_listing, unwind_params_problem
from .funding import new_funding
from .option_listing import option_params_problem, option_terms_refusal
from .market_terms import NO_TERMS, terms_from, terms_problem
from .records import Account, Market, MarketStatus, OracleSourceState
from .results import Result, ResultCode
from .signatures import ed25519_public_key_bytes
from .state import LedgerState, funding_pool, market_fund
from .validation import is_int64, is_positive_int64, is_valid_id


def listing_problem(cmd: CreateMarket, ledger_time_ms: int) -> str | None:
    """Why a market with these parameters cannot be listed (or changed to them), or None."""
    ints = (
        cmd.tick_size, cmd.lot_size, cmd.initial_margin_bps, cmd.maintenance_margin_bps,
        cmd.liquidation_fee_bps, cmd.open_interest_cap, cmd.trade_band_bps, cmd.band_bps,
        cmd.band_window_ms, cmd.cooldown_ms, cmd.expiry_ms, cmd.strike_price,
        cmd.open_interest_soft_cap, cmd.position_cap, cmd.cascade_window_ms, cmd.cascade_bps,
    )
    if not all(is_int64(v) for v in ints):
        return "parameters must be int64"
    if not (is_positive_int64(cmd.tick_size) and is_positive_int64(cmd.lot_size)):
        return "tick_size and lot_size must be positive"
    if not 0 < cmd.maintenance_margin_bps <= cmd.initial_margin_bps <= margin_bps_max:
        return "need 0 < maintenance_margin_bps <= initial_margin_bps <= 10000"
    if not 0 <= cmd.liquidation_fee_bps <= liquidation_fee_bps_max:
        return f"liquidation_fee_bps must be within 0..{liquidation_fee_bps_max}"
    if not 0 < cmd.trade_band_bps <= trade_band_bps_max:
        return f"trade_band_bps must be within 1..{trade_band_bps_max}"
    if min(cmd.open_interest_cap, cmd.band_bps, cmd.band_window_ms, cmd.cooldown_ms, cmd.open_interest_soft_cap,
           cmd.position_cap, cmd.cascade_window_ms, cmd.cascade_bps) < 0:
        return "caps, bands, windows and cooldowns must not be negative"
    if cmd.open_interest_soft_cap and cmd.open_interest_soft_cap >= cmd.open_interest_cap:
        return "open_interest_soft_cap must be below open_interest_cap"
    if cmd.cascade_bps and not cmd.cascade_window_ms:
        return "a cascade breaker needs a cascade_window_ms"
    oracle_ints = (
        cmd.min_sources, cmd.stale_after_ms, cmd.volatility_bps, cmd.twap_window_ms, cmd.liquidation_slice_bps,
        cmd.liquidation_window_ms, cmd.liquidation_cap_notional, cmd.fund_position_cap,
    )
    if not all(is_int64(v) for v in oracle_ints):
        return "parameters must be int64"
    if min(oracle_ints) < 0:
        return "oracle and liquidation parameters must not be negative"
    problem = _sources_problem(cmd)
    if problem:
        return problem
    if cmd.stale_after_ms <= 0:
        return "stale_after_ms must be positive"
    if cmd.volatility_bps and not cmd.twap_window_ms:
        return "a volatility bound needs a twap_window_ms"
    if not 0 < cmd.liquidation_slice_bps <= bps_denominator:
        return f"liquidation_slice_bps must be within 1..{bps_denominator}"
    if cmd.liquidation_cap_notional and not cmd.liquidation_window_ms:
        return "a liquidation cap needs a liquidation_window_ms"
    problem = _judging_problem(cmd) or settlement_window_problem(cmd)
    if problem:
        return problem
    problem = unwind_params_problem(cmd)  # the fund's unwinding (fund_unwinding.py)
    if problem:
        return problem
    if cmd.kind == MarketKind.PERPETUAL:
        if cmd.expiry_ms != 0 or cmd.strike_price != 0 or cmd.option_type != OptionType.NONE:
            return "a perpetual has no expiry, strike or option type"
    elif cmd.kind == MarketKind.FUTURE:
        if cmd.expiry_ms <= ledger_time_ms:
            return "a future needs an expiry after the current ledger time"
        if cmd.strike_price != 0 or cmd.option_type != OptionType.NONE:
            return "a future has no strike or option type"
    elif cmd.kind == MarketKind.OPTION:
        problem = option_params_problem(cmd)  # its terms were judged first (option_listing.py)
        if problem:
            return problem
    else:
        return "a market is a PERPETUAL, a FUTURE or an OPTION"
    if cmd.kind != MarketKind.OPTION and cmd.underlying:
        return "only an option has an underlying"
    return adaptive_problem(cmd) or terms_problem(cmd)


def adaptive_problem(cmd: CreateMarket) -> str | None:
    """Why these adaptive-threshold parameters are invalid (docs/design.md#adaptive-thresholds)."""
    values = (
        cmd.volatility_half_life_ms, cmd.band_volatility_pct, cmd.band_floor_bps, cmd.band_ceiling_bps,
        cmd.initial_margin_ceiling_bps,
    )
    if not all(is_int64(v) for v in values):
        return "adaptive threshold parameters must be int64"
    if min(values) < 0:
        return "adaptive threshold parameters must not be negative"
    if cmd.volatility_half_life_ms and not volatility_half_life_ms_min <= cmd.volatility_half_life_ms <= volatility_half_life_ms_max:
        return f"volatility_half_life_ms must be 0 or within {volatility_half_life_ms_min}..{volatility_half_life_ms_max}"
    if not cmd.band_volatility_pct:
        if cmd.band_floor_bps or cmd.band_ceiling_bps or cmd.initial_margin_ceiling_bps:
            return "band_floor_bps, band_ceiling_bps and initial_margin_ceiling_bps need band_volatility_pct"
        return None
    if cmd.band_volatility_pct > band_volatility_pct_max:
        return f"band_volatility_pct must be within 0..{band_volatility_pct_max}"
    if not cmd.volatility_half_life_ms:
        return "an adaptive band (band_volatility_pct) needs a volatility_half_life_ms"
    if cmd.band_bps:
        return "an adaptive band replaces band_bps: set band_bps to 0"
    if not 0 < cmd.band_floor_bps <= cmd.band_ceiling_bps <= band_ceiling_bps_max:
        return f"need 0 < band_floor_bps <= band_ceiling_bps <= {band_ceiling_bps_max}"
    if cmd.initial_margin_ceiling_bps and not cmd.initial_margin_bps <= cmd.initial_margin_ceiling_bps <= margin_bps_max:
        return f"initial_margin_ceiling_bps must be 0 or within initial_margin_bps..{margin_bps_max}"
    return None


def _judging_problem(cmd: CreateMarket) -> str | None:
    """The bounds of judging a source against the others (oracle.py); 0 turns a rule off."""
    if not (is_int64(cmd.outlier_bps) and is_int64(cmd.clamp_after_ms)):
        return "parameters must be int64"
    if not 0 <= cmd.outlier_bps <= outlier_bps_max:
        return f"outlier_bps must be within 0..{outlier_bps_max} (0 = off)"
    if not 0 <= cmd.clamp_after_ms <= clamp_after_ms_max:
        return f"clamp_after_ms must be within 0..{clamp_after_ms_max} (0 = off)"
    return None


def settlement_window_problem(cmd: CreateMarket) -> str | None:
    """The settlement window (docs/design.md#settlement-price): a future's, 0 = the default; a
    perpetual and an option have none. (Not longer than the time to expiry: create_market checks it
    against the listing time, which a later SET_MARKET_PARAMS no longer has.)"""
    if not is_int64(cmd.settlement_window_ms):
        return "parameters must be int64"
    if cmd.kind != MarketKind.FUTURE:
        # An option settles against its underlying's price (option_expiry.py), never its own marks.
        return f"a {cmd.kind.name.lower()} has no settlement window" if cmd.settlement_window_ms else None
    if not 0 <= cmd.settlement_window_ms <= settlement_window_ms_max:
        return f"settlement_window_ms must be within 0..{settlement_window_ms_max} (0 = {settlement_window_ms_default})"
    return None


def listed_settlement_window_ms(cmd: CreateMarket, ledger_time_ms: int) -> int | str:
    """The window a future is listed with (0 for a perpetual or an option), or why it cannot be:
    the default shortens to the time left to expiry; a window asked for explicitly must fit in it."""
    if cmd.kind != MarketKind.FUTURE:
        return 0
    to_expiry_ms = cmd.expiry_ms - ledger_time_ms
    if not cmd.settlement_window_ms:
        return min(settlement_window_ms_default, to_expiry_ms)
    if cmd.settlement_window_ms > to_expiry_ms:
        return f"settlement_window_ms {cmd.settlement_window_ms} is longer than the {to_expiry_ms} ms left to expiry"
    return cmd.settlement_window_ms


def _sources_problem(cmd: CreateMarket) -> str | None:
    sources = cmd.sources
    if not isinstance(sources, tuple) or not 0 < len(sources) <= oracle_sources_max:
        return f"a market needs 1-{oracle_sources_max} oracle sources"
    names = [s.source for s in sources]
    if not all(is_valid_id(name, source_id_bytes_max) for name in names):
        return "source ids must be 1-64 bytes of [A-Za-z0-9._:-]"
    if len(dict.fromkeys(names)) != len(names):
        return "source ids must be distinct"
    if not all(isinstance(s.public_key, bytes) and len(s.public_key) == ed25519_public_key_bytes for s in sources):
        return f"each source needs a {ed25519_public_key_bytes}-byte Ed25519 public key"
    if not 0 < cmd.min_sources <= len(sources):
        return "min_sources must be within 1..number of sources"
    return None


def create_market(state: LedgerState, cmd: CreateMarket) -> Result:
    if not is_valid_id(cmd.market, market_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_MARKET, "market id must be 1-32 bytes of [A-Za-z0-9._:-]")
    if cmd.market in state.markets:
        return Result(cmd.id, ResultCode.MARKET_EXISTS, f"market {cmd.market} exists")
    if len(state.markets) >= markets_max:
        return Result(cmd.id, ResultCode.LIMIT_EXCEEDED, f"at most {markets_max} markets")
    if cmd.kind == MarketKind.OPTION:
        refusal = option_terms_refusal(state, cmd)
        if refusal:
            return Result(cmd.id, refusal[0], refusal[1])
    problem = listing_problem(cmd, state.ledger_time_ms)
    if problem:
        return Result(cmd.id, ResultCode.INVALID_MARKET_PARAMS, problem)
    settlement_window_ms = listed_settlement_window_ms(cmd, state.ledger_time_ms)
    if isinstance(settlement_window_ms, str):
        return Result(cmd.id, ResultCode.INVALID_MARKET_PARAMS, settlement_window_ms)
    state.put_market(
        cmd.market,
        Market(
            kind=cmd.kind,
            tick_size=cmd.tick_size,
            lot_size=cmd.lot_size,
            initial_margin_bps=cmd.initial_margin_bps,
            maintenance_margin_bps=cmd.maintenance_margin_bps,
            liquidation_fee_bps=cmd.liquidation_fee_bps,
            open_interest_cap=cmd.open_interest_cap,
            trade_band_bps=cmd.trade_band_bps,
            band_bps=cmd.band_bps,
            band_window_ms=cmd.band_window_ms,
            cooldown_ms=cmd.cooldown_ms,
            expiry_ms=cmd.expiry_ms,
            strike_price=cmd.strike_price,
            option_type=cmd.option_type,
            open_interest_soft_cap=cmd.open_interest_soft_cap,
            position_cap=cmd.position_cap,
            cascade_window_ms=cmd.cascade_window_ms,
            cascade_bps=cmd.cascade_bps,
            min_sources=cmd.min_sources,
            stale_after_ms=cmd.stale_after_ms,
            volatility_bps=cmd.volatility_bps,
            twap_window_ms=cmd.twap_window_ms,
            liquidation_slice_bps=cmd.liquidation_slice_bps,
            liquidation_window_ms=cmd.liquidation_window_ms,
            liquidation_cap_notional=cmd.liquidation_cap_notional,
            fund_position_cap=cmd.fund_position_cap,
            volatility_half_life_ms=cmd.volatility_half_life_ms,
            band_volatility_pct=cmd.band_volatility_pct,
            band_floor_bps=cmd.band_floor_bps,
            band_ceiling_bps=cmd.band_ceiling_bps,
            initial_margin_ceiling_bps=cmd.initial_margin_ceiling_bps,
            outlier_bps=cmd.outlier_bps,
            clamp_after_ms=cmd.clamp_after_ms,
            settlement_window_ms=settlement_window_ms,
            underlying=cmd.underlying,
            status=MarketStatus.ACTIVE,
            status_since_ms=state.ledger_time_ms,
        ),
    )
    state.put_open_interest(cmd.market, 0)
    for source in cmd.sources:
        state.put_oracle_source(cmd.market, source.source, OracleSourceState(source.public_key))
    state.put_account(market_fund(cmd.market), Account(0))
    state.put_fund_unwind(cmd.market, unwind_of_listing(cmd))
    terms = terms_from(cmd)
    if terms != NO_TERMS:
        state.put_market_terms(cmd.market, terms)
    if terms.funding_interval_ms:
        state.put_funding(cmd.market, new_funding(state.ledger_time_ms, terms.funding_interval_ms))
        state.put_account(funding_pool(cmd.market), Account(0))
    return Result(cmd.id, ResultCode.OK)
