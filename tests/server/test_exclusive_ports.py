"""The node's gRPC servers never share a port (grpc enables SO_REUSEPORT by default): a port
another listener holds fails the bind, naming the service and the address."""

from __future__ import annotations

import pytest

from node.port_check import GRPC, HEALTH, AddressInUse
from node.server import start_server
from tests.listener import listening
from tests.server.fake_replica import FakeReplica
from tests.server.serving import LOOPBACK, run


def test_a_grpc_port_held_by_a_listener_that_allows_sharing_is_refused():
    async def main():
        with listening(LOOPBACK) as port:
            with pytest.raises(AddressInUse, match=f"cannot listen for gRPC on {LOOPBACK}:{port}") as refused:
                await start_server(FakeReplica(), f"{LOOPBACK}:{port}")
        assert refused.value.service == GRPC

    run(main)


def test_a_health_port_held_by_a_listener_that_allows_sharing_is_refused():
    async def main():
        with listening(LOOPBACK) as port:
            with pytest.raises(AddressInUse, match=f"cannot listen for health on {LOOPBACK}:{port}") as refused:
                await start_server(FakeReplica(), f"{LOOPBACK}:0", health_address=f"{LOOPBACK}:{port}")
        assert refused.value.service == HEALTH

    run(main)
