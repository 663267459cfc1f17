"""SettleTrade: a matched fill between a buyer and a seller, applied to both sides or neither."""

from __future__ import annotations

from .commands import MarketKind, SettleTrade
from .fills import apply_fill
from .limits import INT64_MAX, INT64_MIN, account_id_bytes_max, reserved_id_prefix, bps_denominator, market_id_bytes_max, positions_per_account_max
from .margin import account_valuation, only_reduces_risk
from .records import Account, AccountStatus, GlobalMode, MarketStatus, Position
from .results import Result, ResultCode
from .state import META_FEES_COLLECTED, LedgerState
from .validation import is_client_account_id, is_int64, is_positive_int64, is_valid_id

# This is the hottest path of the node (every fill, on every replica): it fetches each record
# once and compares against the int64 bounds inline rather than through the validation helpers.


def _side_problem(
    state: LedgerState, account_id: str, account: Account, market_id: str, old: Position | None,
    new: Position, realized: int, fee: int, open_interest_after: int,
) -> tuple[ResultCode, str] | None:
    """Why this side may not take the fill, or None. Valued at the mark, after fees."""
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


def settle_trade(state: LedgerState, cmd: SettleTrade) -> Result:
    # Ids of existing markets and accounts were validated when they were created, so the charset
    # check runs only for ids the ledger does not know (to tell INVALID_* from UNKNOWN_*).
    market = state.markets.get(cmd.market) if type(cmd.market) is str else None
    if market is None:
        if not is_valid_id(cmd.market, market_id_bytes_max):
            return Result(cmd.id, ResultCode.INVALID_MARKET, "market id must be 1-32 bytes of [A-Za-z0-9._:-]")
        return Result(cmd.id, ResultCode.UNKNOWN_MARKET, f"no market {cmd.market}")
    buyer_id, seller_id = cmd.buyer, cmd.seller
    accounts = state.accounts
    buyer = accounts.get(buyer_id) if type(buyer_id) is str else None
    seller = accounts.get(seller_id) if type(seller_id) is str else None
    for account_id, account in ((buyer_id, buyer), (seller_id, seller)):
        if account_id[:4] == reserved_id_prefix or (account is None and not is_client_account_id(account_id, account_id_bytes_max)):
            if account_id[:4] == reserved_id_prefix and account is not None:
                # An insurance fund unwinding what it inherited: only ever reducing (fund_unwinding.py).
                from .fund_unwinding import settle_fund_fill
                return settle_fund_fill(state, cmd)
            return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "account ids must be 1-64 bytes of [A-Za-z0-9._:-], not sys:")
    if buyer_id == seller_id:
        return Result(cmd.id, ResultCode.SELF_TRADE, "buyer and seller are the same account")
    for account_id, account in ((buyer_id, buyer), (seller_id, seller)):
        if account is None:
            return Result(cmd.id, ResultCode.UNKNOWN_ACCOUNT, f"no account {account_id}")
        if account.status != AccountStatus.ACTIVE:
            return Result(cmd.id, ResultCode.ACCOUNT_NOT_ACTIVE, f"{account_id} is {account.status.name}")
    price, quantity, buyer_fee, seller_fee = cmd.price, cmd.quantity, cmd.buyer_fee, cmd.seller_fee
    if not is_positive_int64(price) or price % market.tick_size:
        return Result(cmd.id, ResultCode.INVALID_PRICE, f"price must be a positive multiple of {market.tick_size}")
    if not is_positive_int64(quantity) or quantity % market.lot_size:
        return Result(cmd.id, ResultCode.INVALID_QUANTITY, f"quantity must be a positive multiple of {market.lot_size}")
    if not (is_int64(buyer_fee) and is_int64(seller_fee)) or buyer_fee < 0 or seller_fee < 0:
        return Result(cmd.id, ResultCode.INVALID_FEE, "fees must be non-negative int64")
    if price * quantity > INT64_MAX:
        return Result(cmd.id, ResultCode.INVALID_QUANTITY, "notional exceeds int64")
    if market.kind == MarketKind.FUTURE and state.ledger_time_ms >= market.expiry_ms:
        return Result(cmd.id, ResultCode.MARKET_EXPIRED, "market has expired")
    if market.status not in (MarketStatus.ACTIVE, MarketStatus.REDUCE_ONLY):
        return Result(cmd.id, ResultCode.MARKET_NOT_ACTIVE, f"market is {market.status.name}")
    global_mode = state.global_mode
    if global_mode == GlobalMode.HALTED:
        return Result(cmd.id, ResultCode.MARKET_NOT_ACTIVE, "the venue is halted")
    mark = market.mark_price
    if mark == 0:
        return Result(cmd.id, ResultCode.NO_MARK_PRICE, "no mark price yet")
    # Fat-finger guard: a fill far from the mark is an error somewhere upstream, never a price.
    if abs(price - mark) * bps_denominator > market.trade_band_bps * mark:
        return Result(cmd.id, ResultCode.PRICE_OUTSIDE_BAND, f"price {price} is more than {market.trade_band_bps} bps from the mark {mark}")

    market_id = cmd.market
    positions = state.positions
    held = positions.get(buyer_id)
    old_buy = held.get(market_id) if held else None
    held = positions.get(seller_id)
    old_sell = held.get(market_id) if held else None
    new_buy, realized_buy = apply_fill(old_buy, quantity, price)
    new_sell, realized_sell = apply_fill(old_sell, -quantity, price)

    if market.status == MarketStatus.REDUCE_ONLY or global_mode == GlobalMode.REDUCE_ONLY:
        where = "market" if market.status == MarketStatus.REDUCE_ONLY else "venue"
        for account_id, old, new in ((buyer_id, old_buy, new_buy), (seller_id, old_sell, new_sell)):
            if not only_reduces_risk(old.size if old else 0, new.size):
                return Result(cmd.id, ResultCode.REDUCE_ONLY, f"{where} is reduce-only and the fill adds to {account_id}'s position")

    # Open interest counts the long side: each side's change in contracts held long.
    open_interest = state.open_interest[market_id]
    open_interest_after = open_interest
    for old, new in ((old_buy, new_buy), (old_sell, new_sell)):
        old_size = old.size if old else 0
        open_interest_after += (new.size if new.size > 0 else 0) - (old_size if old_size > 0 else 0)
    if open_interest_after > open_interest and open_interest_after > market.open_interest_cap:
        return Result(cmd.id, ResultCode.OPEN_INTEREST_CAP, f"open interest would reach {open_interest_after}, cap {market.open_interest_cap}")
    problem = (
        _side_problem(state, buyer_id, buyer, market_id, old_buy, new_buy, realized_buy, buyer_fee, open_interest_after)
        or _side_problem(state, seller_id, seller, market_id, old_sell, new_sell, realized_sell, seller_fee, open_interest_after)
    )
    if problem:
        return Result(cmd.id, problem[0], problem[1])

    # Every check passed: from here on nothing can fail, so both sides are written or neither.
    buyer_collateral = buyer.collateral + realized_buy - buyer_fee
    seller_collateral = seller.collateral + realized_sell - seller_fee
    state.put_position(buyer_id, market_id, new_buy)
    state.put_position(seller_id, market_id, new_sell)
    if buyer_collateral != buyer.collateral:
        state.put_account(buyer_id, Account(buyer_collateral, buyer.status))
    if seller_collateral != seller.collateral:
        state.put_account(seller_id, Account(seller_collateral, seller.status))
    if open_interest_after != open_interest:
        state.put_open_interest(market_id, open_interest_after)
    if buyer_fee or seller_fee:
        state.add_meta(META_FEES_COLLECTED, buyer_fee + seller_fee)
    return Result(cmd.id, ResultCode.OK, collateral=buyer_collateral, counterparty_collateral=seller_collateral)
