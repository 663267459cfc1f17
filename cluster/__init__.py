"""Local cluster tooling around the node.

The launcher sits here: local.py (a cluster of real node processes), local_tls.py (its TLS
material), ports.py (where each node listens), observe.py (the cluster with Prometheus) and
__main__.py (`python -m cluster up | observe | replay | chaos`). Beside it: chaos/ (the fault
harness), bench/ (benchmarks), demo/ (the demo oracle, load and ledger story), replay/ (backtests
of the guards) and ledger_workload.py (seeded ledger logs shared by benchmarks, demo and tests).
"""
