"""A market's insurance fund gets out of the positions it inherits, by rule (issue 17).

Liquidation hands positions to the market's fund (liquidation.py). Held for ever, a position is a
loss nobody sees (a fund short 1,000 BTC for twelve years). So from the entry in which the fund
first holds a position, it is offered, and whatever is left past a deadline is auto-deleveraged:

- **The auction** runs in ledger time, without a clock: at the end of every entry (after its
  commands, so at the marks its price updates set) each market whose fund holds a position
  takes one auction step. Its price
  is the mark worsened for the fund by

      discount_bps = min(unwind_start_bps + unwind_slope_bps_per_minute x whole minutes since the
                         auction started, unwind_discount_max_bps)

  (a long fund sells at mark x (1 - discount), a short one buys back at mark x (1 + discount);
  rounded to a tick towards the mark, in the fund's favour). The registered backstop liquidity
  providers of the market (backstop.py: accounts a guardian quorum registered, each with the
  least discount it takes and the most contracts it will hold) whose discount the auction has
  reached take slices, cheapest discount first (ties by account id), each within its position
  limit, the market's position cap and its own initial margin (a backstop without the margin for
  its share takes nothing at that step), and all of them together at most
  `unwind_slice_contracts` per `unwind_window_ms` (a tumbling window; 0 = no cap). The auction
  steps only at a reliable mark: not while the venue or the market is HALTED, the market SETTLED
  or its oracle verdict not VALID. A venue REDUCE_ONLY because the funds are below their floor
  does not stop it: moving the fund's risk to a backstop is how the funds recover.
- **Fills from the matching engine** may name the market's fund as one side (trades.py hands
  them here): such a fill is accepted only if it reduces the fund's position without flipping it
  (else FUND_FILL_NOT_REDUCING), is within the trade band of the mark like any fill, charges the
  fund no fee, and the client side passes every check a client side passes (margin, caps, the
  market's reduce-only modes; not the venue's FUND_BELOW_FLOOR reduce-only, for the same reason).
- **The deadline**: once `unwind_deadline_ms` of ledger time has passed since the auction
  started, the fund's remaining position is auto-deleveraged at the mark (deleveraging.py)
  against the opposite positions ranked most profitable and most leveraged first: the fund is
  the account being deleveraged, so it never ranks among its own counterparties.

The auction's start is the end of the entry in which the fund first holds a position (its first
step is in the next entry); more inherited while
it runs joins it with the same start (so the deadline is never pushed back by new
liquidations), and it ends when the fund is flat, however that came about.

Cost: O(markets whose fund holds a position x their backstops) per entry; none while every fund
is flat.
"""

from __future__ import annotations

from dataclasses import replace

from .commands import CreateMarket, SettleTrade
from .deleveraging import deleverage
from .events import Event, FundAuctionEnded, FundAuctionStarted, FundDeadlineDeleveraged, FundSliceSold
from .fees import credit_fees
from .fill_side import market_refusal, side_problem  # the checks of any fill (trades.py)
from .fills import fill_rule
from .limits import (
    INT64_MAX,
    account_id_bytes_max,
    bps_denominator,
    unwind_deadline_ms_max,
    unwind_discount_max_bps_max,
    unwind_slope_per_ms,
)
from .margin import account_valuation, only_reduces_risk
from .market_terms import terms_of
from .position_transfer import move_position
from .records import Account, AccountStatus, FundUnwind, GlobalMode, GlobalReason, MarketStatus, OracleVerdict
from .results import Result, ResultCode
from .state import META_GLOBAL_REASON, LedgerState, market_fund
from .validation import is_client_account_id, is_int64, is_positive_int64

# -- parameters (CreateMarket) -------------------------------------------------------------------


