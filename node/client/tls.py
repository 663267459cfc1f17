"""Client-side mTLS material: the cluster CA and this identity's certificate and key.

Placeholder until mTLS lands (DESIGN.md "Access control"): `load_client_tls` finds nothing and
the SDK uses an insecure channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ClientTls:
    """PEM bytes: the CA that signed the nodes' certificates, and the client's own pair."""

    ca_certificate: bytes
    certificate_chain: bytes
    private_key: bytes


def load_client_tls(data_dir: Path, identity: str) -> ClientTls | None:
    """The TLS files for `identity` under a cluster data directory, or None if there are none."""
    return None
