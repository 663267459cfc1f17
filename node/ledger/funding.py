"""Funding of perpetuals: longs and shorts pay each other every funding interval, in exact integers.

Units and precision. A rate is in billionths (`funding_scale` = 10^9 per 1.0) of the mark per
interval. The market's cumulative funding index is in billionths of a quote minor unit per
contract (1 index unit = 10^-9 of 1e-6 USD = 1e-15 USD per contract), so one interval adds
exactly `rate x mark` to it: no rounding inside the index. The index is 128-bit in the records.

Rate. The premium sampled at ledger time t is floor((p - mark) x 10^9 / mark), where p is the
last traded price of the market (0 before any trade: premium 0); it is sampled on every fill and
on every change of the mark, and holds until the next sample. The interval's rate is the premium's
time-weighted average over the interval (its integral in premium x ms, floor-divided by the
interval's length), clamped to +-funding_rate_cap_bps. A positive rate: longs pay shorts.

Intervals. Boundaries are multiples of funding_interval_ms in ledger time; the first interval runs
from the listing to the next boundary. At the start of every entry, each market whose boundary has
passed rolls once: the first due interval gets its average; any further whole intervals that
passed without a sample (a quiet spell) all had the last premium throughout, so they are added in
one multiplication. A roll costs O(1) per market whatever the number of accounts or intervals,
and emits one FundingPaid event per distinct rate (at most two per roll). The mark used is the
mark at the roll. Futures, settled markets and markets without an interval pay no funding.

Settlement. A position remembers the index it last settled at. What it owes is
size x (index - its index) billionths of a unit, rounded in the ledger's favour: a payer pays the
amount rounded up, a receiver receives it rounded down (both are -ceil(owed / 10^9) of
collateral). Positions settle when touched (a fill, a liquidation or ADL transfer, a settlement of
the market), before their size changes; margin, withdrawals and liquidation count the unsettled
amount (margin.account_valuation). Settled payments go into the market's funding pool (a ledger
account, `sys:funding:<market>`), settled receipts come out of it, so the pool may be briefly
below zero while payers have not settled yet.

Exactness. Let W be the sum over the market's positions of size x their index (kept in
LedgerState.funding_weight). Because the sizes sum to zero, the unsettled funding of all positions
sums to -W, so the pool must hold exactly W plus the settled rounding: pool x 10^9 = W + dust.
Whenever the rounding (`dust`, in billionths) reaches a whole unit, that unit moves from the pool
to the market's insurance fund. When every position is flat, W = 0 and the pool is exactly empty:
funding is zero-sum and every remainder went to the fund. invariants.py asserts the equation.
Conservation counts settled amounts only: unsettled funding is in nobody's collateral, on
either side.
"""

from __future__ import annotations

from dataclasses import replace

from .events import Event, FundingPaid
from .limits import bps_denominator
from .records import Account, Funding, MarketStatus, Position
from .state import LedgerState, funding_pool, market_fund

funding_scale = 10**9  # rate: billionths of the mark per interval; index: billionths of a unit per contract


