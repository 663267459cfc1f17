"""SettleTrade: a matched fill between a buyer and a seller, applied to both sides or neither."""

from __future__ import annotations

from .commands import MarketKind, SettleTrade
from .fills import apply_fill, long_contracts
from .limits import account_id_bytes_max, market_id_bytes_max, positions_per_account_max
from .margin import account_valuation, only_reduces_risk
from .records import Account, AccountStatus, MarketStatus, Position
from .results import Result, ResultCode
from .state import META_FEES_COLLECTED, LedgerState
from .validation import is_client_account_id, is_int64, is_positive_int64, is_valid_id


def _side_problem(
    state: LedgerState, account_id: str, market_id: str, old: Position | None,
    new: Position, realized: int, fee: int,
) -> tuple[ResultCode, str] | None:
    """Why this side may not take the fill, or None. Valued at the mark, after fees."""
    if not (is_int64(new.size) and is_int64(new.cost_basis) and is_int64(new.realized_pnl)):
        return ResultCode.INVALID_QUANTITY, f"{account_id}: position would exceed int64"
    account = state.accounts[account_id]
    collateral = account.collateral + realized - fee
    if not is_int64(collateral):
        return ResultCode.INSUFFICIENT_MARGIN, f"{account_id}: collateral out of range"
    if collateral < 0:
        return ResultCode.INSUFFICIENT_MARGIN, f"{account_id}: collateral would go negative"
    old_size = old.size if old else 0
    if only_reduces_risk(old_size, new.size):
        return None
    if old is None and len(state.positions.get(account_id, {})) >= positions_per_account_max:
        return ResultCode.LIMIT_EXCEEDED, f"{account_id}: at most {positions_per_account_max} positions"
    pnl, _, initial, _ = account_valuation(state, account_id, collateral, {market_id: new})
    if collateral + pnl < initial:
        return ResultCode.INSUFFICIENT_MARGIN, f"{account_id}: equity {collateral + pnl} below initial margin {initial}"
    return None


def settle_trade(state: LedgerState, cmd: SettleTrade) -> Result:
    if not is_valid_id(cmd.market, market_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_MARKET, "market id must be 1-32 bytes of [A-Za-z0-9._:-]")
    market = state.markets.get(cmd.market)
    if market is None:
        return Result(cmd.id, ResultCode.UNKNOWN_MARKET, f"no market {cmd.market}")
    for account_id in (cmd.buyer, cmd.seller):
        if not is_client_account_id(account_id, account_id_bytes_max):
            return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "account ids must be 1-64 bytes of [A-Za-z0-9._:-], not sys:")
    if cmd.buyer == cmd.seller:
        return Result(cmd.id, ResultCode.SELF_TRADE, "buyer and seller are the same account")
    for account_id in (cmd.buyer, cmd.seller):
        account = state.accounts.get(account_id)
        if account is None:
            return Result(cmd.id, ResultCode.UNKNOWN_ACCOUNT, f"no account {account_id}")
        if account.status != AccountStatus.ACTIVE:
            return Result(cmd.id, ResultCode.ACCOUNT_NOT_ACTIVE, f"{account_id} is {account.status.name}")
    if not is_positive_int64(cmd.price) or cmd.price % market.tick_size:
        return Result(cmd.id, ResultCode.INVALID_PRICE, f"price must be a positive multiple of {market.tick_size}")
    if not is_positive_int64(cmd.quantity) or cmd.quantity % market.lot_size:
        return Result(cmd.id, ResultCode.INVALID_QUANTITY, f"quantity must be a positive multiple of {market.lot_size}")
    if not (is_int64(cmd.buyer_fee) and is_int64(cmd.seller_fee)) or min(cmd.buyer_fee, cmd.seller_fee) < 0:
        return Result(cmd.id, ResultCode.INVALID_FEE, "fees must be non-negative int64")
    if not is_int64(cmd.price * cmd.quantity):
        return Result(cmd.id, ResultCode.INVALID_QUANTITY, "notional exceeds int64")
    if market.kind == MarketKind.FUTURE and state.ledger_time_ms >= market.expiry_ms:
        return Result(cmd.id, ResultCode.MARKET_EXPIRED, "market has expired")
    if market.status != MarketStatus.ACTIVE:
        return Result(cmd.id, ResultCode.MARKET_NOT_ACTIVE, f"market is {market.status.name}")
    if market.mark_price == 0:
        return Result(cmd.id, ResultCode.NO_MARK_PRICE, "no mark price yet")

    old_buy = state.position(cmd.buyer, cmd.market)
    old_sell = state.position(cmd.seller, cmd.market)
    new_buy, realized_buy = apply_fill(old_buy, cmd.quantity, cmd.price)
    new_sell, realized_sell = apply_fill(old_sell, -cmd.quantity, cmd.price)

    open_interest = state.open_interest[cmd.market]
    open_interest_after = (
        open_interest
        + long_contracts(new_buy.size) - long_contracts(old_buy.size if old_buy else 0)
        + long_contracts(new_sell.size) - long_contracts(old_sell.size if old_sell else 0)
    )
    if open_interest_after > open_interest and open_interest_after > market.open_interest_cap:
        return Result(cmd.id, ResultCode.OPEN_INTEREST_CAP, f"open interest would reach {open_interest_after}, cap {market.open_interest_cap}")
    for account_id, old, new, realized, fee in (
        (cmd.buyer, old_buy, new_buy, realized_buy, cmd.buyer_fee),
        (cmd.seller, old_sell, new_sell, realized_sell, cmd.seller_fee),
    ):
        problem = _side_problem(state, account_id, cmd.market, old, new, realized, fee)
        if problem:
            return Result(cmd.id, problem[0], problem[1])

    # Every check passed: from here on nothing can fail, so both sides are written or neither.
    buyer = state.accounts[cmd.buyer]
    seller = state.accounts[cmd.seller]
    buyer_collateral = buyer.collateral + realized_buy - cmd.buyer_fee
    seller_collateral = seller.collateral + realized_sell - cmd.seller_fee
    state.put_position(cmd.buyer, cmd.market, new_buy)
    state.put_position(cmd.seller, cmd.market, new_sell)
    if buyer_collateral != buyer.collateral:
        state.put_account(cmd.buyer, Account(buyer_collateral, buyer.status))
    if seller_collateral != seller.collateral:
        state.put_account(cmd.seller, Account(seller_collateral, seller.status))
    if open_interest_after != open_interest:
        state.put_open_interest(cmd.market, open_interest_after)
    if cmd.buyer_fee or cmd.seller_fee:
        state.add_meta(META_FEES_COLLECTED, cmd.buyer_fee + cmd.seller_fee)
    return Result(cmd.id, ResultCode.OK, collateral=buyer_collateral, counterparty_collateral=seller_collateral)
