"""Cluster.Status, standard health checking and server reflection."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.ledger import LogEntry, apply
from node.ledger.commands import Deposit
from node.server import ServerOptions
from tests.server.fake_replica import DIVERGED, NOT_READY, FakeReplica
from tests.server.serving import channel_to, run, serving

FAST_HEALTH = ServerOptions(health_period_ms=20)


def test_status_reports_the_replica_view():
    fake = FakeReplica("node7")
    apply(fake.state, LogEntry(1, 1_000, (Deposit("d1", "alice", 5),)))

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                return await cluster_pb2_grpc.ClusterStub(channel).Status(cluster_pb2.StatusRequest(), timeout=5)

    status = run(main)
    assert (status.node_id, status.role, status.leader, status.term) == ("node7", cluster_pb2.ClusterStatus.LEADER, "node7", 1)
    assert (status.commit_index, status.applied_index) == (1, 1)
    assert status.state_hash == fake.state.state_hash.to_bytes(32, "big")
    assert (status.ready, status.diverged) == (True, False)
    assert [(p.node_id, p.connected, p.match_index) for p in status.peers] == [("node2", True, 1)]


def test_status_answers_even_when_the_node_is_not_ready():
    fake = FakeReplica(mode=NOT_READY)

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                return await cluster_pb2_grpc.ClusterStub(channel).Status(cluster_pb2.StatusRequest(), timeout=5)

    assert run(main).ready is False


async def health_of(channel: grpc.aio.Channel, service: str = "") -> int:
    response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return response.status


async def health_becomes(channel: grpc.aio.Channel, wanted: int, service: str = "") -> int:
    for _ in range(100):
        status = await health_of(channel, service)
        if status == wanted:
            return status
        await asyncio.sleep(0.02)
    return status


def test_health_follows_readiness_and_divergence():
    fake = FakeReplica()
    serving_, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING

    async def main():
        async with serving(fake, FAST_HEALTH) as server:
            async with channel_to(server) as channel:
                assert await health_of(channel) == serving_
                assert await health_of(channel, "settlement.v1.Settlement") == serving_
                fake.mode = NOT_READY
                assert await health_becomes(channel, not_serving) == not_serving
                assert await health_of(channel, "settlement.v1.Settlement") == not_serving
                assert await health_of(channel, "settlement.v1.Cluster") == serving_
                fake.mode = "leader"
                assert await health_becomes(channel, serving_) == serving_
                fake.mode = DIVERGED
                assert await health_becomes(channel, not_serving) == not_serving

    run(main)


def test_a_node_that_starts_not_ready_is_not_serving_at_once():
    fake = FakeReplica(mode=NOT_READY)

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                return await health_of(channel)

    assert run(main) == health_pb2.HealthCheckResponse.NOT_SERVING


def test_reflection_lists_the_services():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                stub = reflection_pb2_grpc.ServerReflectionStub(channel)
                requests = [
                    reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol="settlement.v1.Settlement"),
                ]
                return [response async for response in stub.ServerReflectionInfo(iter(requests), timeout=5)]

    listed, files = run(main)
    names = {service.name for service in listed.list_services_response.service}
    assert {"settlement.v1.Settlement", "settlement.v1.Cluster", "grpc.health.v1.Health"} <= names
    assert files.file_descriptor_response.file_descriptor_proto  # grpcurl can describe the API
