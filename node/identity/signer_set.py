"""Signer sets outside the ledger: the JSON file an operator or auditor holds, the set a ledger
state (or a dump's governance records) has installed, and how two of them differ.

The file is what the genesis SET_SIGNERS installs (the local launcher writes it as signers.json):

    {"cluster": "local-1a2b", "policy": {"checkpoint_threshold": 2, ...},
     "signers": [{"key_id": "guardian1", "public_key": "<64 hex>", "role": "guardian"}, ...]}
"""

from __future__ import annotations

import json
from pathlib import Path

from node.ledger.governance import POLICY_FIELDS, signer_set_problem
from node.ledger.state import POLICY_KEY, SIGNER_PREFIX, LedgerState

signer_set_file_bytes_max = 1024 * 1024


class SignerSetError(ValueError):
    """A signer set file that cannot be read or is not a valid signer set."""


def signer_set_document(cluster: str, signers: list[dict], policy: dict) -> dict:
    return {"cluster": cluster, "policy": {f: policy[f] for f in POLICY_FIELDS},
            "signers": sorted(signers, key=lambda e: e["key_id"])}


def read_signer_set(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            data = f.read(signer_set_file_bytes_max + 1)
    except OSError as error:
        raise SignerSetError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > signer_set_file_bytes_max:
        raise SignerSetError(f"{path} is larger than {signer_set_file_bytes_max} bytes")
    try:
        document = json.loads(data)
    except ValueError:
        raise SignerSetError(f"{path} is not JSON") from None
    if not isinstance(document, dict) or sorted(document) != ["cluster", "policy", "signers"]:
        raise SignerSetError(f"{path}: a signer set is {{cluster, policy, signers}}")
    problem = signer_set_problem(document["cluster"], document["signers"], document["policy"])
    if problem:
        raise SignerSetError(f"{path}: {problem}")
    return document


def signer_set_from_governance(governance: dict[str, dict]) -> dict | None:
    """The signer set recorded in governance records (a state's, or a dump's); None if none."""
    rules = governance.get(POLICY_KEY)
    if rules is None:
        return None
    signers = [
        {"key_id": key[len(SIGNER_PREFIX):], "public_key": value["public_key"], "role": value["role"]}
        for key, value in governance.items() if key.startswith(SIGNER_PREFIX)
    ]
    return signer_set_document(rules["cluster"], signers, rules)


def installed_signer_set(state: LedgerState) -> dict | None:
    return signer_set_from_governance(state.governance)


def difference(expected: dict, installed: dict | None) -> str | None:
    """What differs between the expected signer set and the installed one; None if they match."""
    if installed is None:
        return "no signer set is installed yet"
    problems = []
    if expected["cluster"] != installed["cluster"]:
        problems.append(f"cluster {installed['cluster']!r}, expected {expected['cluster']!r}")
    want = {e["key_id"]: e for e in expected["signers"]}
    have = {e["key_id"]: e for e in installed["signers"]}
    for key_id in sorted(want.keys() - have.keys()):
        problems.append(f"{key_id} missing")
    for key_id in sorted(have.keys() - want.keys()):
        problems.append(f"{key_id} not expected")
    for key_id in sorted(want.keys() & have.keys()):
        if want[key_id] != have[key_id]:
            problems.append(f"{key_id} has another key or role")
    for field in POLICY_FIELDS:
        if expected["policy"][field] != installed["policy"][field]:
            problems.append(f"{field} {installed['policy'][field]}, expected {expected['policy'][field]}")
    return "; ".join(problems) or None
