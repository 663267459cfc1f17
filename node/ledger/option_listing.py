"""Listing an OPTION market: a European cash-settled call or put on a listed PERPETUAL or FUTURE
market (docs/design.md#options).

An option's terms are checked before its market parameters, each with its own result code, so a
client learns which term is wrong: the underlying must be a listed PERPETUAL or FUTURE market that
is not settled (UNKNOWN_UNDERLYING, INVALID_UNDERLYING); the type a CALL or a PUT
(INVALID_OPTION_TYPE); the strike a positive multiple of the underlying's tick within the
pricing's range (INVALID_STRIKE); the expiry after ledger time, at most ten years ahead (the
pricing's range) and, on a future, at or before the future's own expiry, whose mark settles it
(INVALID_OPTION_EXPIRY). Then the parameters of any market (`option_params_problem` adds what an
option may not use: its oracle signs volatilities, so the guards that judge a price's own history
(TOO_VOLATILE, the adaptive band) do not apply, an option pays no funding, and its holders are
margined by scenarios, which set no margin-call level).
"""

from __future__ import annotations

from .commands import CreateMarket, MarketKind, OptionType
from .option_pricing import price_max, time_to_expiry_ms_max
from .records import MarketStatus
from .results import ResultCode
from .state import LedgerState
from .validation import is_int64

LINEAR_KINDS = (MarketKind.PERPETUAL, MarketKind.FUTURE)


def option_terms_refusal(state: LedgerState, cmd: CreateMarket) -> tuple[ResultCode, str] | None:
    """Why an OPTION with these terms cannot be listed now, with the code that names the term."""
    underlying = state.markets.get(cmd.underlying) if type(cmd.underlying) is str else None
    if underlying is None:
        return ResultCode.UNKNOWN_UNDERLYING, f"no market {cmd.underlying!r} to be the option's underlying"
    if underlying.kind not in LINEAR_KINDS:
        return ResultCode.INVALID_UNDERLYING, f"the underlying {cmd.underlying} is {underlying.kind.name}: it must be a PERPETUAL or FUTURE"
    if underlying.status == MarketStatus.SETTLED:
        return ResultCode.INVALID_UNDERLYING, f"the underlying {cmd.underlying} is settled"
    if cmd.option_type not in (OptionType.CALL, OptionType.PUT):
        return ResultCode.INVALID_OPTION_TYPE, "an option must be a CALL or a PUT"
    strike = cmd.strike_price
    if not is_int64(strike) or not 0 < strike <= price_max or strike % underlying.tick_size:
        return ResultCode.INVALID_STRIKE, f"strike_price must be a positive multiple of the underlying's tick {underlying.tick_size}, at most {price_max}"
    now = state.ledger_time_ms
    expiry = cmd.expiry_ms
    if not is_int64(expiry) or expiry <= now:
        return ResultCode.INVALID_OPTION_EXPIRY, f"expiry_ms must be after the ledger time {now}"
    if expiry - now > time_to_expiry_ms_max:
        return ResultCode.INVALID_OPTION_EXPIRY, f"expiry_ms must be within {time_to_expiry_ms_max} ms of the ledger time"
    if underlying.kind == MarketKind.FUTURE and expiry > underlying.expiry_ms:
        return ResultCode.INVALID_OPTION_EXPIRY, f"expiry_ms must not be after the underlying future's expiry {underlying.expiry_ms}"
    return None


def option_params_problem(cmd: CreateMarket) -> str | None:
    """What an OPTION market's parameters may not hold beyond any market's rules (INVALID_MARKET_PARAMS)."""
    if cmd.volatility_bps or cmd.twap_window_ms:
        return "an option's oracle signs volatilities: volatility_bps and twap_window_ms must be 0"
    if cmd.band_volatility_pct or cmd.volatility_half_life_ms:
        return "an option has no adaptive band: band_volatility_pct and volatility_half_life_ms must be 0"
    if cmd.margin_call_bps:
        return "an option is margined by scenarios, which set no call level: margin_call_bps must be 0"
    return None
