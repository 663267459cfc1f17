"""mTLS material and channels: a cluster CA, node and client certificates, their files and their
expiry (authority.py, files.py, directory.py), a client's channels (client.py) and a node's server
credentials (server.py).

Identity = the certificate's subject CommonName = a key id in the replicated signer set; the
roles come only from the signer set, never from the certificate (node/server/access.py). TLS keys
are ECDSA P-256 and separate from the Ed25519 keys that sign batches and votes.

Import the modules themselves: the package imports nothing, so the SDK's channels do not load
cryptography's x509 until TLS files are read.
"""
