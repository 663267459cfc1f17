"""TLS material for tests: a cluster CA with a node certificate for 127.0.0.1/localhost and
client certificates, plus the certificates the transport must refuse."""

from __future__ import annotations

import datetime
from pathlib import Path

from node.tls.authority import create_authority, issue
from node.tls.client import ClientTls
from node.tls.directory import TlsDirectory
from node.tls.files import write_certificate, write_private_key_pem
from node.tls.server import ServerTls

NODE = "node1"
NODE_HOSTS = ("127.0.0.1", "localhost")


def cluster_tls(tmp_path: Path, identities: tuple[str, ...] = ()) -> TlsDirectory:
    """tmp_path/tls: the CA, node1's certificate and one client certificate per identity."""
    directory = TlsDirectory(tmp_path / "tls")
    authority = directory.ensure_authority("test-cluster")
    directory.ensure_identity(authority, NODE, hosts=NODE_HOSTS, server=True)
    for identity in identities:
        directory.ensure_identity(authority, identity)
    return directory


def server_tls(directory: TlsDirectory, node: str = NODE) -> ServerTls:
    return ServerTls(directory.ca_certificate, directory.certificate(node), directory.key(node))


def client_tls(directory: TlsDirectory, identity: str) -> ClientTls:
    files = directory.files(identity)
    return ClientTls(files.ca_certificate, files.certificate_chain, files.private_key)


def foreign_client_tls(tmp_path: Path, directory: TlsDirectory, identity: str) -> ClientTls:
    """`identity`'s certificate from another CA (same name), trusting the real CA for the server."""
    other = TlsDirectory(tmp_path / "other-ca")
    authority = other.ensure_authority("another-cluster")
    other.ensure_identity(authority, identity)
    own = other.files(identity)
    return ClientTls(directory.files(NODE).ca_certificate, own.certificate_chain, own.private_key)


def expired_client_tls(tmp_path: Path, directory: TlsDirectory, identity: str) -> ClientTls:
    """`identity`'s certificate from the real CA, expired yesterday."""
    from node.tls.files import read_authority

    authority = read_authority(directory.ca_certificate, directory.ca_key)
    now = datetime.datetime.now(datetime.timezone.utc)
    issued = issue(authority, identity, not_before=now - datetime.timedelta(days=30), not_after=now - datetime.timedelta(days=1))
    folder = tmp_path / "expired"
    folder.mkdir()
    write_certificate(folder / "c.crt", issued.certificate)
    write_private_key_pem(folder / "c.key", issued.key)
    return ClientTls(directory.ca_certificate.read_bytes(), (folder / "c.crt").read_bytes(), (folder / "c.key").read_bytes())
