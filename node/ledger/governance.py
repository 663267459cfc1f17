"""The replicated signer set and the quorum rules every signed governance statement obeys.

The signer set holds Ed25519 public keys with one role each: NODE keys belong to the cluster's
nodes (they vote checkpoints and may co-sign a halt), GUARDIAN keys to people who approve
emergency actions, and the submitter roles (settler, custodian, oracle, operator) sign the
batches they submit (signed_batches.py says which command kinds each may submit); auditors and
account-scoped readers only read (a reader entry lists its accounts). The policy beside it holds
the cluster id every statement binds, the thresholds per action class, the checkpoint schedule
and how far the leader's clock may run ahead of the submitters' (ledger_clock.py):

- halt class (HALT_MARKET, GLOBAL_HALT, CANCEL_PENDING): node or guardian signatures, at least
  `halt_threshold` distinct valid ones. Stopping is safe, so the bar is low; it is all node keys
  may do (docs/design.md#bounded-governance).
- resume class (every other action: SET_MARKET_PARAMS, SET_POLICY_PARAMS, RESUME_MARKET,
  GLOBAL_RESUME, EMERGENCY_SETTLE, WITHDRAW_FEES, SET_SIGNERS, the backstop registrations):
  guardian signatures only, at least `resume_threshold`. Loosening also waits `timelock_ms` of
  ledger time, during which a halt or CANCEL_PENDING cancels it.
- custody class (CUSTODY_WITHDRAW): custodian signatures only, at least the governed
  `custody_quorum` (policy_params.py).
- checkpoint votes: node keys, `checkpoint_threshold` matching votes certify.

Records live in one table as canonical JSON (rare and small): `policy`, `signer/<key id>`,
`nonce/<n>` (used action nonces), `pending/<n>` (timelocked changes; `pending/<n>/<step>` a
tightening's phase-in or revert), `limits` (governed policy parameters), `vote/<key id>` (each
node's latest checkpoint vote) and `certificate` (the latest certified checkpoint).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from .commands import Signature
from .limits import (
    account_id_bytes_max,
    cluster_id_bytes_max,
    dedup_retention_ms_min,
    reader_accounts_max,
    signature_bytes_max,
    signers_max,
    source_id_bytes_max,
)
from .results import ResultCode
from .signatures import SignatureVerifier, ed25519_public_key_bytes
from .state import POLICY_KEY, SIGNER_PREFIX, LedgerState
from .validation import is_valid_id

ROLE_NODE = "node"
ROLE_GUARDIAN = "guardian"
ROLE_SETTLER = "settler"
ROLE_CUSTODIAN = "custodian"
ROLE_ORACLE = "oracle"
ROLE_OPERATOR = "operator"
ROLE_AUDITOR = "auditor"
ROLE_READER = "reader"
ROLES = (ROLE_NODE, ROLE_GUARDIAN, ROLE_SETTLER, ROLE_CUSTODIAN, ROLE_ORACLE, ROLE_OPERATOR, ROLE_AUDITOR, ROLE_READER)

POLICY_FIELDS = (
    "halt_threshold", "resume_threshold", "checkpoint_threshold", "timelock_ms",
    "checkpoint_every_entries", "checkpoint_every_ms", "clock_lead_max_ms", "dedup_retention_ms",
)

VOTE_DOMAIN = b"settlement.v1/checkpoint\x00"
_VOTE_NUMBERS = struct.Struct(">q32s")


def policy(state: LedgerState) -> dict | None:
    return state.governance.get(POLICY_KEY)


def signer(state: LedgerState, key_id: str) -> dict | None:
    return state.governance.get(SIGNER_PREFIX + key_id)


def signer_ids(state: LedgerState) -> list[str]:
    return sorted(k[len(SIGNER_PREFIX):] for k in state.governance if k.startswith(SIGNER_PREFIX))


def checkpoint_vote_bytes(cluster: str, key_id: str, index: int, state_hash: bytes) -> bytes:
    """What a node signs to vote a checkpoint: domain, cluster, its key id, index and hash."""
    c, k = cluster.encode(), key_id.encode()
    return b"".join((VOTE_DOMAIN, bytes([len(c)]), c, bytes([len(k)]), k, _VOTE_NUMBERS.pack(index, state_hash)))


def signer_set_problem(cluster: object, signers: object, rules: object) -> str | None:
    """Why a proposed signer set and policy cannot be installed, or None."""
    if not is_valid_id(cluster, cluster_id_bytes_max):
        return "cluster must be 1-64 bytes of [A-Za-z0-9._:-]"
    if not isinstance(signers, list) or not 0 < len(signers) <= signers_max:
        return f"signers must be a list of 1-{signers_max}"
    ids, keys, roles = [], [], []
    for entry in signers:
        fields = ["accounts", "key_id", "public_key", "role"] if isinstance(entry, dict) and entry.get("role") == ROLE_READER \
            else ["key_id", "public_key", "role"]
        if not isinstance(entry, dict) or sorted(entry) != fields:
            return "each signer is {key_id, public_key, role}, and a reader also lists its accounts"
        if not is_valid_id(entry["key_id"], source_id_bytes_max):
            return "signer key ids must be 1-64 bytes of [A-Za-z0-9._:-]"
        if entry["role"] not in ROLES:
            return f"a signer's role is one of {', '.join(ROLES)}"
        if entry["role"] == ROLE_READER and not _is_account_list(entry["accounts"]):
            return f"a reader's accounts are 1-{reader_accounts_max} distinct account ids in order"
        key = entry["public_key"]
        if not isinstance(key, str) or len(key) != 2 * ed25519_public_key_bytes or not _is_lower_hex(key):
            return "public_key must be 64 lowercase hex digits"
        ids.append(entry["key_id"])
        keys.append(key)
        roles.append(entry["role"])
    if len(dict.fromkeys(ids)) != len(ids) or len(dict.fromkeys(keys)) != len(keys):
        return "signer key ids and public keys must be distinct"
    if ids != sorted(ids):
        return "signers must be listed in key id order"
    if not isinstance(rules, dict) or sorted(rules) != sorted(POLICY_FIELDS):
        return f"policy needs exactly: {', '.join(POLICY_FIELDS)}"
    if not all(type(rules[f]) is int and 0 <= rules[f] < 2**63 for f in POLICY_FIELDS):
        return "policy values must be non-negative int64"
    nodes, guardians = roles.count(ROLE_NODE), roles.count(ROLE_GUARDIAN)
    if not 1 <= rules["halt_threshold"] <= nodes + guardians:
        return "halt_threshold must be within 1..number of signers"
    if not rules["halt_threshold"] <= rules["resume_threshold"] <= guardians:
        return "resume_threshold must be within halt_threshold..number of guardians"
    if not nodes // 2 < rules["checkpoint_threshold"] <= nodes:
        return "checkpoint_threshold must be a majority of the node keys"
    if rules["checkpoint_every_entries"] < 1 or rules["checkpoint_every_ms"] < 1:
        return "the checkpoint schedule needs positive intervals"
    if rules["clock_lead_max_ms"] < 1:
        return "clock_lead_max_ms must be positive"
    if rules["dedup_retention_ms"] < dedup_retention_ms_min:
        return f"dedup_retention_ms must be at least {dedup_retention_ms_min}"
    return None


def _is_lower_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _is_account_list(accounts: object) -> bool:
    return isinstance(accounts, list) and 0 < len(accounts) <= reader_accounts_max \
        and all(is_valid_id(a, account_id_bytes_max) for a in accounts) \
        and accounts == sorted(accounts) and len(dict.fromkeys(accounts)) == len(accounts)


def count_quorum(
    state: LedgerState, message: bytes, signatures: Sequence[Signature], roles: tuple[str, ...],
    threshold: int, verify: SignatureVerifier,
) -> tuple[ResultCode, str] | None:
    """Check every signature; None when at least `threshold` distinct listed signers of the
    allowed roles signed `message` validly. Any unknown key, wrong role or bad signature refuses
    the whole statement: a signer list with junk in it is not an approval."""
    valid: dict[str, None] = {}
    for s in signatures:
        if not is_valid_id(s.key_id, source_id_bytes_max):
            return ResultCode.UNKNOWN_SIGNER, "a signature's key id is malformed"
        entry = signer(state, s.key_id)
        if entry is None:
            return ResultCode.UNKNOWN_SIGNER, f"{s.key_id} is not in the signer set"
        if entry["role"] not in roles:
            return ResultCode.WRONG_ROLE, f"{s.key_id} is a {entry['role']} key; this needs {' or '.join(roles)} signatures"
        if not isinstance(s.signature, bytes) or len(s.signature) > signature_bytes_max \
                or not verify(bytes.fromhex(entry["public_key"]), message, s.signature):
            return ResultCode.INVALID_SIGNATURE, f"{s.key_id}'s signature does not verify"
        valid[s.key_id] = None
    if len(valid) < threshold:
        return ResultCode.BELOW_THRESHOLD, f"{len(valid)} distinct valid signers, {threshold} needed"
    return None
