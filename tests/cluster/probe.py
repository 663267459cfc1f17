"""Raw gRPC probes of a running cluster: status, convergence, leader, unaffected by the SDK."""

from __future__ import annotations

import time

import grpc

from cluster.local import LocalCluster
from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc


def node_status(address: str, timeout_s: float = 1.0) -> cluster_pb2.ClusterStatus | None:
    try:
        with grpc.insecure_channel(address) as channel:
            return cluster_pb2_grpc.ClusterStub(channel).Status(cluster_pb2.StatusRequest(), timeout=timeout_s)
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
