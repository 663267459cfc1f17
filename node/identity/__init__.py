"""Credentials: Ed25519 keys and key files, signing identities and keyrings, signer set files, and
signing actions, votes and batches. The node, the SDK, the CLI and the tools all sign and verify
with these, so none of them owns them; this package reaches only the ledger's, the codec's, the
API's and node.tls's modules.
"""
