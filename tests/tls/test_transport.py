"""The mTLS transport of a real in-process server: who gets through the handshake, and what the
plaintext health port serves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc, settlement_pb2, settlement_pb2_grpc
from node.client import commands as build
from node.codec.commands import command_to_proto
from node.server import start_server
from node.tls.client import ClientTls, aio_channel
from node.tls.files import TlsFileError
from tests.server.fake_replica import FakeReplica
from tests.server.serving import LOOPBACK, run
from tests.tls.material import client_tls, cluster_tls, expired_client_tls, foreign_client_tls, server_tls

call_timeout_s = 5


@contextlib.asynccontextmanager
async def tls_server(tmp_path, replica: FakeReplica):
    directory = cluster_tls(tmp_path, ("operator",))
    server = await start_server(replica, f"{LOOPBACK}:0", tls=server_tls(directory), health_address=f"{LOOPBACK}:0")
    try:
        yield server, directory
    finally:
        await server.stop(grace=0.2)


@contextlib.asynccontextmanager
async def channel(port: int, tls: ClientTls | None) -> AsyncIterator[grpc.aio.Channel]:
    async with aio_channel(f"{LOOPBACK}:{port}", tls) as ch:
        yield ch


async def _status(port: int, tls: ClientTls | None) -> cluster_pb2.ClusterStatus:
    async with channel(port, tls) as ch:
        return await cluster_pb2_grpc.ClusterStub(ch).Status(cluster_pb2.StatusRequest(), timeout=call_timeout_s)


async def _submit(port: int, tls: ClientTls | None) -> settlement_pb2.SubmitResponse:
    request = settlement_pb2.SubmitRequest(commands=[command_to_proto(build.deposit("alice", 1))])
    async with channel(port, tls) as ch:
        return await settlement_pb2_grpc.SettlementStub(ch).Submit(request, timeout=call_timeout_s)


def _refused(error: grpc.aio.AioRpcError) -> bool:
    # A failed handshake reaches the client as UNAVAILABLE: the connection never came up.
    return error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)


def test_a_certificate_of_the_cluster_ca_is_served(tmp_path):
    async def main():
        async with tls_server(tmp_path, FakeReplica("node1")) as (server, directory):
            assert (await _status(server.port, client_tls(directory, "operator"))).node_id == "node1"

    run(main)


def _credentials(who: str, tmp_path, directory) -> grpc.ChannelCredentials | None:
    """How each kind of stranger connects; None: plaintext."""
    if who == "plaintext":
        return None
    if who == "no certificate":  # TLS, trusting the cluster CA, presenting no certificate
        return grpc.ssl_channel_credentials(directory.ca_certificate.read_bytes())
    tls = foreign_client_tls(tmp_path, directory, "operator") if who == "another CA" else expired_client_tls(tmp_path, directory, "operator")
    return grpc.ssl_channel_credentials(tls.ca_certificate, tls.private_key, tls.certificate_chain)


@pytest.mark.parametrize("who", ["no certificate", "plaintext", "another CA", "expired"])
def test_a_client_without_a_valid_certificate_is_refused_and_nothing_is_applied(tmp_path, who):
    replica = FakeReplica("node1")
    request = settlement_pb2.SubmitRequest(commands=[command_to_proto(build.deposit("alice", 1))])

    async def main():
        async with tls_server(tmp_path, replica) as (server, directory):
            credentials = _credentials(who, tmp_path, directory)
            address = f"{LOOPBACK}:{server.port}"
            ch = grpc.aio.insecure_channel(address) if credentials is None else grpc.aio.secure_channel(address, credentials)
            async with ch:
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await settlement_pb2_grpc.SettlementStub(ch).Submit(request, timeout=call_timeout_s)
            assert _refused(raised.value), raised.value

    run(main)
    assert replica.submit_calls == []
    assert replica.state.applied_index == 0


def test_health_is_reachable_without_a_certificate_on_the_health_port(tmp_path):
    async def main():
        async with tls_server(tmp_path, FakeReplica("node1")) as (server, _):
            async with channel(server.health_port, None) as ch:
                reply = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=call_timeout_s)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

    run(main)


def test_the_health_port_serves_nothing_but_health(tmp_path):
    replica = FakeReplica("node1")

    async def main():
        async with tls_server(tmp_path, replica) as (server, _):
            for call in (_status, _submit):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await call(server.health_port, None)
                assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED

    run(main)
    assert replica.submit_calls == []


async def _list_services(port: int, tls: ClientTls | None) -> list[str]:
    async with channel(port, tls) as ch:
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        call = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=call_timeout_s)
        async for reply in call:
            return [service.name for service in reply.list_services_response.service]
    return []


def test_reflection_answers_a_valid_certificate(tmp_path):
    async def main():
        async with tls_server(tmp_path, FakeReplica("node1")) as (server, directory):
            assert "settlement.v1.Settlement" in await _list_services(server.port, client_tls(directory, "operator"))

    run(main)


def test_reflection_is_refused_without_a_certificate(tmp_path):
    async def main():
        async with tls_server(tmp_path, FakeReplica("node1")) as (server, _):
            for port in (server.port, server.health_port):
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await _list_services(port, None)
                assert raised.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNIMPLEMENTED)

    run(main)


def test_a_server_with_a_readable_private_key_refuses_to_start(tmp_path):
    directory = cluster_tls(tmp_path)
    directory.key("node1").chmod(0o644)

    async def main():
        with pytest.raises(TlsFileError, match="chmod 600"):
            await start_server(FakeReplica("node1"), f"{LOOPBACK}:0", tls=server_tls(directory))

    run(main)
