"""Checking a checkpoint certificate against a signer set, outside the ledger (the auditor).

A certificate is the ledger's record of a certified checkpoint, as GetCheckpoint serves it and
`settle checkpoint export` writes it: {"index", "hash" (hex), "epoch", "signatures": [[key id,
signature hex]]}. It is valid when at least the policy's checkpoint_threshold distinct NODE keys
of the signer set signed `checkpoint_vote_bytes(cluster, key id, index, hash)`. Any signature
that does not verify makes it invalid, even with enough others: a certificate carrying a forgery
was not produced by this ledger.
"""

from __future__ import annotations

from node.identity.keys import verify_ed25519
from node.ledger.governance import ROLE_NODE, checkpoint_vote_bytes

state_hash_bytes = 32


def certificate_problems(certificate: dict, signer_set: dict, verify=verify_ed25519) -> tuple[list[str], list[str]]:
    """(problems, valid signers): the certificate is valid when `problems` is empty."""
    problems: list[str] = []
    try:
        index, hash_hex, signatures = certificate["index"], certificate["hash"], certificate["signatures"]
        state_hash = bytes.fromhex(hash_hex)
    except (KeyError, TypeError, ValueError):
        return ["the certificate needs index, hash (hex) and signatures"], []
    if type(index) is not int or index < 1 or len(state_hash) != state_hash_bytes or not isinstance(signatures, list):
        return ["the certificate's index, hash or signatures are malformed"], []
    keys = {e["key_id"]: e for e in signer_set["signers"]}
    valid: dict[str, None] = {}
    for item in signatures:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            problems.append(f"malformed signature entry {item!r}")
            continue
        key_id, signature_hex = item
        entry = keys.get(key_id)
        if entry is None:
            problems.append(f"{key_id} is not in the signer set")
            continue
        if entry["role"] != ROLE_NODE:
            problems.append(f"{key_id} is a {entry['role']} key; only node keys certify checkpoints")
            continue
        try:
            signature = bytes.fromhex(signature_hex)
        except ValueError:
            signature = b""
        message = checkpoint_vote_bytes(signer_set["cluster"], key_id, index, state_hash)
        if not verify(bytes.fromhex(entry["public_key"]), message, signature):
            problems.append(f"{key_id}'s signature does not verify")
            continue
        valid[key_id] = None
    threshold = signer_set["policy"]["checkpoint_threshold"]
    if len(valid) < threshold:
        problems.append(f"{len(valid)} valid node signatures, the signer set needs {threshold}")
    return problems, list(valid)
