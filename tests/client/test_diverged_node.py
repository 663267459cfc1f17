"""A diverged node answers FAILED_PRECONDITION; the SDK takes that as "try another node", so a
client that knows the other nodes is not held up by one fenced node."""

from __future__ import annotations

from node.client import SyncSettlementClient
from tests.server.fake_replica import DIVERGED, FakeReplica
from tests.server.serving import threaded


def test_writes_and_reads_go_past_a_diverged_node():
    with threaded(FakeReplica("node1", mode=DIVERGED)) as fenced, threaded(FakeReplica("node2")) as healthy:
        with SyncSettlementClient([fenced.address, healthy.address], timeout_s=5) as client:
            assert client.deposit("alice", 5, id="d1").ok
            assert client.get_account("alice").collateral == 5
        assert fenced.replica.submit_calls == []
