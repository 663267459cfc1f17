"""Proposal files: an emergency action on its way from one key holder to the next, offline.

A proposal file is JSON holding the action exactly as every signer signs it and the signatures
gathered so far:

    {"action": {"cluster": "local-1a2b", "domain": "settlement.v1/action", "epoch": 0,
                "kind": "HALT_MARKET", "market": "BTC-PERP", "nonce": 4017...,
                "not_after_ms": 1795510800000},
     "signatures": [{"key_id": "guardian1", "signature": "9f3c...(128 hex digits)"}]}

The signed bytes are the action's canonical JSON (node.ledger.action_payload.action_bytes), so
what a person reads in the file is what their key signs. Reading a file checks everything a
signer can check without the cluster (a well-formed action, well-formed and distinct
signatures); the ledger checks the rest (the signer set, thresholds, nonce, epoch).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.identity.keys import raw_public_key, verify_ed25519
from node.identity.quorum import action_payload, emergency_action, sign_action
from node.ledger.action_payload import KIND_FIELDS, OPTIONAL_FIELDS, action_bytes, parse_action
from node.ledger.commands import ActionKind, EmergencyAction
from node.ledger.limits import action_lifetime_max_ms, signatures_per_action_max, source_id_bytes_max
from node.ledger.signatures import ed25519_signature_bytes
from node.ledger.validation import is_valid_id

proposal_file_bytes_max = 64 * 1024  # an action is at most 16 KiB; its signatures add little
nonce_bits = 63  # the ledger takes any non-negative int64 nonce, used once
ttl_ms_default = 600_000  # 10 minutes: long enough to gather signatures, short enough not to hold
# The kinds a proposal can carry from the command line; SET_SIGNERS is installed by the launcher.
PROPOSABLE = tuple(kind for kind in ActionKind if kind != ActionKind.SET_SIGNERS)

_DURATION = re.compile(r"^([0-9]+)(ms|s|m)$")
_DURATION_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000}


class ProposalError(ValueError):
    """A proposal that cannot be built, read or signed; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Proposal:
    action: dict  # the payload node.identity.quorum.action_payload builds
    signatures: tuple[tuple[str, bytes], ...] = ()  # (key id, Ed25519 signature), in signing order

    @property
    def kind(self) -> ActionKind:
        return ActionKind[self.action["kind"]]

    @property
    def canonical_bytes(self) -> bytes:
        return action_bytes(self.action)

    @property
    def signer_ids(self) -> list[str]:
        return [key_id for key_id, _ in self.signatures]

    def command(self) -> EmergencyAction:
        """The EmergencyAction to submit. Its id names the nonce and the signatures, so submitting
        the same file twice is applied once, and a file with more signatures is a new command."""
        return emergency_action(self.command_id(), self.action, list(self.signatures))

    def command_id(self) -> str:
        digest = hashlib.sha256(b"".join(k.encode() + b"\x00" + s for k, s in sorted(self.signatures))).hexdigest()
        return f"action:{self.action['nonce']}:{digest[:16]}"


