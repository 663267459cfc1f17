"""A cluster certificate authority and the certificates it issues (cryptography.x509).

Node certificates carry the node's hosts as SAN IP/DNS entries and both serverAuth and
clientAuth, because a node serves gRPC and also calls its peers (checkpoint votes through the
SDK). Client certificates carry clientAuth only, so a client's key cannot pose as a node.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.ledger.validation import is_valid_id
from node.tls.limits import (
    authority_valid_days,
    certificate_backdate_s,
    certificate_valid_days,
    common_name_bytes_max,
    hosts_max,
)


@dataclass(frozen=True, slots=True)
class Authority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def create_authority(name: str, *, valid_days: int = authority_valid_days) -> Authority:
    """A self-signed CA for one cluster, `name` in its subject (the cluster id)."""
    assert 0 < valid_days <= authority_valid_days, valid_days
    key = _new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"settlement cluster CA {name}"[:64])])
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(seconds=certificate_backdate_s))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate, key)


def _san(hosts: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def issue(
    authority: Authority,
    common_name: str,
    *,
    hosts: tuple[str, ...] = (),
    server: bool = False,
    valid_days: int = certificate_valid_days,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> IssuedCertificate:
    """A certificate naming identity `common_name`, signed by `authority`. `server`: a node's
    (serverAuth + clientAuth, SAN = `hosts`); else a client's (clientAuth). `not_before` /
    `not_after` override the validity window (tests issue expired certificates)."""
    assert is_valid_id(common_name, common_name_bytes_max), common_name
    assert len(hosts) <= hosts_max, hosts
    assert not hosts or server, "only a node certificate names hosts"
    key = _new_key()
    now = _now()
    start = not_before or now - datetime.timedelta(seconds=certificate_backdate_s)
    end = not_after or now + datetime.timedelta(days=valid_days)
    assert start < end, (start, end)
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()), critical=False)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)
    return IssuedCertificate(builder.sign(authority.key, hashes.SHA256()), key)


def common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""
