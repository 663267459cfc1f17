"""Benchmarks, each a `python -m cluster.bench.<name>` printing JSON: the pure ledger, the store,
the liquidation sweep, batch signatures, collector pauses, the LMDB map per record, and whole local
clusters (plain, observed through Prometheus, with and without the security, restarted and caught
up at a million accounts). Not tests: their figures depend on the machine."""
