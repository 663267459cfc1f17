"""PEM files of TLS material: private keys 0600 and never overwritten, certificates readable.

A TLS directory holds ca.crt (and, where certificates are issued, ca.key) and a
<identity>.crt / <identity>.key pair per identity.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from node.tls.authority import Authority

private_key_mode = 0o600
certificate_mode = 0o644
pem_file_bytes_max = 64 * 1024


class TlsFileError(ValueError):
    """A missing, unreadable, malformed or group/world-readable TLS file; the message says which."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM bytes as gRPC takes them: the CA to trust, and this side's certificate and key."""

    ca_certificate: bytes
    certificate_chain: bytes
    private_key: bytes


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Creates `path` with `mode` (refusing to overwrite) and syncs it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_key_pem(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    _write_new(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), private_key_mode)


def write_certificate(path: Path, certificate: x509.Certificate) -> None:
    _write_new(path, certificate.public_bytes(serialization.Encoding.PEM), certificate_mode)


def read_bytes(path: Path, *, private: bool = False) -> bytes:
    try:
        if private:
            mode = path.stat().st_mode
            if mode & 0o077:
                raise TlsFileError(f"{path} is readable by others (mode {oct(mode & 0o777)}); chmod 600 it")
        with open(path, "rb") as f:
            data = f.read(pem_file_bytes_max + 1)
    except OSError as error:
        raise TlsFileError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > pem_file_bytes_max or b"-----BEGIN" not in data:
        raise TlsFileError(f"{path} is not a PEM file")
    return data


def read_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(read_bytes(path))
    except ValueError as error:
        raise TlsFileError(f"{path} is not a PEM certificate: {error}") from None


def read_private_key_pem(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(read_bytes(path, private=True), password=None)
    except (ValueError, TypeError) as error:
        raise TlsFileError(f"{path} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsFileError(f"{path} is not an ECDSA key")
    return key


def read_authority(certificate_path: Path, key_path: Path) -> Authority:
    return Authority(read_certificate(certificate_path), read_private_key_pem(key_path))


def read_tls_files(ca_path: Path, certificate_path: Path, key_path: Path) -> TlsFiles:
    """The three files, checked: PEM, the key 0600. Raises TlsFileError."""
    read_certificate(certificate_path)
    return TlsFiles(read_bytes(ca_path), read_bytes(certificate_path), read_bytes(key_path, private=True))


def certificate_not_after_s(path_or_pem: Path | bytes) -> float:
    """A certificate's notAfter as a Unix timestamp (seconds)."""
    certificate = read_certificate(path_or_pem) if isinstance(path_or_pem, Path) else x509.load_pem_x509_certificate(path_or_pem)
    return certificate.not_valid_after_utc.timestamp()
