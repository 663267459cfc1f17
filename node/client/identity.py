"""Who a client is: the key id it signs batches under (its Ed25519 signing key) and its TLS pair.

Every Submit batch carries the submitter's key id, a sequence number and an Ed25519 signature
(DESIGN.md "Access control"); the identity's roles come from the replicated signer set. A local
cluster keeps identities under DIR/keys/<key id>.key (signing key) and DIR/tls/ (certificates).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.client.keys import read_private_key
from node.client.tls import ClientTls, load_client_tls

keys_dir_name = "keys"


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    key_id: str
    signing_key: Ed25519PrivateKey | None = None  # None: batches go unsigned (refused once a signer set is installed)
    tls: ClientTls | None = None  # None: an insecure channel


def identity_key_file(data_dir: Path, key_id: str) -> Path:
    return Path(data_dir) / keys_dir_name / f"{key_id}.key"


def load_identity(data_dir: Path | str, key_id: str) -> ClientIdentity:
    """The identity `key_id` of the local cluster under `data_dir`: its signing key and, when
    the cluster has them, its TLS certificate and key."""
    data_dir = Path(data_dir)
    return ClientIdentity(key_id, read_private_key(identity_key_file(data_dir, key_id)), load_client_tls(data_dir, key_id))