def first_funding_ms(now_ms: int, interval_ms: int) -> int:
    """The first interval boundary strictly after `now_ms`."""
    return (now_ms // interval_ms + 1) * interval_ms


def new_funding(now_ms: int, interval_ms: int) -> Funding:
    return Funding(interval_start_ms=now_ms, next_funding_ms=first_funding_ms(now_ms, interval_ms), premium_time_ms=now_ms)


def premium_of(trade_price: int, mark: int) -> int:
    """(trade price - mark) / mark in billionths, rounded down."""
    return (trade_price - mark) * funding_scale // mark


def clamp_rate(average: int, cap_bps: int) -> int:
    cap = cap_bps * (funding_scale // bps_denominator)
    return -cap if average < -cap else cap if average > cap else average


def owed(position: Position, index: int) -> int:
    """Whole quote units the position owes at `index` (negative: it receives), in the ledger's
    favour: -ceil(-x) rounds a payment up and a receipt down."""
    return -((-position.size * (index - position.funding_index)) // funding_scale)


def _sample(state: LedgerState, market_id: str, funding: Funding, trade_price: int, mark: int) -> None:
    # On every fill of a funded market: built directly, not by dataclasses.replace (a third faster).
    now = state.ledger_time_ms
    area = funding.premium_area + funding.premium * (now - funding.premium_time_ms)
    state.put_funding(market_id, Funding(
        funding.index, funding.rate, funding.interval_start_ms, funding.next_funding_ms,
        (trade_price - mark) * funding_scale // mark, now, area, trade_price, funding.dust,
    ))


def note_trade(state: LedgerState, market_id: str, funding: Funding, price: int) -> None:
    """A fill at `price`: the premium from now on is this price's over the mark."""
    if funding.next_funding_ms:
        _sample(state, market_id, funding, price, state.markets[market_id].mark_price)


def note_mark(state: LedgerState, market_id: str, mark: int) -> None:
    """The mark changed: the last traded price's premium over the new mark from now on."""
    funding = state.funding.get(market_id)
    if funding is not None and funding.next_funding_ms and funding.last_trade_price:
        _sample(state, market_id, funding, funding.last_trade_price, mark)


def roll_due_funding(state: LedgerState, events: list[Event]) -> list[str]:
    """Roll every market whose funding time has come; returns those markets (sorted)."""
    now = state.ledger_time_ms
    due = sorted(m for m, at in state.funding_deadlines.items() if at <= now)
    for market_id in due:
        _roll(state, market_id, now, events)
    return due


def _roll(state: LedgerState, market_id: str, now: int, events: list[Event]) -> None:
    funding = state.funding[market_id]
    market = state.markets[market_id]
    terms = state.market_terms[market_id]
    if market.status == MarketStatus.SETTLED:
        state.put_funding(market_id, replace(funding, next_funding_ms=0))
        return
    interval = terms.funding_interval_ms
    boundary = funding.next_funding_ms
    mark = market.mark_price
    area = funding.premium_area + funding.premium * (boundary - funding.premium_time_ms)
    rate = clamp_rate(area // (boundary - funding.interval_start_ms), terms.funding_rate_cap_bps)
    index = funding.index + rate * mark
    events.append(FundingPaid(market_id, rate, mark, 1, index, boundary))
    quiet = (now - boundary) // interval  # whole intervals since, with the last premium throughout
    if quiet:
        rate = clamp_rate(funding.premium, terms.funding_rate_cap_bps)
        index += quiet * rate * mark
        events.append(FundingPaid(market_id, rate, mark, quiet, index, boundary + quiet * interval))
    start = boundary + quiet * interval
    state.put_funding(market_id, replace(
        funding, index=index, rate=rate, interval_start_ms=start, next_funding_ms=start + interval,
        premium_time_ms=start, premium_area=0,
    ))


def stop_funding(state: LedgerState, market_id: str) -> None:
    """The market is settled: no more intervals (its positions settled before closing)."""
    funding = state.funding.get(market_id)
    if funding is not None and funding.next_funding_ms:
        state.put_funding(market_id, replace(funding, next_funding_ms=0))


def settle_funding(state: LedgerState, account_id: str, market_id: str) -> int:
    """Settle what the account's position owes or is owed at the market's current index (before
    its size changes). Returns the collateral it paid (negative: received)."""
    funding = state.funding.get(market_id)
    if funding is None:
        return 0
    position = state.position(account_id, market_id)
    if position is None or position.funding_index == funding.index:
        return 0
    exact = position.size * (funding.index - position.funding_index)
    paid = -(-exact // funding_scale)
    state.put_position(account_id, market_id, Position(position.size, position.cost_basis, position.realized_pnl, funding.index))
    if paid:
        account = state.accounts[account_id]
        state.put_account(account_id, Account(account.collateral - paid, account.status))
    pool_id = funding_pool(market_id)
    pool = state.accounts[pool_id].collateral + paid
    dust = funding.dust + paid * funding_scale - exact
    if dust >= funding_scale:
        whole = dust // funding_scale
        dust -= whole * funding_scale
        pool -= whole
        fund_id = market_fund(market_id)
        fund = state.accounts[fund_id]
        state.put_account(fund_id, Account(fund.collateral + whole, fund.status))
    if pool != state.accounts[pool_id].collateral:
        state.put_account(pool_id, Account(pool))
    if dust != funding.dust:
        state.put_funding(market_id, replace(funding, dust=dust))
    return paid


def current_index(state: LedgerState, market_id: str) -> int:
    funding = state.funding.get(market_id)
    return funding.index if funding is not None else 0
