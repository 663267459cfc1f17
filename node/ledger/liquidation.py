"""Liquidation: accounts below maintenance margin are reduced in slices, at the mark.

After every VALID mark, the liquidation index (liquidation_index.py) names the accounts that may
have fallen below maintenance margin; each one confirmed below becomes LIQUIDATING and takes one
step per entry from then on (continue_liquidations runs at the start of every entry) until it is
back above maintenance or flat. One step closes, in each market the account holds:

- at most liquidation_slice_bps of the position (Hyperliquid's 20% slices), and
- at most what is left of the market's liquidation_cap_notional in the current
  liquidation_window_ms (dYdX's per-block cap); a market whose window is used up waits.

A slice closes at the mark into the market's insurance fund, up to the fund's position cap, and
whatever the fund cannot take is auto-deleveraged at the mark (deleveraging.py). The fee goes to
the market's fund, never taken from a loss. Slicing is for solvent accounts: once an account's
equity at the marks is negative, waiting only deepens the hole, so its whole remainder closes in
that step: the market funds and then the global fund pay the deficit as far as they can, and the
rest is closed by auto-deleveraging at the bankruptcy price, so the account ends at zero, not
below. Nobody is liquidated at a mark that is HALTED, STALE or TOO_VOLATILE.

Cost: see liquidation_index.py; each step values one account across its own positions.
"""

from __future__ import annotations

from dataclasses import replace

from .breakers import count_liquidation
from .deleveraging import deleverage
from .events import Event, Liquidation
from .funds import gate_withdrawals, pay_from_funds, settle_account_loss
from .limits import bankruptcy_price_mark_multiple_max, bps_denominator
from .margin import account_valuation, below_maintenance, ceil_div
from .position_transfer import move_position
from .records import Account, AccountStatus, GlobalMode, MarketStatus, OracleVerdict
from .state import LedgerState, market_fund


def liquidate_below_maintenance(state: LedgerState, market_id: str, events: list[Event]) -> None:
    """The sweep after a VALID mark in `market_id`."""
    mark = state.markets[market_id].mark_price
    liquidate_accounts(state, state.liquidation_index.candidates(state, market_id, mark), events)


def liquidate_accounts(state: LedgerState, candidates: list[str], events: list[Event]) -> None:
    """Confirm each candidate (sorted) below maintenance and liquidate it; then the accounts
    already LIQUIDATING that the entry's start skipped."""
    for account_id in candidates:
        account = state.accounts[account_id]
        if account.status != AccountStatus.ACTIVE or account_id in state.entry_liquidated:
            continue
        if holds_unreliable_mark(state, account_id):
            continue
        if below_maintenance(state, account_id):
            state.put_account(account_id, Account(account.collateral, AccountStatus.LIQUIDATING))
            liquidation_step(state, account_id, events)
    continue_liquidations(state, events)  # those the entry's start skipped (the mark was unreliable)


def continue_liquidations(state: LedgerState, events: list[Event]) -> None:
    """One more step for every account still LIQUIDATING (at the start of each entry)."""
    for account_id in sorted(state.liquidating):
        if account_id in state.entry_liquidated or holds_unreliable_mark(state, account_id):
            continue
        account = state.accounts[account_id]
        if account.collateral >= 0 and not below_maintenance(state, account_id):
            # A deposit or a better mark lifted it since its last step: no more slices.
            state.put_account(account_id, Account(account.collateral, AccountStatus.ACTIVE))
            continue
        liquidation_step(state, account_id, events)


def holds_unreliable_mark(state: LedgerState, account_id: str) -> bool:
    """True when one of the account's positions is valued at a mark nobody may liquidate at
    (and always while guardians halt the whole venue: nothing moves then)."""
    if state.global_mode == GlobalMode.HALTED:
        return True
    markets = state.markets
    for market_id, position in state.positions.get(account_id, {}).items():
        if position.size:
            market = markets[market_id]
            if market.status in (MarketStatus.HALTED, MarketStatus.SETTLING) or market.oracle_verdict != OracleVerdict.VALID:
                return True  # SETTLING: frozen until its settlement price (expiry.py)
            if market.underlying:  # an option is valued at its underlying's mark too
                underlying = markets[market.underlying]
                if underlying.status in (MarketStatus.HALTED, MarketStatus.SETTLING) or underlying.oracle_verdict != OracleVerdict.VALID:
                    return True
    return False


