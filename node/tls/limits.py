"""How long TLS material lives, named once."""

authority_valid_days = 3_650  # the cluster CA: ten years; rotating it means re-issuing everything
certificate_valid_days = 397  # node and client certificates: about a year (the CA/B browser cap)
certificate_backdate_s = 300  # notBefore 5 minutes back, so a peer's slightly slow clock accepts it
common_name_bytes_max = 64  # a key id in the signer set (node/ledger/limits.source_id_bytes_max)
hosts_max = 16  # SAN entries per node certificate
