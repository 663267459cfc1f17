"""The checks every fill passes, a client's (trades.py) and a fund's (fund_unwinding.py): whether
the market may trade at the fill's price now, and whether one side may take it (int64 bounds,
collateral after fees and funding, position count and cap, initial margin at the mark for a side
that adds risk)."""

from __future__ import annotations

from .commands import MarketKind
from .limits import INT64_MAX, INT64_MIN, bps_denominator, positions_per_account_max
from .margin import account_valuation, only_reduces_risk
from .records import Account, GlobalMode, Market, MarketStatus, Position
from .results import ResultCode
from .state import LedgerState


def side_problem(
    state: LedgerState, account_id: str, account: Account, market_id: str, old: Position | None,
    new: Position, realized: int, fee: int, open_interest_after: int,
) -> tuple[ResultCode, str] | None:
    """Why this side may not take the fill, or None. Valued at the mark, after fees and after
    the funding the old position owes (`fee` includes it)."""
    if not (INT64_MIN <= new.size <= INT64_MAX and INT64_MIN <= new.cost_basis <= INT64_MAX
            and INT64_MIN <= new.realized_pnl <= INT64_MAX):
        return ResultCode.INVALID_QUANTITY, f"{account_id}: position would exceed int64"
    collateral = account.collateral + realized - fee
    if collateral > INT64_MAX:
        return ResultCode.INSUFFICIENT_MARGIN, f"{account_id}: collateral out of range"
    if collateral < 0:
        return ResultCode.INSUFFICIENT_MARGIN, f"{account_id}: collateral would go negative"
    if only_reduces_risk(old.size if old else 0, new.size):
        return None
    if old is None and len(state.positions.get(account_id, ())) >= positions_per_account_max:
        return ResultCode.LIMIT_EXCEEDED, f"{account_id}: at most {positions_per_account_max} positions"
    cap = state.markets[market_id].position_cap
    if cap and abs(new.size) > cap:
        return ResultCode.POSITION_CAP, f"{account_id}: position {new.size} beyond the cap of {cap}"
    pnl, _, initial, _ = account_valuation(state, account_id, {market_id: new}, {market_id: open_interest_after})
    if collateral + pnl < initial:
        return ResultCode.INSUFFICIENT_MARGIN, f"{account_id}: equity {collateral + pnl} below initial margin {initial}"
    return None


def market_refusal(state: LedgerState, market: Market, price: int) -> tuple[ResultCode, str] | None:
    """Why no fill may trade in this market at `price` now, or None: an expired future, a market
    not trading, a halted venue, no mark yet, or a price outside the trade band (the fat-finger
    guard: a fill far from the mark is an error somewhere upstream, never a price)."""
    kind = market.kind
    if kind != MarketKind.PERPETUAL and state.ledger_time_ms >= market.expiry_ms:
        if market.status == MarketStatus.SETTLING:  # only an expiring market past its expiry can be
            return ResultCode.MARKET_SETTLING, "market expired without a reliable settlement price: positions wait for it, nothing trades"
        return ResultCode.MARKET_EXPIRED, "market has expired"
    if market.status not in (MarketStatus.ACTIVE, MarketStatus.REDUCE_ONLY):
        return ResultCode.MARKET_NOT_ACTIVE, f"market is {market.status.name}"
    if state.global_mode == GlobalMode.HALTED:
        return ResultCode.MARKET_NOT_ACTIVE, "the venue is halted"
    mark = market.mark_price
    if mark == 0:
        return ResultCode.NO_MARK_PRICE, "no mark price yet"
    if kind == MarketKind.OPTION:
        return option_refusal(state, market, price)
    if abs(price - mark) * bps_denominator > market.trade_band_bps * mark:
        return ResultCode.PRICE_OUTSIDE_BAND, f"price {price} is more than {market.trade_band_bps} bps from the mark {mark}"
    return None


def option_refusal(state: LedgerState, market: Market, price: int) -> tuple[ResultCode, str] | None:
    """An option trades while its underlying is not HALTED (its premium is made from the
    underlying's mark), within its fat-finger band around the mark premium, widened to one tick
    either side so an option whose model premium is below a tick can still trade
    (docs/design.md#options)."""
    if state.markets[market.underlying].status == MarketStatus.HALTED:
        return ResultCode.MARKET_NOT_ACTIVE, f"the underlying {market.underlying} is HALTED"
    mark = market.mark_price
    distance = abs(price - mark)
    if distance * bps_denominator > market.trade_band_bps * mark and distance > market.tick_size:
        return ResultCode.PRICE_OUTSIDE_BAND, (
            f"premium {price} is more than {market.trade_band_bps} bps and a tick from the mark premium {mark}")
    return None
