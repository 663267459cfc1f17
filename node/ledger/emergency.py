"""EmergencyAction: discretionary actions that need a quorum of signatures.

The replicated signer set and signature verification arrive with the quorum issue. Until a
signer set is installed no action can gather a quorum, so every well-formed action is refused
with NO_SIGNER_SET and changes nothing: a single caller can neither halt nor resume anything.
"""

from __future__ import annotations

from .commands import ActionKind, EmergencyAction
from .limits import market_id_bytes_max, signature_bytes_max, signatures_per_action_max
from .results import Result, ResultCode
from .state import LedgerState
from .validation import is_int64, is_valid_id

_MARKET_ACTIONS = (ActionKind.HALT_MARKET, ActionKind.RESUME_MARKET, ActionKind.SET_MARKET_PARAMS, ActionKind.EMERGENCY_SETTLE)


def _action_problem(cmd: EmergencyAction) -> str | None:
    if cmd.kind not in ActionKind.__members__.values():
        return "unknown action kind"
    if not cmd.canonical_bytes:
        return "canonical_bytes are empty"
    if not (is_int64(cmd.nonce) and is_int64(cmd.not_after_ms) and is_int64(cmd.price)):
        return "nonce, not_after_ms and price must be int64"
    if not 0 < len(cmd.signatures) <= signatures_per_action_max:
        return f"need 1..{signatures_per_action_max} signatures"
    if any(len(s.signature) > signature_bytes_max for s in cmd.signatures):
        return "signature too long"
    if cmd.kind in _MARKET_ACTIONS and not is_valid_id(cmd.market, market_id_bytes_max):
        return "market id must be 1-32 bytes of [A-Za-z0-9._:-]"
    return None


def emergency_action(state: LedgerState, cmd: EmergencyAction) -> Result:
    problem = _action_problem(cmd)
    if problem:
        return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    return Result(cmd.id, ResultCode.NO_SIGNER_SET, "no signer set is installed; no quorum can be reached")
