"""The cluster.json the launcher writes: which gRPC addresses the nodes serve on.

    {"cluster_id": "...", "nodes": [{"id": "node1", "grpc": "127.0.0.1:7001", "raft": "...", ...}]}
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_CLUSTER_FILE = Path("data") / "cluster.json"


class ClusterFileError(ValueError):
    pass


def grpc_addresses(path: Path) -> list[str]:
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise ClusterFileError(f"cannot read {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise ClusterFileError(f"{path} is not JSON: {error}") from None
    nodes = document.get("nodes") if isinstance(document, dict) else None
    if not isinstance(nodes, list) or not nodes:
        raise ClusterFileError(f"{path}: no \"nodes\" list")
    addresses = []
    for position, node in enumerate(nodes):
        address = node.get("grpc") if isinstance(node, dict) else None
        if not isinstance(address, str) or ":" not in address:
            raise ClusterFileError(f"{path}: nodes[{position}].grpc must be host:port")
        addresses.append(address)
    return addresses
