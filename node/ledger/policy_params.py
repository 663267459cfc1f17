"""Governed policy parameters: limits a guardian quorum changes with SET_POLICY_PARAMS.

Each parameter has its default in limits.py (what the ledger uses until a quorum sets it) and a
safer direction. A change that only moves parameters their safer way takes effect at once with
the guardian quorum; any other change also waits the policy's timelock, during which the halt
quorum may cancel it (CANCEL_PENDING). The values live in one governance record, `limits`,
holding every parameter a quorum has set (docs/design.md#governed-policy-parameters).

The replay retention (`dedup_retention_ms`) stays in the signer set's policy (SET_SIGNERS):
raising it while records are being pruned could accept again a batch whose record is gone.
"""

from __future__ import annotations

from . import limits
from .state import LIMITS_KEY, LedgerState
from .validation import is_int64

# name -> +1: a higher value is safer (takes effect at once), -1: a lower value is safer.
GOVERNED: dict[str, int] = {
    "withdrawal_account_max_per_window": -1,
    "withdrawal_global_max_per_window": -1,
    "withdrawal_gate_after_negative_ms": +1,
    "insurance_fund_floor": +1,
    "margin_raise_step_max_bps": -1,
    "margin_raise_step_floor_bps": -1,
    "margin_raise_grace_ms": +1,
    "custody_quorum_threshold": -1,
    "custody_quorum": +1,
}
DEFAULTS: dict[str, int] = {name: getattr(limits, name) for name in GOVERNED}
# Parameters that must be at least 1: a custody quorum of no one is no quorum.
_POSITIVE = ("custody_quorum",)


def governed(state: LedgerState, name: str) -> int:
    """The parameter's value: set by a quorum, else its default."""
    record = state.governance.get(LIMITS_KEY)
    if record is not None:
        value = record.get(name)
        if value is not None:
            return value
    return DEFAULTS[name]


def policy_params_problem(params: object, custodians: int) -> str | None:
    """Why these values cannot be set, or None. `custodians`: the custodian keys installed."""
    if not isinstance(params, dict) or not params:
        return "params must be a non-empty object"
    unknown = [name for name in sorted(params) if name not in GOVERNED]
    if unknown:
        return f"not governed: {', '.join(unknown)} (governed: {', '.join(sorted(GOVERNED))})"
    if not all(type(v) is int and is_int64(v) and v >= 0 for v in params.values()):
        return "policy parameter values must be non-negative int64"
    for name in _POSITIVE:
        if name in params and params[name] < 1:
            return f"{name} must be at least 1"
    if params.get("custody_quorum", 1) > custodians:
        return f"custody_quorum {params['custody_quorum']} exceeds the {custodians} custodian keys installed"
    return None


def all_safer(state: LedgerState, params: dict) -> bool:
    """True when every value moves its parameter the safer way (or leaves it)."""
    for name, value in sorted(params.items()):
        current = governed(state, name)
        if value != current and (value > current) != (GOVERNED[name] > 0):
            return False
    return True


def set_policy_params(state: LedgerState, params: dict) -> None:
    record = dict(state.governance.get(LIMITS_KEY) or {})
    record.update(params)
    state.put_governance(LIMITS_KEY, {name: record[name] for name in sorted(record)})
