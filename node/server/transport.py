"""The node's transports: the mTLS gRPC port, and a plaintext port that serves health alone.

The gRPC port requires a client certificate from the cluster CA (require_client_auth): without
one, with one from another CA or an expired one, the handshake fails and no handler runs. Load
balancers probe health without a certificate, so a node may also open a health-only port: a
separate grpc.aio server with nothing but grpc.health.v1 registered, sharing the main server's
health servicer (the same SERVING / NOT_SERVING answers), so nothing else is reachable there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2_grpc

from node.client.tls import ClientTls
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


def add_port(server: grpc.aio.Server, address: str, tls: TlsFiles | None) -> int:
    """Binds `address` (mTLS with `tls`, else plaintext); returns the port. OSError if it cannot."""
    try:
        port = server.add_secure_port(address, server_credentials(tls)) if tls is not None else server.add_insecure_port(address)
    except RuntimeError as error:  # grpc raises RuntimeError("Failed to bind ...")
        raise OSError(f"cannot listen on {address}: {error}") from None
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    return port


def health_only_server(servicer, address: str) -> tuple[grpc.aio.Server, int]:
    """A plaintext server on `address` with the health service alone (not started)."""
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return server, add_port(server, address, None)


def server_tls(config) -> ServerTls | None:
    """A NodeConfig's TLS files (node/config.py), checked now so a bad file stops the node before
    it joins the cluster; None when the config names none."""
    from node.config import ConfigError
    from node.tls.files import TlsFileError

    if config.tls_ca_file is None:
        return None
    tls = ServerTls(config.tls_ca_file, config.tls_certificate_file, config.tls_key_file)
    try:
        tls.load()
    except TlsFileError as error:
        raise ConfigError(str(error)) from None
    return tls