def unwind_params_problem(cmd: CreateMarket) -> str | None:
    """Why CreateMarket's unwind_* parameters cannot apply, or None."""
    values = (cmd.unwind_start_bps, cmd.unwind_slope_bps_per_minute, cmd.unwind_discount_max_bps,
              cmd.unwind_slice_contracts, cmd.unwind_window_ms, cmd.unwind_deadline_ms)
    if not all(is_int64(v) for v in values):
        return "unwind parameters must be int64"
    if min(values) < 0:
        return "unwind parameters must not be negative"
    if not cmd.unwind_start_bps <= cmd.unwind_discount_max_bps <= unwind_discount_max_bps_max:
        return f"need 0 <= unwind_start_bps <= unwind_discount_max_bps <= {unwind_discount_max_bps_max}"
    if cmd.unwind_slope_bps_per_minute > unwind_discount_max_bps_max:
        return f"unwind_slope_bps_per_minute must be within 0..{unwind_discount_max_bps_max}"
    if is_positive_int64(cmd.lot_size) and cmd.unwind_slice_contracts % cmd.lot_size:
        return "unwind_slice_contracts must be a multiple of lot_size"
    if cmd.unwind_window_ms <= 0:
        return "unwind_window_ms must be positive"
    if not 0 < cmd.unwind_deadline_ms <= unwind_deadline_ms_max:
        return f"unwind_deadline_ms must be within 1..{unwind_deadline_ms_max}"
    return None


def unwind_of_listing(cmd: CreateMarket) -> FundUnwind:
    return FundUnwind(
        start_bps=cmd.unwind_start_bps, slope_bps_per_minute=cmd.unwind_slope_bps_per_minute,
        discount_max_bps=cmd.unwind_discount_max_bps, slice_contracts=cmd.unwind_slice_contracts,
        window_ms=cmd.unwind_window_ms, deadline_ms=cmd.unwind_deadline_ms,
    )


def unwind_listing_fields(state: LedgerState, market_id: str) -> dict[str, int]:
    """The market's unwind_* parameters as CreateMarket names them (for SET_MARKET_PARAMS checks)."""
    u = state.fund_unwinds[market_id]
    return {
        "unwind_start_bps": u.start_bps, "unwind_slope_bps_per_minute": u.slope_bps_per_minute,
        "unwind_discount_max_bps": u.discount_max_bps, "unwind_slice_contracts": u.slice_contracts,
        "unwind_window_ms": u.window_ms, "unwind_deadline_ms": u.deadline_ms,
    }


# -- the auction ----------------------------------------------------------------------------------


def auction_discount_bps(unwind: FundUnwind, now_ms: int) -> int:
    minutes = (now_ms - unwind.started_ms) // unwind_slope_per_ms
    return min(unwind.start_bps + unwind.slope_bps_per_minute * minutes, unwind.discount_max_bps)


