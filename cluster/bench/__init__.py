"""Benchmarks, each a `python -m cluster.bench.<name>` printing JSON: the pure ledger, the store,
the liquidation sweep, batch signatures, and whole local clusters (plain, observed through
Prometheus, with and without the security). Not tests: their figures depend on the machine."""
