"""EmergencyAction: a discretionary action, valid only with a quorum of signatures.

Every replica checks, in this order, and answers the first failure with its own code (the
action then changes nothing, its nonce included): the command's shape (INVALID_ACTION); the
canonical bytes (INVALID_ACTION: not canonical JSON, fields differing from the command's, another
cluster); a signer set (NO_SIGNER_SET); the nonce (NONCE_REUSED); the time (ACTION_EXPIRED: past
not_after, or valid longer than `action_lifetime_max_ms`); the checkpoint epoch (STALE_EPOCH:
not the current one or one of the `epoch_grace` before it, so an approval cannot be pre-signed
and held); then the signatures (UNKNOWN_SIGNER, WRONG_ROLE, INVALID_SIGNATURE, BELOW_THRESHOLD)
against the action's class (governance.py); and last whether it can apply (INVALID_ACTION,
UNKNOWN_MARKET, NOT_CANCELLABLE, and a CUSTODY_WITHDRAW's withdrawal codes). A tightening applies
at once; a loosening one waits the timelock.

Bounded governance (docs/design.md#bounded-governance): node keys count only towards the halt
class (HALT_MARKET, GLOBAL_HALT, CANCEL_PENDING); every change of parameters needs guardians, and
a raise of a margin or a fee beyond its step is refused (RAISE_STEP_TOO_LARGE) once the quorum
is there. A CUSTODY_WITHDRAW counts custodian keys only, `custody_quorum` of them.

The very first SET_SIGNERS (the genesis signer set) is accepted only when every key it lists
signed it: it proves the keys exist and agree. Who may submit it is access control's business;
nodes refuse to serve if the installed set differs from the one in their configuration.
"""

from __future__ import annotations

from .action_payload import parse_action
from .backstop import BACKSTOP_KINDS, backstop_problem
from .commands import ActionKind, EmergencyAction
from .events import Event
from .collateral import withdrawal_refusal
from .governance import ROLE_CUSTODIAN, ROLE_GUARDIAN, ROLE_NODE, count_quorum, policy, signer, signer_ids, signer_set_problem
from .interventions import cancellable, refusal, schedule, take_effect
from .limits import (
    account_id_bytes_max,
    action_lifetime_max_ms,
    epoch_grace,
    market_id_bytes_max,
    revert_after_ms_max,
    signature_bytes_max,
    signatures_per_action_max,
)
from .market_params import all_tighten, params_problem, raise_step_problem
from .policy_params import all_safer, governed, policy_params_problem
from .results import Result, ResultCode
from .signatures import SignatureVerifier
from .tightening import phase_in_targets
from .state import META_CHECKPOINT_EPOCH, META_NEWEST_SIGNED_MS, NONCE_PREFIX, LedgerState
from .validation import is_client_account_id, is_int64, is_positive_int64, is_valid_id

_MARKET_ACTIONS = (
    ActionKind.HALT_MARKET, ActionKind.RESUME_MARKET, ActionKind.SET_MARKET_PARAMS, ActionKind.EMERGENCY_SETTLE,
    ActionKind.REGISTER_BACKSTOP, ActionKind.UNREGISTER_BACKSTOP,
)
# Halting, or cancelling a timelocked change, only stops something: the low bar, and the only
# actions node keys count towards.
HALT_CLASS = (ActionKind.HALT_MARKET, ActionKind.GLOBAL_HALT, ActionKind.CANCEL_PENDING)
# Changes that wait the timelock unless every value moves the safer way.
_TIMELOCKED_WHEN_LOOSENING = (ActionKind.SET_MARKET_PARAMS, ActionKind.SET_SIGNERS, ActionKind.SET_POLICY_PARAMS)


def _action_problem(cmd: EmergencyAction) -> str | None:
    if cmd.kind not in ActionKind.__members__.values():
        return "unknown action kind"
    if not cmd.canonical_bytes:
        return "canonical_bytes are empty"
    if not (is_int64(cmd.nonce) and is_int64(cmd.not_after_ms) and is_int64(cmd.price)):
        return "nonce, not_after_ms and price must be int64"
    if not 0 < len(cmd.signatures) <= signatures_per_action_max:
        return f"need 1..{signatures_per_action_max} signatures"
    if any(not isinstance(s.signature, bytes) or len(s.signature) > signature_bytes_max for s in cmd.signatures):
        return "signature too long"
    if cmd.kind in _MARKET_ACTIONS and not is_valid_id(cmd.market, market_id_bytes_max):
        return "market id must be 1-32 bytes of [A-Za-z0-9._:-]"
    return None


