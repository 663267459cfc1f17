"""Client-side mTLS material and channels: the cluster CA, this identity's certificate and key, and
the gRPC channels built from them. The SDK, the CLI and a node calling its peers all connect so.

A local cluster keeps them under DIR/tls/ (cluster/local_tls.py): ca.crt, and <identity>.crt /
<identity>.key (0600) per identity. The certificate's CommonName is the identity the node
checks against the replicated signer set (node/server/access.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

tls_dir_name = "tls"


@dataclass(frozen=True, slots=True)
class ClientTls:
    """PEM bytes: the CA that signed the nodes' certificates, and the client's own pair."""

    ca_certificate: bytes
    certificate_chain: bytes
    private_key: bytes


def tls_dir(data_dir: Path | str) -> Path:
    return Path(data_dir) / tls_dir_name


def load_client_tls(data_dir: Path | str, identity: str) -> ClientTls | None:
    """The TLS files for `identity` under a cluster data directory, or None if the cluster has no
    TLS directory. A cluster with TLS but no certificate for `identity` is an error (ValueError
    naming the file): an insecure fallback would only fail later, less clearly."""
    from node.tls.directory import TlsDirectory  # cryptography's x509 only where TLS is used

    directory = TlsDirectory(tls_dir(data_dir))
    if not directory.exists():
        return None
    files = directory.files(identity)  # TlsFileError (a ValueError) says which file is missing or open
    return ClientTls(files.ca_certificate, files.certificate_chain, files.private_key)


def channel_credentials(tls: ClientTls) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(tls.ca_certificate, tls.private_key, tls.certificate_chain)


def sync_channel(address: str, tls: ClientTls | None, options: Sequence[tuple[str, object]] = ()) -> grpc.Channel:
    """A blocking channel to `address`: mTLS with `tls`, plaintext without (in-process tests)."""
    if tls is None:
        return grpc.insecure_channel(address, options=list(options))
    return grpc.secure_channel(address, channel_credentials(tls), options=list(options))


def aio_channel(address: str, tls: ClientTls | None, options: Sequence[tuple[str, object]] = ()) -> grpc.aio.Channel:
    """The grpc.aio counterpart of sync_channel."""
    if tls is None:
        return grpc.aio.insecure_channel(address, options=list(options))
    return grpc.aio.secure_channel(address, channel_credentials(tls), options=list(options))


def node_client_tls(config) -> ClientTls | None:
    """A node's own certificate used as a client's, from its NodeConfig (tls_* files): a node
    calls its peers through the SDK (checkpoint votes). None when the node runs without TLS."""
    from node.tls.files import read_tls_files

    if getattr(config, "tls_ca_file", None) is None:
        return None
    files = read_tls_files(config.tls_ca_file, config.tls_certificate_file, config.tls_key_file)
    return ClientTls(files.ca_certificate, files.certificate_chain, files.private_key)

