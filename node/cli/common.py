"""What every `settle` subcommand shares: the usage error (exit 2) and where the nodes are
(--nodes, else --cluster-file, else ./data/cluster.json). It lives apart from cli.py, which
imports the subcommand modules to register them, so they never import the module that registers
them.
"""

from __future__ import annotations

import argparse

from node.cli.cluster_file import DEFAULT_CLUSTER_FILE, ClusterFileError, grpc_addresses


class UsageError(Exception):
    """A command line `settle` cannot run; printed as `settle: ...` with exit code 2."""


def node_addresses(args: argparse.Namespace) -> list[str]:
    """The nodes' gRPC addresses: --nodes, else --cluster-file, else the launcher's default file."""
    if args.nodes:
        addresses = [a.strip() for a in args.nodes.split(",") if a.strip()]
        if not addresses:
            raise UsageError("--nodes is empty")
        return addresses
    path = args.cluster_file
    if path is None:
        if not DEFAULT_CLUSTER_FILE.exists():
            raise UsageError(f"no nodes: pass --nodes or --cluster-file (./{DEFAULT_CLUSTER_FILE} does not exist)")
        path = DEFAULT_CLUSTER_FILE
    try:
        return grpc_addresses(path)
    except ClusterFileError as error:
        raise UsageError(str(error)) from None
