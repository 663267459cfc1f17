"""Whether one side of a fill may take it: int64 bounds, collateral after fees and funding,
position count and cap, and initial margin at the mark for a side that adds risk. Used by every
fill, a client's (trades.py) and a fund's (fund_unwinding.py)."""

from __future__ import annotations

from .limits import INT64_MAX, INT64_MIN, positions_per_account_max
from .margin import account_valuation, only_reduces_risk
from .records import Account, Position
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
