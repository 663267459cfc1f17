"""Issuing and loading TLS material: what is created, with which modes, and that it is reused."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from node.tls.authority import common_name
from node.tls.client import load_client_tls
from node.tls.directory import TlsDirectory
from node.tls.files import TlsFileError, certificate_not_after_s, read_certificate
from tests.tls.material import NODE, cluster_tls


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_keys_are_0600_and_the_directory_0700(tmp_path):
    directory = cluster_tls(tmp_path, ("settler",))
    assert _mode(directory.path) == 0o700
    for key in (directory.ca_key, directory.key(NODE), directory.key("settler")):
        assert _mode(key) == 0o600, key


def test_a_certificate_names_its_identity_and_chains_to_the_cluster_ca(tmp_path):
    directory = cluster_tls(tmp_path, ("settler",))
    ca = read_certificate(directory.ca_certificate)
    certificate = read_certificate(directory.certificate("settler"))
    assert common_name(certificate) == "settler"
    certificate.verify_directly_issued_by(ca)


def test_a_node_certificate_serves_its_hosts_and_may_also_call_peers(tmp_path):
    certificate = read_certificate(cluster_tls(tmp_path).certificate(NODE))
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}


def test_a_client_certificate_cannot_serve(tmp_path):
    certificate = read_certificate(cluster_tls(tmp_path, ("settler",)).certificate("settler"))
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_material_is_reused_on_restart(tmp_path):
    first = cluster_tls(tmp_path, ("settler",))
    before = {p.name: p.read_bytes() for p in first.path.iterdir()}
    again = cluster_tls(tmp_path, ("settler",))  # what a restart of the launcher does
    assert {p.name: p.read_bytes() for p in again.path.iterdir()} == before


def test_an_identity_added_later_is_issued_by_the_same_ca(tmp_path):
    directory = cluster_tls(tmp_path)
    ca_before = directory.ca_certificate.read_bytes()
    authority = directory.ensure_authority("test-cluster")
    assert directory.ensure_identity(authority, "node4", hosts=("127.0.0.1",), server=True)
    assert directory.ca_certificate.read_bytes() == ca_before
    read_certificate(directory.certificate("node4")).verify_directly_issued_by(read_certificate(directory.ca_certificate))


def test_the_client_sdk_loads_an_identity_from_a_cluster_directory(tmp_path):
    directory = cluster_tls(tmp_path, ("auditor",))
    tls = load_client_tls(tmp_path, "auditor")
    assert tls is not None
    assert tls.ca_certificate == directory.ca_certificate.read_bytes()
    assert tls.certificate_chain == directory.certificate("auditor").read_bytes()
    assert tls.private_key == directory.key("auditor").read_bytes()


def test_a_cluster_without_a_tls_directory_has_no_client_tls(tmp_path):
    assert load_client_tls(tmp_path, "auditor") is None


def test_a_cluster_with_tls_but_no_certificate_for_the_identity_is_an_error(tmp_path):
    cluster_tls(tmp_path)
    with pytest.raises(TlsFileError, match="nobody.crt"):
        load_client_tls(tmp_path, "nobody")


def test_a_readable_private_key_is_refused(tmp_path):
    directory = cluster_tls(tmp_path, ("auditor",))
    directory.key("auditor").chmod(0o644)
    with pytest.raises(TlsFileError, match="chmod 600"):
        directory.files("auditor")


def test_expiry_is_read_from_the_certificate(tmp_path):
    directory = cluster_tls(tmp_path)
    certificate = read_certificate(directory.certificate(NODE))
    assert certificate_not_after_s(directory.certificate(NODE)) == certificate.not_valid_after_utc.timestamp()


def test_an_existing_key_is_never_overwritten(tmp_path):
    directory = TlsDirectory(tmp_path / "tls")
    directory.ensure_authority("c")
    from node.tls.authority import create_authority
    from node.tls.files import write_private_key_pem

    with pytest.raises(FileExistsError):
        write_private_key_pem(directory.ca_key, create_authority("c").key)