def _mismatch(cmd: EmergencyAction, payload: dict) -> str | None:
    expected = (cmd.kind.name, cmd.nonce, cmd.not_after_ms, cmd.market, cmd.price)
    signed = (payload["kind"], payload["nonce"], payload["not_after_ms"], payload.get("market", ""), payload.get("price", 0))
    return None if expected == signed else "the command's fields differ from the signed canonical bytes"


def nonce_key(nonce: int) -> str:
    return f"{NONCE_PREFIX}{nonce:020d}"


def emergency_action(state: LedgerState, cmd: EmergencyAction, events: list[Event], verify: SignatureVerifier) -> Result:
    problem = _action_problem(cmd)
    if problem:
        return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    payload, problem = parse_action(cmd.canonical_bytes)
    if problem:
        return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    problem = _mismatch(cmd, payload)
    if problem:
        return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    rules = policy(state)
    if rules is None:
        if cmd.kind != ActionKind.SET_SIGNERS:
            return Result(cmd.id, ResultCode.NO_SIGNER_SET, "no signer set is installed; no quorum can be reached")
        return _install_genesis(state, cmd, payload, events, verify)
    if payload["cluster"] != rules["cluster"]:
        return Result(cmd.id, ResultCode.INVALID_ACTION, f"signed for cluster {payload['cluster']!r}, this is {rules['cluster']!r}")
    if nonce_key(cmd.nonce) in state.governance:
        return Result(cmd.id, ResultCode.NONCE_REUSED, f"nonce {cmd.nonce} was used")
    now = state.ledger_time_ms
    if now > cmd.not_after_ms:
        return Result(cmd.id, ResultCode.ACTION_EXPIRED, f"expired at {cmd.not_after_ms}, ledger time is {now}")
    if cmd.not_after_ms - now > action_lifetime_max_ms:
        return Result(cmd.id, ResultCode.ACTION_EXPIRED, f"an approval may be valid for {action_lifetime_max_ms} ms at most")
    epoch = state.meta[META_CHECKPOINT_EPOCH]
    if not epoch - epoch_grace <= payload["epoch"] <= epoch:
        return Result(cmd.id, ResultCode.STALE_EPOCH, f"signed for epoch {payload['epoch']}, the current epoch is {epoch}")
    if cmd.kind in _MARKET_ACTIONS and cmd.market not in state.markets:
        return Result(cmd.id, ResultCode.UNKNOWN_MARKET, f"no market {cmd.market}")
    loosening = cmd.kind in _TIMELOCKED_WHEN_LOOSENING
    if cmd.kind == ActionKind.SET_MARKET_PARAMS:
        pending = phase_in_targets(state, cmd.market)
        problem = params_problem(state, cmd.market, payload["params"], pending) or _revert_problem(payload)
        if problem:
            return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
        loosening = not all_tighten(state, cmd.market, payload["params"])
        if loosening and "revert_after_ms" in payload:
            return Result(cmd.id, ResultCode.INVALID_ACTION, "only a tightening can be temporary (revert_after_ms)")
    if cmd.kind == ActionKind.SET_POLICY_PARAMS:
        custodians = sum(1 for key_id in signer_ids(state) if signer(state, key_id)["role"] == ROLE_CUSTODIAN)
        problem = policy_params_problem(payload["params"], custodians)
        if problem:
            return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
        loosening = not all_safer(state, payload["params"])
    if cmd.kind == ActionKind.CUSTODY_WITHDRAW:
        problem = _custody_problem(payload)
        if problem:
            return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    if cmd.kind == ActionKind.CANCEL_PENDING and not (is_int64(payload["pending_nonce"]) and payload["pending_nonce"] >= 0):
        return Result(cmd.id, ResultCode.INVALID_ACTION, "pending_nonce must be a non-negative int64")
    if cmd.kind in BACKSTOP_KINDS:
        problem = backstop_problem(payload)
        if problem:
            return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    if cmd.kind == ActionKind.SET_SIGNERS:
        problem = signer_set_problem(payload["cluster"], payload["signers"], payload["policy"])
        if problem:
            return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    roles, threshold = _quorum(state, cmd.kind, rules)
    failed = count_quorum(state, cmd.canonical_bytes, cmd.signatures, roles, threshold, verify)
    if failed:
        return Result(cmd.id, failed[0], failed[1])
    problem = refusal(state, payload)
    if problem:
        return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    problem = raise_step_problem(state, cmd.market, payload["params"]) if cmd.kind == ActionKind.SET_MARKET_PARAMS else None
    if problem:
        return Result(cmd.id, ResultCode.RAISE_STEP_TOO_LARGE, problem)
    if cmd.kind == ActionKind.CANCEL_PENDING and not cancellable(state, payload["pending_nonce"]):
        return Result(cmd.id, ResultCode.NOT_CANCELLABLE, f"no timelocked change is pending under nonce {payload['pending_nonce']}")
    collateral = 0
    if cmd.kind == ActionKind.CUSTODY_WITHDRAW:
        refused = withdrawal_refusal(state, payload["account"], payload["amount"])
        if refused is not None:
            return Result(cmd.id, *refused)
        collateral = state.accounts[payload["account"]].collateral - payload["amount"]
    state.put_governance(nonce_key(cmd.nonce), {"kind": payload["kind"], "applied_ms": now})
    timelocked = cmd.kind in _TIMELOCKED_WHEN_LOOSENING and loosening and rules["timelock_ms"]
    if timelocked:
        schedule(state, payload, now + rules["timelock_ms"], events)
    else:
        take_effect(state, payload, events)
    return Result(cmd.id, ResultCode.OK, collateral=collateral)


