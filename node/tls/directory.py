"""A directory of a cluster's TLS material: its CA, and a certificate per identity.

    ca.crt  ca.key (0600)  <identity>.crt  <identity>.key (0600)

Everything is created once and reused: `ensure_*` issues only what is missing, so a restart
keeps every certificate and a node added later gets its own from the same CA.
"""

from __future__ import annotations

import os
from pathlib import Path

from node.tls.authority import Authority, create_authority, issue
from node.tls.files import TlsFiles, read_authority, read_tls_files, write_certificate, write_private_key_pem

ca_certificate_name = "ca.crt"
ca_key_name = "ca.key"
directory_mode = 0o700


class TlsDirectory:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def ca_certificate(self) -> Path:
        return self.path / ca_certificate_name

    @property
    def ca_key(self) -> Path:
        return self.path / ca_key_name

    def certificate(self, identity: str) -> Path:
        return self.path / f"{identity}.crt"

    def key(self, identity: str) -> Path:
        return self.path / f"{identity}.key"

    def exists(self) -> bool:
        return self.ca_certificate.exists()

    def has(self, identity: str) -> bool:
        return self.certificate(identity).exists() and self.key(identity).exists()

    def files(self, identity: str) -> TlsFiles:
        """The CA certificate and `identity`'s pair, as PEM bytes (raises TlsFileError)."""
        return read_tls_files(self.ca_certificate, self.certificate(identity), self.key(identity))

    def ensure_authority(self, name: str) -> Authority:
        """The CA, created (key 0600) if this directory has none."""
        self.path.mkdir(mode=directory_mode, parents=True, exist_ok=True)
        os.chmod(self.path, directory_mode)
        if not self.ca_certificate.exists():
            authority = create_authority(name)
            write_private_key_pem(self.ca_key, authority.key)  # the key first: a CA without it is useless
            write_certificate(self.ca_certificate, authority.certificate)
            return authority
        return read_authority(self.ca_certificate, self.ca_key)

    def ensure_identity(self, authority: Authority, identity: str, *, hosts: tuple[str, ...] = (), server: bool = False) -> bool:
        """Issues `identity`'s certificate and key unless both exist; True if it issued them."""
        if self.has(identity):
            return False
        for stale in (self.certificate(identity), self.key(identity)):  # half of a pair: a crash while issuing
            stale.unlink(missing_ok=True)
        issued = issue(authority, identity, hosts=hosts, server=server)
        write_private_key_pem(self.key(identity), issued.key)
        write_certificate(self.certificate(identity), issued.certificate)
        return True
