"""A real local node: gRPC answers only mTLS, health answers anyone on its own port, and every
port (gRPC, health, Raft, metrics) is bound to the node's cluster address alone."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from cluster.ports import health_port
from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.tls.client import load_client_tls, sync_channel
from tests.cluster.conftest import make_cluster  # noqa: F401 (the fixture)
from tests.cluster.probe import wait_for_leader

LISTEN = "0A"  # /proc/net/tcp state of a listening socket


def _listening(port: int) -> list[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, port_hex = local.rsplit(":", 1)
                if state == LISTEN and int(port_hex, 16) == port:
                    found.append(address)
    return found




def test_a_real_node_serves_mtls_only_health_in_plaintext_and_binds_its_address_alone(make_cluster):  # noqa: F811
    cluster = make_cluster(nodes=3)
    wait_for_leader(cluster)
    spec = cluster.specs[0]
    request = cluster_pb2.StatusRequest()

    with sync_channel(spec.grpc_address, load_client_tls(cluster.data_dir, "auditor")) as channel:
        assert cluster_pb2_grpc.ClusterStub(channel).Status(request, timeout=5).node_id == spec.node_id

    with sync_channel(spec.grpc_address, None) as channel, pytest.raises(grpc.RpcError) as refused:
        cluster_pb2_grpc.ClusterStub(channel).Status(request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE

    with sync_channel(f"{spec.host}:{health_port(spec)}", None) as channel:
        deadline = time.monotonic() + 15  # SERVING once this node caught up (refreshed every 0.5 s)
        while (status := health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status) \
                != health_pb2.HealthCheckResponse.SERVING and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as unimplemented:
            cluster_pb2_grpc.ClusterStub(channel).Status(request, timeout=5)
        assert unimplemented.value.code() == grpc.StatusCode.UNIMPLEMENTED

    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1 (IPv4, or IPv4-mapped IPv6)
    for port in (spec.grpc_port, health_port(spec), spec.raft_port, spec.metrics_port):
        addresses = _listening(port)
        assert addresses and set(addresses) <= loopback, (port, addresses)
