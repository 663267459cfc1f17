"""What a quorum-signed action does once it is approved (emergency.py decides whether it is).

Halts take effect at once and cancel every timelocked change they concern (a halt is the brake
on a loosening that turns out to be wrong); CANCEL_PENDING cancels one of them without halting.
Loosening changes wait in `pending/<nonce>` records until their ledger time comes
(`apply_due_changes`, at the start of every entry), as do the phase-in and revert steps of a
tightening (`pending/<nonce>/<step>`, tightening.py), which nothing but a later change cancels.
"""

from __future__ import annotations

from .backstop import BACKSTOP_KINDS, apply_backstop_action, backstop_refusal
from .breakers import reopen, set_status
from .commands import ActionKind
from .events import ActionTaken, Event
from .expiry import settle
from .fees import withdraw_fees, withdraw_fees_problem
from .global_mode import check_insurance_fund_floor, set_global_mode
from .market_params import params_problem
from .collateral import pay_out
from .governance import POLICY_FIELDS
from .policy_params import set_policy_params
from .records import GlobalMode, GlobalReason, MarketStatus, SettlementMethod, StatusReason
from .state import META_GLOBAL_MODE, META_GLOBAL_REASON, PENDING_PREFIX, POLICY_KEY, SIGNER_PREFIX, LedgerState
from .tightening import STEP_OUTCOMES, apply_market_params_action, is_step, phase_in_targets


# A timelocked SET_MARKET_PARAMS falling due for a market in one of these is dropped without a word,
# as it always was for a SETTLED one: a SETTLING market's parameters no longer matter either.
_FINAL = (MarketStatus.SETTLED, MarketStatus.SETTLING)


def pending_key(nonce: int) -> str:
    return f"{PENDING_PREFIX}{nonce:020d}"


def schedule(state: LedgerState, payload: dict, effective_at_ms: int, events: list[Event]) -> None:
    state.put_governance(pending_key(payload["nonce"]), {"action": payload, "effective_at_ms": effective_at_ms})
    events.append(ActionTaken(ActionKind[payload["kind"]], payload["nonce"], payload.get("market", ""), "scheduled", effective_at_ms))


def apply_due_changes(state: LedgerState, events: list[Event]) -> None:
    """Every change due by now, in the order they fell due (then by key). A change of market
    parameters is checked again as it applies, with the market's pending phase-ins counted: a
    change decided in between may have made its values inconsistent; it is then cancelled."""
    now = state.ledger_time_ms
    for _, key in sorted((at, k) for k, at in state.pending_changes.items() if at <= now):
        if key not in state.pending_changes:
            continue  # a revert applied before it dropped its own phase-in
        payload = state.governance[key]["action"]
        if payload["kind"] == ActionKind.SET_MARKET_PARAMS.name and state.markets[payload["market"]].status not in _FINAL \
                and params_problem(state, payload["market"], payload["params"], phase_in_targets(state, payload["market"], key)):
            _cancel(state, key, events)
            continue
        state.put_governance(key, None)
        take_effect(state, payload, events)


def cancel_pending(state: LedgerState, market_id: str | None, events: list[Event]) -> None:
    """A halt cancels the timelocked changes of its market (None: every timelocked change)."""
    for key in sorted(state.pending_changes):
        record = state.governance[key]
        if not is_step(record) and (market_id is None or record["action"].get("market") == market_id):
            _cancel(state, key, events)


def _cancel(state: LedgerState, key: str, events: list[Event]) -> None:
    payload = state.governance[key]["action"]
    state.put_governance(key, None)
    events.append(ActionTaken(ActionKind[payload["kind"]], payload["nonce"], payload.get("market", ""), "cancelled", 0))


def cancellable(state: LedgerState, nonce: int) -> bool:
    """Whether CANCEL_PENDING may cancel the change of this nonce: a timelocked one, pending."""
    return pending_key(nonce) in state.pending_changes