def liquidation_step(state: LedgerState, account_id: str, events: list[Event]) -> None:
    state.entry_liquidated[account_id] = None
    held = sorted((m, p.size) for m, p in state.positions[account_id].items() if p.size)
    market_ids = [m for m, _ in held]
    equity = state.accounts[account_id].collateral + account_valuation(state, account_id)[0]
    if equity < 0:
        # Insolvent at the marks: waiting only deepens the hole, so the whole remainder goes now.
        _close_bankrupt(state, account_id, held, -equity, events)
    else:
        if account_id in state.option_accounts:
            held = _largest_risk_first(state, account_id, held)
        for market_id, size in held:
            quantity = _slice(state, market_id, abs(size))
            if quantity:
                _close_at_mark(state, account_id, market_id, size, quantity, events, fee_due=True)
    _finish(state, account_id, market_ids, events)


def _largest_risk_first(state: LedgerState, account_id: str, held: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """An option holder's step: in each of its books only the position that contributes most to
    the book's worst scenario (option_margin.riskiest_book_positions); positions outside every
    book as for any account."""
    from .option_margin import riskiest_book_positions  # it builds on margin, as this module does

    riskiest = riskiest_book_positions(state, account_id)
    options = state.option_underlying
    chosen = dict.fromkeys(riskiest.values())
    return [(m, size) for m, size in held if m in chosen or not (m in riskiest or options.get(m) in riskiest)]


def _slice(state: LedgerState, market_id: str, size: int) -> int:
    """Contracts this step may close in the market: the slice, within the window's cap."""
    market = state.markets[market_id]
    lot = market.lot_size
    quantity = min(size, ceil_div(ceil_div(size * market.liquidation_slice_bps, bps_denominator), lot) * lot)
    if market.liquidation_cap_notional:
        _, used = _liquidation_window(state, market_id)
        room = (market.liquidation_cap_notional - used) // market.mark_price // lot * lot
        quantity = min(quantity, max(room, 0))
    return quantity


def _liquidation_window(state: LedgerState, market_id: str) -> tuple[int, int]:
    """(start, notional liquidated since) of the market's current liquidation window."""
    market = state.markets[market_id]
    now = state.ledger_time_ms
    if now - market.liquidation_window_start_ms >= market.liquidation_window_ms:
        return now, 0
    return market.liquidation_window_start_ms, market.liquidated_in_window


def _count_notional(state: LedgerState, market_id: str, notional: int, events: list[Event]) -> None:
    market = state.markets[market_id]
    if market.liquidation_window_ms:
        start, used = _liquidation_window(state, market_id)
        state.put_market(market_id, replace(market, liquidation_window_start_ms=start, liquidated_in_window=used + notional))
    count_liquidation(state, market_id, notional, events)


def _fund_room(state: LedgerState, market_id: str, side: int) -> int | None:
    """Contracts the market's fund can still take on `side`; None for no cap."""
    cap = state.markets[market_id].fund_position_cap
    if not cap:
        return None
    held = state.position(market_fund(market_id), market_id)
    return max(cap - (held.size * side if held else 0), 0)


def _close_at_mark(
    state: LedgerState, account_id: str, market_id: str, size: int, quantity: int, events: list[Event], fee_due: bool,
) -> None:
    """Close `quantity` contracts at the mark: into the market's fund up to its cap, the rest by ADL."""
    market = state.markets[market_id]
    mark = market.mark_price
    side = 1 if size > 0 else -1
    room = _fund_room(state, market_id, side)
    to_fund = quantity if room is None else min(quantity, room)
    fund_id = market_fund(market_id)
    if to_fund:
        move_position(state, market_id, account_id, fund_id, side * to_fund, mark)
    if quantity - to_fund:
        deleverage(state, account_id, market_id, quantity - to_fund, mark, events)
    _count_notional(state, market_id, quantity * mark, events)
    paid = 0
    if fee_due:
        fee = ceil_div(quantity * mark * market.liquidation_fee_bps, bps_denominator)
        account = state.accounts[account_id]
        equity = account.collateral + account_valuation(state, account_id)[0]
        paid = max(min(fee, account.collateral, equity), 0)  # never taken from a loss
        if paid:
            state.put_account(account_id, Account(account.collateral - paid, account.status))
            fund = state.accounts[fund_id]
            state.put_account(fund_id, Account(fund.collateral + paid, fund.status))
    events.append(Liquidation(
        account=account_id, market=market_id, size=side * quantity, price=mark, fee=paid, fund_paid=0, uncovered=0,
        fund_size=side * to_fund, deleveraged_size=side * (quantity - to_fund), remaining=size - side * quantity,
    ))


def _close_bankrupt(state: LedgerState, account_id: str, held: list[tuple[str, int]], deficit: int, events: list[Event]) -> None:
    """The final step of an account whose equity is negative: the funds pay what they can, and
    the rest of the loss is closed by ADL at the bankruptcy price."""
    gate_withdrawals(state)
    market_ids = [m for m, _ in held]
    paid = pay_from_funds(state, deficit, market_ids)
    account = state.accounts[account_id]
    state.put_account(account_id, Account(account.collateral + paid, account.status))
    unpaid = deficit - paid
    for market_id, size in held:
        mark = state.markets[market_id].mark_price
        contracts = abs(size)
        # A long's bankruptcy price is above the mark (up to a named multiple of it, so no number
        # leaves int64), a short's below it (down to a price of 1). Rounded so the account ends at zero or just above, never below.
        room = contracts * (mark * bankruptcy_price_mark_multiple_max - mark) if size > 0 else contracts * (mark - 1)
        share = min(unpaid, room)
        if not share:
            _close_at_mark(state, account_id, market_id, size, contracts, events, fee_due=False)
            continue
        unpaid -= share
        shift = ceil_div(share, contracts)
        price = mark + shift if size > 0 else mark - shift
        deleverage(state, account_id, market_id, contracts, price, events)
        _count_notional(state, market_id, contracts * mark, events)
        events.append(Liquidation(
            account=account_id, market=market_id, size=size, price=price, fee=0, fund_paid=0, uncovered=0,
            fund_size=0, deleveraged_size=size, remaining=0,
        ))
    _annotate_last(events, account_id, paid, 0)


def _annotate_last(events: list[Event], account_id: str, fund_paid: int, uncovered: int) -> None:
    """Add what the funds paid and what stayed uncovered to the account's last slice event."""
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if isinstance(event, Liquidation) and event.account == account_id:
            events[i] = replace(event, fund_paid=event.fund_paid + fund_paid, uncovered=event.uncovered + uncovered)
            return


def _finish(state: LedgerState, account_id: str, market_ids: list[str], events: list[Event]) -> None:
    """After a step: flat accounts settle (the funds cover a negative balance, else BANKRUPT);
    accounts back above maintenance are ACTIVE; the rest stay LIQUIDATING."""
    account = state.accounts[account_id]
    if not any(p.size for p in state.positions[account_id].values()):
        fund_paid, uncovered = settle_account_loss(state, account_id, account.collateral, market_ids)
        _annotate_last(events, account_id, fund_paid, uncovered)
    elif account.collateral >= 0 and not below_maintenance(state, account_id):
        # (A market closed whole may have realized a loss beyond the collateral while another
        # still holds equity: such an account stays LIQUIDATING, never ACTIVE and negative.)
        state.put_account(account_id, Account(account.collateral, AccountStatus.ACTIVE))
