"""Checkpoints: nodes vote (index, state hash); a quorum of matching votes certifies it.

The schedule is the ledger's, so every replica asks for a vote at the same index: an entry is
due (event CheckpointDue) when `checkpoint_every_entries` entries or `checkpoint_every_ms` of
ledger time have passed since the last due one. Each node then signs
`governance.checkpoint_vote_bytes` over the state hash after that entry and submits a
CheckpointVote through the log. The ledger keeps each node's latest vote (so a vote is bounded:
one per node key), and when `checkpoint_threshold` votes agree on (index, hash) the checkpoint is
certified: stored with its signatures, announced (CheckpointCertified), and the checkpoint epoch
that emergency actions bind moves on. The ledger never compares a vote with its own hash (a
diverged replica must apply the same log as everyone); the node shell compares the certificate
with the hash it computed itself, and fences itself on a mismatch.
"""

from __future__ import annotations

from .commands import CheckpointVote
from .events import CheckpointCertified, CheckpointDue, Event
from .governance import ROLE_NODE, checkpoint_vote_bytes, policy, signer
from .limits import signature_bytes_max, source_id_bytes_max
from .results import Result, ResultCode
from .signatures import SignatureVerifier
from .state import (
    CERTIFICATE_KEY,
    META_CHECKPOINT_DUE_INDEX,
    META_CHECKPOINT_DUE_MS,
    META_CHECKPOINT_EPOCH,
    VOTE_PREFIX,
    LedgerState,
)
from .validation import is_positive_int64, is_valid_id

state_hash_bytes = 32


def certified(state: LedgerState) -> dict | None:
    """The latest certificate: {"index", "hash" (hex), "epoch", "signatures": [[key id, hex]]}."""
    return state.governance.get(CERTIFICATE_KEY)


def checkpoint_vote(state: LedgerState, cmd: CheckpointVote, events: list[Event], verify: SignatureVerifier) -> Result:
    if not is_valid_id(cmd.node, source_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "node id must be 1-64 bytes of [A-Za-z0-9._:-]")
    if not is_positive_int64(cmd.index) or cmd.index > state.applied_index:
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "index must be an applied index")
    if not isinstance(cmd.state_hash, bytes) or len(cmd.state_hash) != state_hash_bytes:
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "state_hash must be 32 bytes")
    if not isinstance(cmd.signature, bytes) or not 0 < len(cmd.signature) <= signature_bytes_max:
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "signature missing or too long")
    rules = policy(state)
    if rules is None:
        return Result(cmd.id, ResultCode.NO_SIGNER_SET, "no signer set is installed; checkpoints cannot be certified")
    entry = signer(state, cmd.node)
    if entry is None:
        return Result(cmd.id, ResultCode.UNKNOWN_SIGNER, f"{cmd.node} is not in the signer set")
    if entry["role"] != ROLE_NODE:
        return Result(cmd.id, ResultCode.WRONG_ROLE, f"{cmd.node} is a {entry['role']} key; only node keys vote checkpoints")
    latest = certified(state)
    if latest is not None and cmd.index <= latest["index"]:
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, f"index {cmd.index} is at or below the certified {latest['index']}")
    message = checkpoint_vote_bytes(rules["cluster"], cmd.node, cmd.index, cmd.state_hash)
    if not verify(bytes.fromhex(entry["public_key"]), message, cmd.signature):
        return Result(cmd.id, ResultCode.INVALID_SIGNATURE, f"{cmd.node}'s vote signature does not verify")
    vote = {"index": cmd.index, "hash": cmd.state_hash.hex(), "signature": cmd.signature.hex()}
    state.put_governance(VOTE_PREFIX + cmd.node, vote)
    _certify_if_agreed(state, cmd.index, vote["hash"], rules["checkpoint_threshold"], events)
    return Result(cmd.id, ResultCode.OK)


def _certify_if_agreed(state: LedgerState, index: int, hash_hex: str, threshold: int, events: list[Event]) -> None:
    votes = sorted((k[len(VOTE_PREFIX):], v) for k, v in state.governance.items() if k.startswith(VOTE_PREFIX))
    agreeing = [(node, v["signature"]) for node, v in votes if v["index"] == index and v["hash"] == hash_hex]
    if len(agreeing) < threshold:
        return
    epoch = state.meta[META_CHECKPOINT_EPOCH] + 1
    state.put_meta(META_CHECKPOINT_EPOCH, epoch)
    state.put_governance(CERTIFICATE_KEY, {
        "index": index, "hash": hash_hex, "epoch": epoch, "signatures": [[node, sig] for node, sig in agreeing],
    })
    for node, v in votes:
        if v["index"] <= index:
            state.put_governance(VOTE_PREFIX + node, None)
    events.append(CheckpointCertified(index, bytes.fromhex(hash_hex), epoch, tuple(node for node, _ in agreeing)))


def mark_checkpoint_due(state: LedgerState, index: int, events: list[Event]) -> None:
    """At the end of an entry: is this one nodes should vote on? (Cheap: two comparisons.)"""
    rules = policy(state)
    if rules is None:
        return
    if index - state.meta[META_CHECKPOINT_DUE_INDEX] >= rules["checkpoint_every_entries"] \
            or state.ledger_time_ms - state.meta[META_CHECKPOINT_DUE_MS] >= rules["checkpoint_every_ms"]:
        state.put_meta(META_CHECKPOINT_DUE_INDEX, index)
        state.put_meta(META_CHECKPOINT_DUE_MS, state.ledger_time_ms)
        events.append(CheckpointDue(index))
