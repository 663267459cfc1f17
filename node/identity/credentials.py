"""Who a client (or a node calling its peers) is: the identity its TLS certificate names, and the
keys it signs batches with.

Every Submit batch carries the submitter's key id, a sequence number and an Ed25519 signature
(docs/design.md#access-control). The certificate's identity decides which calls a client may make;
the batch's signing key decides which command kinds the ledger accepts from it, by the key's role
in the replicated signer set (node.ledger.signed_batches.ROLE_COMMANDS). A client usually holds
one key; a tool or a test may hold several (a keyring), and the SDK signs each batch with the key
whose role may submit all of its commands.

A local cluster keeps identities under DIR/keys/<key id>.key (signing key) and DIR/tls/
(certificates), and its id in DIR/cluster.json.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.identity.key_files import read_private_key
from node.identity.signer_set import SignerSetError, read_signer_set
from node.ledger.signed_batches import ROLE_COMMANDS
from node.tls.client import ClientTls, load_client_tls

keys_dir_name = "keys"
cluster_file_name = "cluster.json"
signers_file_name = "signers.json"
# A keyring signs with a submitter's key before a guardian's, and a node's only when no other may;
# an action goes out on a guardian's key before a custodian's (who may submit a CUSTODY_WITHDRAW).
_ROLE_PREFERENCE = ("settler", "oracle", "operator", "guardian", "custodian", "node")
default_tls_identity = "operator"  # reads everything; the CLI's and the local keyring's certificate


@dataclass(frozen=True, slots=True)
class SigningKey:
    key_id: str
    role: str  # its role in the signer set
    key: Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    key_id: str  # the identity the TLS certificate names
    signing_keys: tuple[SigningKey, ...] = ()  # none: batches go unsigned (refused once a signer set exists)
    tls: ClientTls | None = None  # None: an insecure channel
    cluster: str = ""  # the cluster id batches are signed for; empty: asked from the cluster

    def signing_key_for(self, kinds: Iterable[type]) -> SigningKey | None:
        """The first key whose role may submit every command kind (ledger command classes)."""
        wanted = set(kinds)
        for signing in self.signing_keys:
            if wanted <= set(ROLE_COMMANDS.get(signing.role, ())):
                return signing
        return None


def identity_key_file(data_dir: Path, key_id: str) -> Path:
    return Path(data_dir) / keys_dir_name / f"{key_id}.key"


def _cluster_id(data_dir: Path) -> str:
    try:
        return json.loads((data_dir / cluster_file_name).read_text()).get("cluster_id", "")
    except (OSError, ValueError, AttributeError):
        return ""  # the SDK asks the cluster instead


def load_identity(data_dir: Path | str, key_id: str, role: str, *, also: Iterable[tuple[str, str]] = ()) -> ClientIdentity:
    """Identity `key_id` (role `role`) of the local cluster under `data_dir`: its signing key,
    its TLS pair when the cluster has TLS, the cluster id. `also` adds more (key id, role) keys
    to sign with (a keyring), tried after the identity's own."""
    data_dir = Path(data_dir)
    keys = tuple(SigningKey(k, r, read_private_key(identity_key_file(data_dir, k))) for k, r in ((key_id, role), *also))
    return ClientIdentity(key_id, keys, load_client_tls(data_dir, key_id), _cluster_id(data_dir))


class IdentityError(ValueError):
    """The credentials directory cannot give the identity asked for; the message says why."""


def _signer_roles(data_dir: Path) -> dict[str, str]:
    """key id -> role, from the signer set file the local cluster keeps next to its keys."""
    try:
        document = read_signer_set(data_dir / signers_file_name)  # bounded, validated like the nodes read it
    except SignerSetError as error:
        raise IdentityError(str(error)) from None
    return {entry["key_id"]: entry["role"] for entry in document["signers"]}


def load_keyring(data_dir: Path | str, key_id: str | None = None) -> ClientIdentity:
    """The credentials of a cluster directory (DIR/signers.json, DIR/keys/, DIR/tls/): with
    `key_id`, that identity alone; else a keyring of every key present there (submitter roles
    first, then guardians, then nodes) under the operator's certificate."""
    data_dir = Path(data_dir)
    roles = _signer_roles(data_dir)
    if key_id is not None:
        if key_id not in roles:
            raise IdentityError(f"{key_id} is not in {data_dir / signers_file_name}")
        return load_identity(data_dir, key_id, roles[key_id])
    present = [k for k in roles if identity_key_file(data_dir, k).exists()]
    present.sort(key=lambda k: (_ROLE_PREFERENCE.index(roles[k]) if roles[k] in _ROLE_PREFERENCE else len(_ROLE_PREFERENCE), k))
    if not present:
        raise IdentityError(f"no signing keys under {data_dir / keys_dir_name}")
    tls_identity = default_tls_identity if default_tls_identity in present else present[0]
    return load_identity(data_dir, tls_identity, roles[tls_identity],
                         also=[(k, roles[k]) for k in present if k != tls_identity])