def parse_duration_ms(text: str) -> int:
    """'10m', '90s', '500ms' -> milliseconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ProposalError(f"a duration is a whole number with ms, s or m (10m, 90s), not {text!r}")
    return int(match.group(1)) * _DURATION_UNIT_MS[match.group(2)]


def kind_named(text: str) -> ActionKind:
    """HALT_MARKET, halt_market or halt-market."""
    kind = ActionKind.__members__.get(text.strip().upper().replace("-", "_"))
    if kind is None or kind not in PROPOSABLE:
        raise ProposalError(f"unknown action {text!r}; one of {', '.join(k.name for k in PROPOSABLE)}")
    return kind


def new_proposal(
    cluster: str, kind: ActionKind, epoch: int, now_ms: int, *, ttl_ms: int = ttl_ms_default, nonce: int | None = None,
    market: str | None = None, price: int | None = None, params: dict[str, int] | None = None,
    account: str | None = None, discount_bps: int | None = None, position_max: int | None = None,
    amount: int | None = None, pending_nonce: int | None = None, revert_after_ms: int | None = None,
) -> Proposal:
    """An unsigned proposal valid from now (ledger time is the leader's clock, close to ours)
    for ttl_ms, refused here as the ledger would refuse it (fields the kind does not carry, a
    lifetime over 15 minutes)."""
    fields, optional = KIND_FIELDS[kind], OPTIONAL_FIELDS.get(kind, ())
    given = {"market": market, "price": price, "params": params, "account": account, "discount_bps": discount_bps,
             "position_max": position_max, "amount": amount, "pending_nonce": pending_nonce, "revert_after_ms": revert_after_ms}
    for name, value in given.items():
        if name in fields and value is None:
            raise ProposalError(f"a {kind.name} needs --{'param' if name == 'params' else name.replace('_', '-')}")
        if name not in fields and name not in optional and value is not None:
            raise ProposalError(f"a {kind.name} carries no {name}")
    if not 0 < ttl_ms <= action_lifetime_max_ms:
        raise ProposalError(f"--ttl must be within 1 ms..{action_lifetime_max_ms // 60_000} minutes: the ledger refuses longer approvals")
    if nonce is None:
        nonce = secrets.randbits(nonce_bits)
    action = action_payload(cluster, kind, nonce, now_ms + ttl_ms, epoch, market=market, price=price, params=params,
                            account=account, discount_bps=discount_bps, position_max=position_max, amount=amount,
                            pending_nonce=pending_nonce, revert_after_ms=revert_after_ms)
    _check_action(action)
    return Proposal(action)


def _check_action(action: object) -> None:
    if not isinstance(action, dict):
        raise ProposalError("`action` must be a JSON object")
    try:
        encoded = action_bytes(action)
    except (TypeError, ValueError) as error:
        raise ProposalError(f"the action cannot be encoded canonically: {error}") from None
    _, problem = parse_action(encoded)
    if problem:
        raise ProposalError(f"not a valid action: {problem}")


# -- files ----------------------------------------------------------------------------------


def to_json(proposal: Proposal) -> str:
    document = {
        "action": proposal.action,
        "signatures": [{"key_id": key_id, "signature": signature.hex()} for key_id, signature in proposal.signatures],
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def from_json(text: str, where: str = "proposal") -> Proposal:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ProposalError(f"{where} is not JSON: {error}") from None
    if not isinstance(document, dict) or sorted(document) != ["action", "signatures"]:
        raise ProposalError(f"{where} must be a JSON object with exactly `action` and `signatures`")
    try:
        _check_action(document["action"])
    except ProposalError as error:
        raise ProposalError(f"{where}: {error}") from None
    entries = document["signatures"]
    if not isinstance(entries, list) or len(entries) > signatures_per_action_max:
        raise ProposalError(f"{where}: `signatures` must be a list of at most {signatures_per_action_max}")
    signatures: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries):
        signatures.append(_signature(entry, f"{where}: signatures[{position}]"))
    ids = [key_id for key_id, _ in signatures]
    if len(set(ids)) != len(ids):
        raise ProposalError(f"{where}: a key id signed twice")
    return Proposal(document["action"], tuple(signatures))


def _signature(entry: object, where: str) -> tuple[str, bytes]:
    if not isinstance(entry, dict) or sorted(entry) != ["key_id", "signature"]:
        raise ProposalError(f"{where} must be {{key_id, signature}}")
    key_id, text = entry["key_id"], entry["signature"]
    if not is_valid_id(key_id, source_id_bytes_max):
        raise ProposalError(f"{where}: key_id must be 1-{source_id_bytes_max} bytes of [A-Za-z0-9._:-]")
    try:
        signature = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        signature = b""
    if len(signature) != ed25519_signature_bytes:
        raise ProposalError(f"{where}: signature must be {2 * ed25519_signature_bytes} hex digits")
    return key_id, signature


def read_proposal(path: Path) -> Proposal:
    try:
        with open(path, "rb") as f:
            data = f.read(proposal_file_bytes_max + 1)
    except OSError as error:
        raise ProposalError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > proposal_file_bytes_max:
        raise ProposalError(f"{path} is larger than {proposal_file_bytes_max} bytes: not a proposal")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProposalError(f"{path} is not UTF-8 text") from None
    return from_json(text, str(path))


def create_proposal_file(path: Path, proposal: Proposal) -> None:
    """Writes a new file; never overwrites one (it may hold signatures someone gathered)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ProposalError(f"{path} exists; choose another --out (a proposal file may hold signatures)") from None
    except OSError as error:
        raise ProposalError(f"cannot create {path}: {error.strerror or error}") from None
    with os.fdopen(fd, "w") as f:
        f.write(to_json(proposal))


def replace_proposal_file(path: Path, proposal: Proposal) -> None:
    """Rewrites a file atomically (temporary file, fsync, rename): an interrupted signer leaves
    the previous signatures, never half a file."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise ProposalError(f"cannot write next to {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w") as f:
            f.write(to_json(proposal))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ProposalError(f"cannot rewrite {path}: {error.strerror or error}") from None
        raise


# -- signing --------------------------------------------------------------------------------


def _check_can_sign(proposal: Proposal, key_id: str, now_ms: int) -> None:
    if now_ms > proposal.action["not_after_ms"]:
        raise ProposalError(f"the proposal expired {(now_ms - proposal.action['not_after_ms']) // 1000} s ago: propose it again")
    if not is_valid_id(key_id, source_id_bytes_max):
        raise ProposalError(f"a key id is 1-{source_id_bytes_max} bytes of [A-Za-z0-9._:-], not {key_id!r}")
    if key_id in proposal.signer_ids:
        raise ProposalError(f"{key_id} already signed this proposal")
    if len(proposal.signatures) >= signatures_per_action_max:
        raise ProposalError(f"the proposal already holds {signatures_per_action_max} signatures")


def add_signature(proposal: Proposal, key_id: str, signature: bytes, now_ms: int) -> Proposal:
    """The proposal with one more signature; refused for an expired action or a key id that
    already signed (a second signature from one key counts once and only hides a mistake)."""
    _check_can_sign(proposal, key_id, now_ms)
    return Proposal(proposal.action, proposal.signatures + ((key_id, signature),))


def sign(proposal: Proposal, key_id: str, key: Ed25519PrivateKey, now_ms: int) -> Proposal:
    """Signs the action's canonical bytes with `key` as `key_id`. A key that already signed under
    another id is refused too: one person, one signature."""
    _check_can_sign(proposal, key_id, now_ms)
    public_key = raw_public_key(key)
    for other, signature in proposal.signatures:
        if verify_ed25519(public_key, proposal.canonical_bytes, signature):
            raise ProposalError(f"this key already signed the proposal as {other}")
    return add_signature(proposal, key_id, sign_action(proposal.action, key), now_ms)
