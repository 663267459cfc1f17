"""mTLS material: a cluster CA, node and client certificates, their files and their expiry.

Identity = the certificate's subject CommonName = a key id in the replicated signer set; the
roles come only from the signer set, never from the certificate (node/server/access.py). TLS keys
are ECDSA P-256 and separate from the Ed25519 keys that sign batches and votes.
"""

from node.tls.authority import Authority, IssuedCertificate, create_authority, issue
from node.tls.files import (
    TlsFiles,
    certificate_not_after_s,
    read_authority,
    read_certificate,
    write_certificate,
    write_private_key_pem,
)
from node.tls.directory import TlsDirectory

__all__ = [
    "Authority", "IssuedCertificate", "create_authority", "issue", "TlsFiles", "certificate_not_after_s",
    "read_authority", "read_certificate", "write_certificate", "write_private_key_pem", "TlsDirectory",
]
