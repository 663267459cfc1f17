"""How an approved SET_MARKET_PARAMS takes effect: a maintenance raise phases in, and a temporary
tightening reverts by itself (docs/design.md#bounded-governance).

Phase-in. A raise of `maintenance_margin_bps` would liquidate at the next mark every account it
puts below maintenance. Instead the other values apply at once, every holder the raised level
puts below maintenance gets a margin call now (reduce-only, margin_calls.py), and the raise itself
applies `margin_raise_grace_ms` of ledger time later: a pending step `pending/<nonce>/phase_in`.
An account that tops up or reduces in the grace window is not liquidated for it.

Revert. A tightening may state `revert_after_ms`: the values it replaced are put back that much
ledger time later (`pending/<nonce>/revert`), whatever happens in between.

Both steps are pending changes applied at the start of an entry like any timelocked change, but
neither is a loosening anyone chose to wait: a halt does not cancel them and CANCEL_PENDING
refuses them. A later action that sets a parameter takes it out of every pending step of its
market: the latest decision wins. A pending phase-in counts as the current value when a later
action is checked (an initial margin cut below it is refused), and every pending change is
checked again when due (interventions.apply_due_changes): one another change made inconsistent
is cancelled, leaving the values in force.
"""

from __future__ import annotations

from .commands import ActionKind
from .events import ActionTaken, Event
from .margin_calls import call_below_raised_maintenance
from .market_params import apply_params, current_value
from .policy_params import governed
from .state import PENDING_PREFIX, LedgerState

PHASE_IN = "phase_in"
REVERT = "revert"
STEP_OUTCOMES = {PHASE_IN: "phased in", REVERT: "reverted"}
_MAINTENANCE = "maintenance_margin_bps"


def step_key(nonce: int, step: str) -> str:
    return f"{PENDING_PREFIX}{nonce:020d}/{step}"


def is_step(record: dict) -> bool:
    """A pending phase-in or revert, as opposed to a timelocked change."""
    return "step" in record["action"]


def apply_market_params_action(state: LedgerState, payload: dict, events: list[Event]) -> None:
    market_id = payload["market"]
    params = dict(payload["params"])
    step = payload.get("step")
    if step == REVERT:
        state.put_governance(step_key(payload["nonce"], PHASE_IN), None)  # a raise it reverts is off too
    if step is not None:
        apply_params(state, market_id, params)
        return
    _forget_in_steps(state, market_id, params)
    replaced = {name: current_value(state, market_id, name) for name in sorted(params)}
    now = state.ledger_time_ms
    raised = params.get(_MAINTENANCE)
    grace_ms = governed(state, "margin_raise_grace_ms")
    phased = raised is not None and raised > state.markets[market_id].maintenance_margin_bps and grace_ms > 0
    if phased:
        del params[_MAINTENANCE]
        _schedule_step(state, payload, PHASE_IN, {_MAINTENANCE: raised}, now + grace_ms, events)
    if params:
        apply_params(state, market_id, params)
    if phased:
        call_below_raised_maintenance(state, market_id, raised, events)
    if "revert_after_ms" in payload:
        _schedule_step(state, payload, REVERT, replaced, now + payload["revert_after_ms"], events)


def phase_in_targets(state: LedgerState, market_id: str, excluding: str = "") -> dict:
    """The values the market's pending phase-ins will apply (their latest decision)."""
    targets: dict = {}
    for key in sorted(state.pending_changes):
        action = state.governance[key]["action"]
        if key != excluding and action.get("step") == PHASE_IN and action["market"] == market_id:
            targets.update(action["params"])
    return targets


def _schedule_step(state: LedgerState, payload: dict, step: str, params: dict, at_ms: int, events: list[Event]) -> None:
    action = {"kind": payload["kind"], "market": payload["market"], "nonce": payload["nonce"], "params": params, "step": step}
    state.put_governance(step_key(payload["nonce"], step), {"action": action, "effective_at_ms": at_ms})
    events.append(ActionTaken(ActionKind.SET_MARKET_PARAMS, payload["nonce"], payload["market"], f"{step.replace('_', '-')} scheduled", at_ms))


def _forget_in_steps(state: LedgerState, market_id: str, params: dict) -> None:
    """Take the parameters a new action sets out of the market's pending steps."""
    for key in sorted(state.pending_changes):
        record = state.governance[key]
        action = record["action"]
        if not is_step(record) or action["market"] != market_id:
            continue
        left = {name: value for name, value in action["params"].items() if name not in params}
        state.put_governance(key, {**record, "action": {**action, "params": left}} if left else None)
