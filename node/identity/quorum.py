"""Building and signing quorum statements outside the ledger: emergency actions (proposals that
several key holders sign, offline, one by one) and checkpoint votes. Used by the CLI, the nodes,
the local cluster launcher and the tests; the ledger only verifies (node/ledger/governance.py)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.identity.keys import raw_public_key
from node.ledger.action_payload import ACTION_DOMAIN, action_bytes
from node.ledger.commands import ActionKind, CheckpointVote, EmergencyAction, Signature
from node.ledger.governance import checkpoint_vote_bytes


def action_payload(
    cluster: str, kind: ActionKind, nonce: int, not_after_ms: int, epoch: int, *, market: str | None = None,
    price: int | None = None, params: dict | None = None, signers: list[dict] | None = None, policy: dict | None = None,
    account: str | None = None, discount_bps: int | None = None, position_max: int | None = None,
    amount: int | None = None, pending_nonce: int | None = None, revert_after_ms: int | None = None,
) -> dict:
    """The JSON object every signer signs (its canonical bytes: ledger.action_payload)."""
    payload: dict = {
        "cluster": cluster, "domain": ACTION_DOMAIN, "epoch": epoch, "kind": kind.name,
        "nonce": nonce, "not_after_ms": not_after_ms,
    }
    for name, value in (("market", market), ("price", price), ("params", params), ("signers", signers), ("policy", policy),
                        ("account", account), ("discount_bps", discount_bps), ("position_max", position_max),
                        ("amount", amount), ("pending_nonce", pending_nonce), ("revert_after_ms", revert_after_ms)):
        if value is not None:
            payload[name] = value
    return payload


def signer_entry(key_id: str, role: str, public_key: bytes) -> dict:
    return {"key_id": key_id, "public_key": public_key.hex(), "role": role}


def signer_entry_for(key_id: str, role: str, key: Ed25519PrivateKey) -> dict:
    return signer_entry(key_id, role, raw_public_key(key))


def sign_action(payload: dict, key: Ed25519PrivateKey) -> bytes:
    return key.sign(action_bytes(payload))


def emergency_action(command_id: str, payload: dict, signatures: list[tuple[str, bytes]]) -> EmergencyAction:
    """The command carrying a payload and its signatures, with the fields the ledger cross-checks."""
    return EmergencyAction(
        id=command_id, kind=ActionKind[payload["kind"]], canonical_bytes=action_bytes(payload),
        nonce=payload["nonce"], not_after_ms=payload["not_after_ms"],
        signatures=tuple(Signature(key_id, sig) for key_id, sig in sorted(signatures)),
        market=payload.get("market", ""), price=payload.get("price", 0),
    )


def signed_action(command_id: str, payload: dict, keys: dict[str, Ed25519PrivateKey]) -> EmergencyAction:
    return emergency_action(command_id, payload, [(key_id, sign_action(payload, key)) for key_id, key in keys.items()])


def checkpoint_vote(command_id: str, cluster: str, key_id: str, key: Ed25519PrivateKey, index: int, state_hash: bytes) -> CheckpointVote:
    signature = key.sign(checkpoint_vote_bytes(cluster, key_id, index, state_hash))
    return CheckpointVote(command_id, key_id, index, state_hash, signature)
