"""SettleTrade: a matched fill between a buyer and a seller, applied to both sides or neither."""

from __future__ import annotations

from .commands import MakerSide, MarketKind, SettleTrade
from .events import Event
from .fees import credit_fees, schedule_fees
from .fill_side import market_refusal, side_problem
from .fills import apply_fill, option_fill
from .fund_unwinding import settle_fund_fill
from .funding import note_trade, owed, settle_funding
from .margin_calls import review
from .limits import INT64_MAX, account_id_bytes_max, reserved_id_prefix, market_id_bytes_max
from .margin import only_reduces_risk
from .records import Account, AccountStatus, GlobalMode, MarketStatus, Position
from .results import Result, ResultCode
from .market_terms import NO_TERMS
from .state import LedgerState
from .validation import is_client_account_id, is_int64, is_positive_int64, is_valid_id

# This is the hottest path of the node (every fill, on every replica): it fetches each record
# once and compares against the int64 bounds inline rather than through the validation helpers.


def settle_trade(state: LedgerState, cmd: SettleTrade, events: list[Event] | None = None) -> Result:
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
    # Fees (fees.py): the market's schedule when the fill names its maker, else the fill's own.
    market_id = cmd.market
    terms = state.market_terms.get(market_id, NO_TERMS)
    maker_side = cmd.maker_side
    if maker_side:
        if maker_side not in _MAKER_SIDES:
            return Result(cmd.id, ResultCode.INVALID_MAKER_SIDE, "maker_side must be NONE, BUYER or SELLER")
        if buyer_fee or seller_fee:
            return Result(cmd.id, ResultCode.INVALID_FEE, "a fill that names its maker pays the market's fee schedule: buyer_fee and seller_fee must be 0")
        buyer_fee, seller_fee = schedule_fees(terms, maker_side, price * quantity)
    elif terms.maker_fee_bps or terms.taker_fee_bps:
        return Result(cmd.id, ResultCode.INVALID_MAKER_SIDE, f"market {market_id} charges its fee schedule: maker_side must name the maker")
    refused = market_refusal(state, market, price)
    if refused is not None:
        return Result(cmd.id, refused[0], refused[1])
    global_mode = state.global_mode
    mark = market.mark_price

    positions = state.positions
    held = positions.get(buyer_id)
    old_buy = held.get(market_id) if held else None
    held = positions.get(seller_id)
    old_sell = held.get(market_id) if held else None
    fill = option_fill if market.kind is _OPTION else apply_fill  # an option's premium moves at the fill
    new_buy, realized_buy = fill(old_buy, quantity, price)
    new_sell, realized_sell = fill(old_sell, -quantity, price)
    # Funding (funding.py): the old positions settle at the current index before they change;
    # the checks below count what they owe, as collateral the fill's side no longer has.
    funding = state.funding.get(market_id)
    due_buy = due_sell = 0
    if funding is not None:
        index = funding.index
        due_buy = owed(old_buy, index) if old_buy else 0
        due_sell = owed(old_sell, index) if old_sell else 0
        new_buy = Position(new_buy.size, new_buy.cost_basis, new_buy.realized_pnl, index)
        new_sell = Position(new_sell.size, new_sell.cost_basis, new_sell.realized_pnl, index)

    if market.status == MarketStatus.REDUCE_ONLY or global_mode == GlobalMode.REDUCE_ONLY:
        where = "market" if market.status == MarketStatus.REDUCE_ONLY else "venue"
        for account_id, old, new in ((buyer_id, old_buy, new_buy), (seller_id, old_sell, new_sell)):
            if not only_reduces_risk(old.size if old else 0, new.size):
                return Result(cmd.id, ResultCode.REDUCE_ONLY, f"{where} is reduce-only and the fill adds to {account_id}'s position")
    calls = state.margin_calls
    if calls and (buyer_id in calls or seller_id in calls):
        for account_id, old, new in ((buyer_id, old_buy, new_buy), (seller_id, old_sell, new_sell)):
            if account_id in calls and not only_reduces_risk(old.size if old else 0, new.size):
                return Result(cmd.id, ResultCode.MARGIN_CALLED, f"{account_id} is margin-called: reduce-only until back at initial margin")

    # Open interest counts the long side: each side's change in contracts held long.
    open_interest = state.open_interest[market_id]
    open_interest_after = open_interest
    for old, new in ((old_buy, new_buy), (old_sell, new_sell)):
        old_size = old.size if old else 0
        open_interest_after += (new.size if new.size > 0 else 0) - (old_size if old_size > 0 else 0)
    if open_interest_after > open_interest and open_interest_after > market.open_interest_cap:
        return Result(cmd.id, ResultCode.OPEN_INTEREST_CAP, f"open interest would reach {open_interest_after}, cap {market.open_interest_cap}")
    problem = (
        side_problem(state, buyer_id, buyer, market_id, old_buy, new_buy, realized_buy, buyer_fee + due_buy, open_interest_after)
        or side_problem(state, seller_id, seller, market_id, old_sell, new_sell, realized_sell, seller_fee + due_sell, open_interest_after)
    )
    if problem:
        return Result(cmd.id, problem[0], problem[1])

    # Every check passed: from here on nothing can fail, so both sides are written or neither.
    if funding is not None:
        if due_buy or old_buy and old_buy.funding_index != funding.index:
            settle_funding(state, buyer_id, market_id)
            buyer = state.accounts[buyer_id]
        if due_sell or old_sell and old_sell.funding_index != funding.index:
            settle_funding(state, seller_id, market_id)
            seller = state.accounts[seller_id]
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
    if buyer_fee + seller_fee:  # never negative; 0 when a rebate equals the taker's fee
        credit_fees(state, market_id, terms, buyer_fee + seller_fee)
    if funding is not None:
        note_trade(state, market_id, state.funding[market_id], price)
    if calls and events is not None:
        for account_id in (buyer_id, seller_id):
            if account_id in calls:
                review(state, account_id, events, may_call=False)
    return Result(cmd.id, ResultCode.OK, collateral=buyer_collateral, counterparty_collateral=seller_collateral)


_MAKER_SIDES = (MakerSide.BUYER, MakerSide.SELLER)
_OPTION = MarketKind.OPTION
