"""TEST-ONLY: a settlement node with test behaviour injected, for tests and benchmarks.

    python -m cluster.fixture_node [--power-cut-shadow] [--unsafe-skip-journal-sync]
                                   [--unsafe-no-raft-encryption] [--rogue] --config node.toml

It runs the node's own assembly (node/main.py) with a NodeFixture: Raft overrides and a task
started beside the node. Nothing here is on the node's import path: `settle-node` never loads
this package, and a node's configuration cannot switch any of it on.
"""
