"""The canonical bytes of an emergency action: what every signer signs, and what the ledger reads.

The bytes are canonical JSON (sorted keys, no spaces, ASCII, integers only), so a proposal file
shows a person exactly what they sign, and there is exactly one encoding of each action: the
ledger re-encodes what it parsed and refuses bytes that differ. Every action binds the domain,
the cluster id, its kind, a single-use nonce, a short `not_after_ms` and the checkpoint epoch.

    {"cluster": "c1", "domain": "settlement.v1/action", "epoch": 3, "kind": "HALT_MARKET",
     "market": "BTC-PERP", "nonce": 17, "not_after_ms": 1795510800000}
"""

from __future__ import annotations

import json

from .commands import ActionKind
from .limits import action_bytes_max
from .records import canonical_json
from .validation import is_int64

ACTION_DOMAIN = "settlement.v1/action"
_COMMON = ("cluster", "domain", "epoch", "kind", "nonce", "not_after_ms")
# The fields each kind carries besides the common ones.
KIND_FIELDS: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.HALT_MARKET: ("market",),
    ActionKind.RESUME_MARKET: ("market",),
    ActionKind.GLOBAL_HALT: (),
    ActionKind.GLOBAL_RESUME: (),
    ActionKind.SET_MARKET_PARAMS: ("market", "params"),
    ActionKind.EMERGENCY_SETTLE: ("market", "price"),
    ActionKind.SET_SIGNERS: ("policy", "signers"),
    ActionKind.REGISTER_BACKSTOP: ("account", "discount_bps", "market", "position_max"),  # backstop.py
    ActionKind.UNREGISTER_BACKSTOP: ("account", "market"),
    ActionKind.WITHDRAW_FEES: ("amount",),  # quote minor units out of the fee account (fees.py)
    ActionKind.CANCEL_PENDING: ("pending_nonce",),  # the nonce of the timelocked change to cancel
    ActionKind.SET_POLICY_PARAMS: ("params",),  # policy_params.py
    ActionKind.CUSTODY_WITHDRAW: ("account", "amount"),  # quote minor units out of a client account
}
# Fields a kind may carry besides those: a temporary tightening states how long it lasts.
OPTIONAL_FIELDS: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.SET_MARKET_PARAMS: ("revert_after_ms",),
}


def action_bytes(payload: dict) -> bytes:
    return canonical_json(payload)


def parse_action(data: bytes) -> tuple[dict | None, str | None]:
    """(payload, None) for well-formed canonical bytes, else (None, what is wrong)."""
    if not isinstance(data, bytes) or not 0 < len(data) <= action_bytes_max:
        return None, f"canonical_bytes must be 1-{action_bytes_max} bytes"
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        return None, "canonical_bytes are not JSON"
    if not isinstance(payload, dict):
        return None, "canonical_bytes must be a JSON object"
    try:
        canonical = canonical_json(payload)
    except ValueError:
        return None, "canonical_bytes hold a value JSON cannot repeat exactly"
    if canonical != data:
        return None, "canonical_bytes are not in canonical form (sorted keys, no spaces, ASCII)"
    kind = ActionKind.__members__.get(payload.get("kind")) if isinstance(payload.get("kind"), str) else None
    if kind is None:
        return None, "kind must name an action"
    optional = tuple(f for f in OPTIONAL_FIELDS.get(kind, ()) if f in payload)
    if sorted(payload) != sorted(_COMMON + KIND_FIELDS[kind] + optional):
        return None, f"a {kind.name} carries exactly: {', '.join(sorted(_COMMON + KIND_FIELDS[kind]))}" + (
            f" (and may carry {', '.join(OPTIONAL_FIELDS[kind])})" if kind in OPTIONAL_FIELDS else "")
    if payload["domain"] != ACTION_DOMAIN:
        return None, f"domain must be {ACTION_DOMAIN}"
    numbers = ("epoch", "nonce", "not_after_ms") + tuple(f for f in ("price", "pending_nonce", "revert_after_ms") if f in payload)
    if not all(is_int64(payload[f]) for f in numbers):
        return None, f"{', '.join(numbers)} must be int64"
    if payload["nonce"] < 0 or payload["epoch"] < 0:
        return None, "nonce and epoch must not be negative"
    if "params" in payload and not (isinstance(payload["params"], dict) and payload["params"]):
        return None, "params must be a non-empty object"
    return payload, None