def _quorum(state: LedgerState, kind: ActionKind, rules: dict) -> tuple[tuple[str, ...], int]:
    """Whose signatures count for this kind of action, and how many distinct ones it needs."""
    if kind in HALT_CLASS:
        return (ROLE_NODE, ROLE_GUARDIAN), rules["halt_threshold"]
    if kind == ActionKind.CUSTODY_WITHDRAW:
        return (ROLE_CUSTODIAN,), governed(state, "custody_quorum")
    return (ROLE_GUARDIAN,), rules["resume_threshold"]


def _revert_problem(payload: dict) -> str | None:
    if "revert_after_ms" in payload and not 0 < payload["revert_after_ms"] <= revert_after_ms_max:
        return f"revert_after_ms must be within 1..{revert_after_ms_max}"
    return None


def _custody_problem(payload: dict) -> str | None:
    if not is_client_account_id(payload["account"], account_id_bytes_max):
        return "account id must be 1-64 bytes of [A-Za-z0-9._:-], not sys:"
    if not is_positive_int64(payload["amount"]):
        return "amount must be a positive int64"
    return None


def _install_genesis(state: LedgerState, cmd: EmergencyAction, payload: dict, events: list[Event], verify: SignatureVerifier) -> Result:
    problem = signer_set_problem(payload["cluster"], payload["signers"], payload["policy"])
    if problem:
        return Result(cmd.id, ResultCode.INVALID_ACTION, problem)
    listed = {entry["key_id"]: bytes.fromhex(entry["public_key"]) for entry in payload["signers"]}
    signed: dict[str, None] = {}
    for s in cmd.signatures:
        key = listed.get(s.key_id)
        if key is None:
            return Result(cmd.id, ResultCode.UNKNOWN_SIGNER, f"{s.key_id} is not in the proposed signer set")
        if not verify(key, cmd.canonical_bytes, s.signature):
            return Result(cmd.id, ResultCode.INVALID_SIGNATURE, f"{s.key_id}'s signature does not verify")
        signed[s.key_id] = None
    if len(signed) != len(listed):
        return Result(cmd.id, ResultCode.BELOW_THRESHOLD, f"the genesis signer set needs every listed key's signature ({len(signed)} of {len(listed)})")
    state.put_governance(nonce_key(cmd.nonce), {"kind": payload["kind"], "applied_ms": state.ledger_time_ms})
    take_effect(state, payload, events)
    # From here the leader's clock is bounded by submitters' signed clocks (ledger_clock.py),
    # starting from the genesis time.
    state.put_meta(META_NEWEST_SIGNED_MS, max(state.meta[META_NEWEST_SIGNED_MS], state.ledger_time_ms))
    return Result(cmd.id, ResultCode.OK)

