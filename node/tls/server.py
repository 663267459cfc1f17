"""Server-side mTLS material: where a node's CA, certificate and key are, and the gRPC server
credentials built from them.

The node's gRPC port requires a client certificate from the cluster CA (require_client_auth):
without one, with one from another CA or an expired one, the handshake fails and no handler runs.
The ports themselves are bound in node/server/transport.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from node.tls.client import ClientTls
from node.tls.files import TlsFiles, certificate_not_after_s, read_tls_files


@dataclass(frozen=True, slots=True)
class ServerTls:
    """Where a node's TLS files are: the cluster CA it trusts clients by, its certificate and key."""

    ca_file: Path
    certificate_file: Path
    key_file: Path

    def load(self) -> TlsFiles:
        """The files as PEM bytes; raises TlsFileError (a ValueError) naming a bad file."""
        return read_tls_files(self.ca_file, self.certificate_file, self.key_file)

    def not_after_s(self) -> dict[str, float]:
        """notAfter (Unix seconds) of the node's certificate and of the CA's."""
        return {"node": certificate_not_after_s(self.certificate_file), "ca": certificate_not_after_s(self.ca_file)}

    def as_client(self) -> ClientTls:
        """The node's certificate as a client's: a node calls its peers (checkpoint votes)."""
        files = self.load()
        return ClientTls(files.ca_certificate, files.certificate_chain, files.private_key)


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(files.private_key, files.certificate_chain)],
        root_certificates=files.ca_certificate,
        require_client_auth=True,
    )
