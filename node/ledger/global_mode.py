"""The venue's global mode, and the guard that drives it: the insurance fund floor.

The insurance funds together (the global fund plus every market's fund, which can run a deficit
on positions it took over) below their floor cannot absorb more losses, so the venue becomes
REDUCE_ONLY (only fills that reduce both sides' risk) until the funds are topped up again. The
funds are judged by their equity at the mark (fund_equity.py), not their cash: a fund holding a
losing position is that much poorer. Checked after every command, at the cost of one comparison
while no fund holds a position, plus one valuation per fund that does.
"""

from __future__ import annotations

from .events import Event, GlobalModeChanged
from .fund_equity import funds_equity_total
from .policy_params import governed
from .records import GlobalMode, GlobalReason
from .state import META_GLOBAL_MODE, META_GLOBAL_REASON, META_GLOBAL_SINCE, LedgerState


def set_global_mode(state: LedgerState, mode: GlobalMode, reason: GlobalReason, events: list[Event]) -> None:
    state.put_meta(META_GLOBAL_MODE, mode)
    state.put_meta(META_GLOBAL_REASON, reason)
    state.put_meta(META_GLOBAL_SINCE, state.ledger_time_ms)
    events.append(GlobalModeChanged(mode, reason))


def check_insurance_fund_floor(state: LedgerState, events: list[Event]) -> None:
    below = funds_equity_total(state) < governed(state, "insurance_fund_floor")
    mode = state.meta[META_GLOBAL_MODE]
    if not below and mode == GlobalMode.NORMAL:
        return  # the common case, after every command: two lookups and two comparisons
    if below and mode == GlobalMode.NORMAL:
        set_global_mode(state, GlobalMode.REDUCE_ONLY, GlobalReason.FUND_BELOW_FLOOR, events)
    elif not below and mode == GlobalMode.REDUCE_ONLY and state.meta[META_GLOBAL_REASON] == GlobalReason.FUND_BELOW_FLOOR:
        set_global_mode(state, GlobalMode.NORMAL, GlobalReason.NONE, events)