def refusal(state: LedgerState, payload: dict) -> str | None:
    """Why an approved action cannot take effect in the current state, or None."""
    kind = ActionKind[payload["kind"]]
    market = state.markets.get(payload.get("market", ""))
    if kind == ActionKind.RESUME_MARKET and not (
            market and market.status == MarketStatus.HALTED and market.status_reason == StatusReason.GUARDIAN_HALT):
        return "the market is not halted by guardians"
    if kind == ActionKind.GLOBAL_RESUME and not (
            state.meta[META_GLOBAL_MODE] == GlobalMode.HALTED and state.meta[META_GLOBAL_REASON] == GlobalReason.GUARDIAN_HALT):
        return "the venue is not halted by guardians"
    if kind in (ActionKind.HALT_MARKET, ActionKind.EMERGENCY_SETTLE, ActionKind.SET_MARKET_PARAMS, ActionKind.REGISTER_BACKSTOP) \
            and market and market.status == MarketStatus.SETTLED:
        return "the market is settled"
    if kind in (ActionKind.HALT_MARKET, ActionKind.SET_MARKET_PARAMS) and market and market.status == MarketStatus.SETTLING:
        # Nothing trades in it already; its price comes from the oracle or an EMERGENCY_SETTLE.
        return "the market is SETTLING: it settles at its oracle's average after expiry or by EMERGENCY_SETTLE"
    if kind in BACKSTOP_KINDS:
        return backstop_refusal(state, payload)
    if kind == ActionKind.EMERGENCY_SETTLE and payload["price"] <= 0:
        return "the settlement price must be positive"
    if kind == ActionKind.EMERGENCY_SETTLE and market and payload["price"] % market.tick_size:
        return f"the settlement price must be a multiple of {market.tick_size}"
    if kind == ActionKind.WITHDRAW_FEES:
        return withdraw_fees_problem(state, payload["amount"])
    return None


def take_effect(state: LedgerState, payload: dict, events: list[Event]) -> None:
    kind = ActionKind[payload["kind"]]
    market_id = payload.get("market", "")
    if kind == ActionKind.HALT_MARKET:
        set_status(state, market_id, MarketStatus.HALTED, StatusReason.GUARDIAN_HALT, 0, events)
        cancel_pending(state, market_id, events)
    elif kind == ActionKind.RESUME_MARKET:
        reopen(state, market_id, events)
    elif kind == ActionKind.GLOBAL_HALT:
        set_global_mode(state, GlobalMode.HALTED, GlobalReason.GUARDIAN_HALT, events)
        cancel_pending(state, None, events)
    elif kind == ActionKind.GLOBAL_RESUME:
        set_global_mode(state, GlobalMode.NORMAL, GlobalReason.NONE, events)
        check_insurance_fund_floor(state, events)
    elif kind == ActionKind.SET_MARKET_PARAMS:
        if state.markets[market_id].status not in _FINAL:
            apply_market_params_action(state, payload, events)
    elif kind == ActionKind.EMERGENCY_SETTLE:
        settle(state, market_id, payload["price"], SettlementMethod.GUARDIAN, StatusReason.EMERGENCY_SETTLED, events)
    elif kind == ActionKind.SET_SIGNERS:
        install_signer_set(state, payload["cluster"], payload["signers"], payload["policy"])
    elif kind in BACKSTOP_KINDS:
        apply_backstop_action(state, payload)
    elif kind == ActionKind.WITHDRAW_FEES:
        withdraw_fees(state, payload["amount"])
    elif kind == ActionKind.CANCEL_PENDING:
        _cancel(state, pending_key(payload["pending_nonce"]), events)
    elif kind == ActionKind.SET_POLICY_PARAMS:
        set_policy_params(state, payload["params"])
        check_insurance_fund_floor(state, events)  # the floor may have moved
    elif kind == ActionKind.CUSTODY_WITHDRAW:
        pay_out(state, payload["account"], payload["amount"])
    outcome = STEP_OUTCOMES.get(payload.get("step", ""), "applied")
    events.append(ActionTaken(kind, payload["nonce"], market_id, outcome, state.ledger_time_ms))


def install_signer_set(state: LedgerState, cluster: str, signers: list[dict], rules: dict) -> None:
    for key in [k for k in state.governance if k.startswith(SIGNER_PREFIX)]:
        state.put_governance(key, None)
    for entry in signers:
        record = {"public_key": entry["public_key"], "role": entry["role"]}
        if "accounts" in entry:  # a reader's scope
            record["accounts"] = list(entry["accounts"])
        state.put_governance(SIGNER_PREFIX + entry["key_id"], record)
    state.put_governance(POLICY_KEY, {"cluster": cluster, **{f: rules[f] for f in POLICY_FIELDS}})