def auction_price(mark: int, tick: int, side: int, discount_bps: int) -> int:
    """The fund's price for a position held on `side` (+1 long: it sells; -1 short: it buys),
    rounded to a tick towards the mark; at least one tick."""
    if side > 0:
        raw = mark * (bps_denominator - discount_bps)
        price = -(-raw // (bps_denominator * tick)) * tick  # up: towards the mark
    else:
        raw = mark * (bps_denominator + discount_bps)
        price = raw // (bps_denominator * tick) * tick  # down: towards the mark
    return max(price, tick)


def track_fund_auctions(state: LedgerState, events: list[Event]) -> None:
    """After the entry's commands: start the auction of a market whose fund now holds a position,
    end the one whose fund is flat. Looks only at the markets whose positions the entry changed."""
    for market_id in sorted(state.entry_markets):
        unwind = state.fund_unwinds.get(market_id)
        if unwind is None:
            continue
        position = state.position(market_fund(market_id), market_id)
        size = position.size if position else 0
        now = state.ledger_time_ms
        if size and not unwind.started_ms:
            state.put_fund_unwind(market_id, replace(unwind, started_ms=now, window_start_ms=now, sold_in_window=0))
            events.append(FundAuctionStarted(market_id, size, state.markets[market_id].mark_price, now + unwind.deadline_ms))
        elif not size and unwind.started_ms:
            state.put_fund_unwind(market_id, replace(unwind, started_ms=0, window_start_ms=0, sold_in_window=0))
            events.append(FundAuctionEnded(market_id))


def step_fund_auctions(state: LedgerState, events: list[Event]) -> None:
    """One auction step for every market whose fund holds a position (at the end of an entry)."""
    for market_id in sorted(state.unwinding):
        _step(state, market_id, events)


def _reliable(state: LedgerState, market_id: str) -> bool:
    market = state.markets[market_id]
    return (state.global_mode != GlobalMode.HALTED and market.status not in (MarketStatus.HALTED, MarketStatus.SETTLING, MarketStatus.SETTLED)
            and market.oracle_verdict == OracleVerdict.VALID and market.mark_price > 0)


def _step(state: LedgerState, market_id: str, events: list[Event]) -> None:
    fund_id = market_fund(market_id)
    position = state.position(fund_id, market_id)
    if position is None or not position.size or not _reliable(state, market_id):
        return
    market = state.markets[market_id]
    unwind = state.fund_unwinds[market_id]
    now = state.ledger_time_ms
    side = 1 if position.size > 0 else -1
    if now - unwind.started_ms >= unwind.deadline_ms:
        size = position.size
        deleverage(state, fund_id, market_id, abs(size), market.mark_price, events)
        events.append(FundDeadlineDeleveraged(market_id, size, market.mark_price))
        return
    if now - unwind.window_start_ms >= unwind.window_ms:
        unwind = replace(unwind, window_start_ms=now, sold_in_window=0)
    room = unwind.slice_contracts - unwind.sold_in_window if unwind.slice_contracts else abs(position.size)
    discount = auction_discount_bps(unwind, now)
    price = auction_price(market.mark_price, market.tick_size, side, discount)
    ranked = sorted((terms["discount_bps"], account_id) for account_id, terms in state.backstops.get(market_id, {}).items())
    for backstop_discount, account_id in ranked:
        left = abs(state.positions[fund_id][market_id].size)
        if room <= 0 or not left:
            break
        if backstop_discount > discount:
            break  # the rest want a deeper discount than the auction offers yet
        quantity = _backstop_quantity(state, market_id, account_id, side, min(room, left), price)
        if not quantity:
            continue
        move_position(state, market_id, fund_id, account_id, side * quantity, price)
        room -= quantity
        unwind = replace(unwind, sold_in_window=unwind.sold_in_window + quantity)
        events.append(FundSliceSold(market_id, account_id, side * quantity, price, discount))
    if unwind != state.fund_unwinds[market_id]:
        state.put_fund_unwind(market_id, unwind)


def _backstop_quantity(state: LedgerState, market_id: str, account_id: str, side: int, most: int, price: int) -> int:
    """Contracts the backstop takes now (on `side`, the fund's side): within its registered
    position limit, the market's position cap, whole lots and its initial margin; else 0."""
    account = state.accounts.get(account_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        return 0
    market = state.markets[market_id]
    terms = state.backstops[market_id][account_id]
    old = state.position(account_id, market_id)
    held = old.size if old else 0
    limit = terms["position_max"]
    if market.position_cap:
        limit = min(limit, market.position_cap)
    quantity = min(most, max(limit - side * held, 0))
    quantity -= quantity % market.lot_size
    if quantity <= 0:
        return 0
    new, realized = fill_rule(market)(old, side * quantity, price)
    collateral = account.collateral + realized
    if collateral < 0 or abs(new.cost_basis) > INT64_MAX or collateral > INT64_MAX:
        return 0
    if only_reduces_risk(held, new.size):
        return quantity
    pnl, _, initial, _ = account_valuation(state, account_id, {market_id: new})
    return quantity if collateral + pnl >= initial else 0


# -- fills the matching engine submits with the fund on one side --------------------------------


def settle_fund_fill(state: LedgerState, cmd: SettleTrade) -> Result:
    """A SettleTrade naming an insurance fund as buyer or seller (see the module docstring)."""
    market = state.markets[cmd.market]
    fund_id = market_fund(cmd.market)
    buyer_id, seller_id = cmd.buyer, cmd.seller
    if fund_id not in (buyer_id, seller_id):
        return Result(cmd.id, ResultCode.INVALID_ACCOUNT, f"only {fund_id} may trade in {cmd.market}, and only to reduce its position")
    client_id = seller_id if buyer_id == fund_id else buyer_id
    if client_id == fund_id:
        return Result(cmd.id, ResultCode.SELF_TRADE, "buyer and seller are the same account")
    if client_id[:4] == "sys:":
        return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "a fund trades with a client account only")
    client = state.accounts.get(client_id)
    if client is None and not is_client_account_id(client_id, account_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_ACCOUNT, "account ids must be 1-64 bytes of [A-Za-z0-9._:-], not sys:")
    if client is None:
        return Result(cmd.id, ResultCode.UNKNOWN_ACCOUNT, f"no account {client_id}")
    if client.status != AccountStatus.ACTIVE:
        return Result(cmd.id, ResultCode.ACCOUNT_NOT_ACTIVE, f"{client_id} is {client.status.name}")
    price, quantity = cmd.price, cmd.quantity
    if not is_positive_int64(price) or price % market.tick_size:
        return Result(cmd.id, ResultCode.INVALID_PRICE, f"price must be a positive multiple of {market.tick_size}")
    if not is_positive_int64(quantity) or quantity % market.lot_size:
        return Result(cmd.id, ResultCode.INVALID_QUANTITY, f"quantity must be a positive multiple of {market.lot_size}")
    if not (is_int64(cmd.buyer_fee) and is_int64(cmd.seller_fee)) or cmd.buyer_fee < 0 or cmd.seller_fee < 0:
        return Result(cmd.id, ResultCode.INVALID_FEE, "fees must be non-negative int64")
    fund_fee, client_fee = (cmd.buyer_fee, cmd.seller_fee) if buyer_id == fund_id else (cmd.seller_fee, cmd.buyer_fee)
    if fund_fee:
        return Result(cmd.id, ResultCode.INVALID_FEE, "an insurance fund pays no trading fee")
    if cmd.maker_side:  # no schedule: the fund is not a book order, the client's fee is the fill's
        return Result(cmd.id, ResultCode.INVALID_MAKER_SIDE, "a fill with an insurance fund carries its client's fee itself, no maker side")
    if price * quantity > INT64_MAX:
        return Result(cmd.id, ResultCode.INVALID_QUANTITY, "notional exceeds int64")
    refused = market_refusal(state, market, price)  # the same market checks as any fill's
    if refused is not None:
        return Result(cmd.id, refused[0], refused[1])
    fund_side = 1 if buyer_id == fund_id else -1  # the fund buys (+) or sells (-)
    old_fund = state.position(fund_id, cmd.market)
    fund_size = old_fund.size if old_fund else 0
    if not fund_size or not only_reduces_risk(fund_size, fund_size + fund_side * quantity):
        return Result(cmd.id, ResultCode.FUND_FILL_NOT_REDUCING,
                      f"{fund_id} holds {fund_size}: a fill may only reduce it (this one would make it {fund_size + fund_side * quantity})")
    old_client = state.position(client_id, cmd.market)
    new_client, realized_client = fill_rule(market)(old_client, -fund_side * quantity, price)
    client_size = old_client.size if old_client else 0
    venue_reduce_only = state.global_mode == GlobalMode.REDUCE_ONLY and state.meta[META_GLOBAL_REASON] != GlobalReason.FUND_BELOW_FLOOR
    if (market.status == MarketStatus.REDUCE_ONLY or venue_reduce_only) and not only_reduces_risk(client_size, new_client.size):
        where = "market" if market.status == MarketStatus.REDUCE_ONLY else "venue"
        return Result(cmd.id, ResultCode.REDUCE_ONLY, f"{where} is reduce-only and the fill adds to {client_id}'s position")
    new_fund, _ = fill_rule(market)(old_fund, fund_side * quantity, price)
    open_interest = state.open_interest[cmd.market]
    open_interest_after = open_interest
    for old_size, new_size in ((fund_size, new_fund.size), (client_size, new_client.size)):
        open_interest_after += max(new_size, 0) - max(old_size, 0)
    if open_interest_after > open_interest and open_interest_after > market.open_interest_cap:
        return Result(cmd.id, ResultCode.OPEN_INTEREST_CAP, f"open interest would reach {open_interest_after}, cap {market.open_interest_cap}")
    problem = side_problem(state, client_id, client, cmd.market, old_client, new_client, realized_client, client_fee, open_interest_after)
    if problem:
        return Result(cmd.id, problem[0], problem[1])
    # Every check passed: the fund's position moves to the client at the fill's price.
    move_position(state, cmd.market, fund_id, client_id, -fund_side * quantity, price)
    if client_fee:  # money, as any fill's fee: the fund's share and the fee account (fees.py)
        client = state.accounts[client_id]
        state.put_account(client_id, Account(client.collateral - client_fee, client.status))
        credit_fees(state, cmd.market, terms_of(state, cmd.market), client_fee)
    buyer_collateral = state.accounts[buyer_id].collateral
    seller_collateral = state.accounts[seller_id].collateral
    return Result(cmd.id, ResultCode.OK, collateral=buyer_collateral, counterparty_collateral=seller_collateral)
