"""Margin calls: a warning level between maintenance and initial margin, and reduce-only until cured.

An account's call level is the sum over its open positions of ceil(notional at the mark x
margin_call_bps / 10,000), where a market without a call level (margin_call_bps 0) contributes
its maintenance margin; an account holding no market with a call level is never called. An
ACTIVE account whose equity (collateral + unrealized pnl + unsettled funding, as margin.py values
it) is below its call level, and none of whose marks is unreliable, gets a MarginCall event and a
margin-call record (since when, its equity, the level). While called it is reduce-only: a fill
that adds to one of its positions is refused with MARGIN_CALLED. The call is lifted (event
MarginCallLifted) once its equity is at or above its initial margin requirement. Below
maintenance an account is liquidated exactly as before, called or not; a liquidation does not
lift a call by itself.

When. Calls are placed by the sweep that follows a VALID mark in a market (after its
liquidations) and by the one that follows a funding payment (funding.py): candidates come from
the liquidation index's call triggers (liquidation_index.py), so the sweep costs what the
liquidation sweep costs, plus the accounts under a call, which every sweep reviews for a lift.
A fill and a deposit review their own accounts for a lift. A fill never places a call: a fill
that adds risk must leave the account at initial margin, and a reducing fill's fee is caught by
the next sweep.
"""

from __future__ import annotations

from .events import Event, MarginCall as MarginCallEvent, MarginCallLifted
from .limits import bps_denominator, reserved_id_prefix
from .liquidation import holds_unreliable_mark
from .margin import account_valuation, ceil_div
from .market_terms import terms_of
from .records import AccountStatus, MarginCall
from .state import LedgerState


def call_level(state: LedgerState, account_id: str) -> int | None:
    """The account's margin-call level, or None when no market it holds has one."""
    if account_id in state.option_accounts:
        return None  # margined by scenarios per underlying, which set no call level (docs/design.md#options)
    level = 0
    called = False
    markets = state.markets
    for market_id, position in state.positions.get(account_id, {}).items():
        if not position.size:
            continue
        market = markets[market_id]
        bps = terms_of(state, market_id).margin_call_bps
        if bps:
            called = True
        else:
            bps = market.maintenance_margin_bps
        notional = abs(position.size) * market.mark_price
        level += -(-notional * bps // bps_denominator)
    return level if called else None


def review(state: LedgerState, account_id: str, events: list[Event], may_call: bool = True) -> None:
    """Lift the account's call if it is back at initial margin; else (with may_call) call it if
    it is below its call level."""
    if account_id.startswith(reserved_id_prefix):
        return
    account = state.accounts.get(account_id)
    if account is None:
        return
    call = state.margin_calls.get(account_id)
    now = state.ledger_time_ms
    if call is not None:
        pnl, _, initial, _ = account_valuation(state, account_id)
        equity = account.collateral + pnl
        if equity >= initial:
            state.put_margin_call(account_id, None)
            events.append(MarginCallLifted(account_id, equity, initial, now))
        return
    if not may_call or account.status != AccountStatus.ACTIVE:
        return
    level = call_level(state, account_id)
    if level is None or holds_unreliable_mark(state, account_id):
        return
    equity = account.collateral + account_valuation(state, account_id)[0]
    if equity < level:
        state.put_margin_call(account_id, MarginCall(now, equity, level))
        events.append(MarginCallEvent(account_id, equity, level, now))


def review_after_sweep(state: LedgerState, market_id: str, events: list[Event]) -> None:
    """After a market's mark or funding moved: call the candidates below their level, and lift
    every call that is cured (by id, so every replica reviews in one order)."""
    mark = state.markets[market_id].mark_price
    for account_id in state.liquidation_index.call_candidates(state, market_id, mark):
        if account_id not in state.margin_calls:
            review(state, account_id, events)
    for account_id in sorted(state.margin_calls):
        review(state, account_id, events, may_call=False)


def is_called(state: LedgerState, account_id: str) -> bool:
    return account_id in state.margin_calls


def call_below_raised_maintenance(state: LedgerState, market_id: str, maintenance_bps: int, events: list[Event]) -> None:
    """A maintenance raise phases in (tightening.py): every ACTIVE holder of the market whose
    equity is below its maintenance requirement at the raised level, and not called yet, is called
    now (reduce-only) and has until the raise applies to cure it (docs/design.md#bounded-governance)."""
    market = state.markets[market_id]
    now = state.ledger_time_ms
    for account_id in sorted(state.holders.get(market_id, ())):
        if account_id.startswith(reserved_id_prefix) or account_id in state.margin_calls:
            continue
        account = state.accounts[account_id]
        position = state.positions[account_id].get(market_id)
        if account.status != AccountStatus.ACTIVE or position is None or not position.size:
            continue
        pnl, _, _, maintenance = account_valuation(state, account_id)
        notional = abs(position.size) * market.mark_price
        raised = maintenance - ceil_div(notional * market.maintenance_margin_bps, bps_denominator) \
            + ceil_div(notional * maintenance_bps, bps_denominator)
        equity = account.collateral + pnl
        if equity < raised:
            state.put_margin_call(account_id, MarginCall(now, equity, raised))
            events.append(MarginCallEvent(account_id, equity, raised, now))
