"""Raw gRPC probes of a running cluster: status, convergence, leader, unaffected by the SDK."""

from __future__ import annotations

import time

from collections.abc import Sequence

import grpc

from cluster.local import LocalCluster
from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.tls.client import ClientTls, load_client_tls, sync_channel

# Local clusters serve mTLS: probes connect with the operator's certificate of the cluster that
# serves an address (registered by trust(); the last one trusted for an address added later).
_tls_by_address: dict[str, ClientTls | None] = {}
_last_trusted: list[ClientTls | None] = [None]


def trust(cluster: LocalCluster) -> None:
    """Probe `cluster`'s nodes (after prepare()) with its operator certificate."""
    tls = load_client_tls(cluster.data_dir, "operator")
    _tls_by_address.update({spec.grpc_address: tls for spec in cluster.specs})
    _last_trusted[0] = tls


def channel(address: str, options: Sequence[tuple[str, object]] = ()) -> grpc.Channel:
    """A blocking channel to a local cluster's node, as its operator."""
    return sync_channel(address, _tls_by_address.get(address, _last_trusted[0]), options)


def node_status(address: str, timeout_s: float = 1.0) -> cluster_pb2.ClusterStatus | None:
    try:
        with channel(address) as channel_:
            return cluster_pb2_grpc.ClusterStub(channel_).Status(cluster_pb2.StatusRequest(), timeout=timeout_s)
    except grpc.RpcError:
        return None


def statuses(cluster: LocalCluster, numbers: list[int] | None = None) -> dict[int, cluster_pb2.ClusterStatus | None]:
    numbers = numbers or [s.number for s in cluster.specs]
    return {n: node_status(cluster.specs[n - 1].grpc_address) for n in numbers}


def wait_for_leader(cluster: LocalCluster, timeout_s: float = 30.0, among: list[int] | None = None) -> int:
    """The number of the node that says it leads and is ready."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for number, status in statuses(cluster, among).items():
            if status is not None and status.ready and status.role == cluster_pb2.ClusterStatus.Role.LEADER:
                return number
        time.sleep(0.1)
    raise TimeoutError("no ready leader:\n" + "\n".join(cluster.log_tail(s.number, 10) for s in cluster.specs))


def wait_converged(cluster: LocalCluster, numbers: list[int] | None = None, timeout_s: float = 30.0) -> dict[int, cluster_pb2.ClusterStatus]:
    """Wait until the nodes report the same applied index and state hash; return their statuses."""
    deadline = time.monotonic() + timeout_s
    last: dict = {}
    while time.monotonic() < deadline:
        last = statuses(cluster, numbers)
        alive = [s for s in last.values() if s is not None]
        if len(alive) == len(last) and len({(s.applied_index, s.state_hash) for s in alive}) == 1:
            return last
        time.sleep(0.1)
    raise AssertionError(f"nodes did not converge: { {n: (s.applied_index, s.state_hash.hex()[:12]) if s else None for n, s in last.items()} }")
