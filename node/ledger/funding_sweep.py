"""After a funding payment: the sweeps a new mark would run, since funding moved equity too.

A roll (funding.py) changes no account record, only the market's index, which margin counts as
unsettled funding; so the accounts it pushed below maintenance or below their call level are
found as after a mark: by the liquidation index's (funding-shifted) triggers, at the same cost.
Kept apart from funding.py so that module does not depend on liquidation.
"""

from __future__ import annotations

from .events import Event
from .funding import roll_due_funding
from .liquidation import liquidate_below_maintenance
from .margin_calls import review_after_sweep
from .records import MarketStatus, OracleVerdict
from .state import LedgerState


def pay_due_funding(state: LedgerState, events: list[Event]) -> None:
    for market_id in roll_due_funding(state, events):
        market = state.markets[market_id]
        if market.oracle_verdict == OracleVerdict.VALID and market.status not in (MarketStatus.HALTED, MarketStatus.SETTLED):
            liquidate_below_maintenance(state, market_id, events)
            review_after_sweep(state, market_id, events)
