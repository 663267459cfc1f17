"""A write sent to a follower is redirected and applied once; every node then reads it."""

from __future__ import annotations

import time

import grpc

from node.api.settlement.v1 import commands_pb2, settlement_pb2, settlement_pb2_grpc
from node.ledger.commands import Deposit
from node.ledger.results import ResultCode

from .probe import channel, node_status, wait_converged, wait_for_leader


def test_follower_answers_a_write_with_unavailable_and_the_leader_address(make_cluster):
    cluster = make_cluster(nodes=3)
    leader = wait_for_leader(cluster)
    follower = next(s for s in cluster.specs if s.number != leader)
    # The follower learns the leader from its first heartbeat; until then it has no hint to give.
    deadline = time.monotonic() + 10
    while getattr(node_status(follower.grpc_address), "leader", "") != cluster.specs[leader - 1].node_id:
        assert time.monotonic() < deadline, "the follower never learned the leader"
        time.sleep(0.05)
    request = settlement_pb2.SubmitRequest(
        commands=[commands_pb2.Command(id="dep-1", deposit=commands_pb2.Deposit(account="alice", amount=5))]
    )
    with channel(follower.grpc_address) as follower_channel:
        try:
            settlement_pb2_grpc.SettlementStub(follower_channel).Submit(request, timeout=5)
            raise AssertionError("a follower accepted a write")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            metadata = dict(error.trailing_metadata() or ())
            assert metadata.get("x-leader") == cluster.specs[leader - 1].grpc_address


def test_sdk_pointed_at_a_follower_applies_the_write_once_and_every_node_reads_it(make_cluster):
    cluster = make_cluster(nodes=3)
    leader = wait_for_leader(cluster)
    follower = next(s for s in cluster.specs if s.number != leader)
    with cluster.client([follower.grpc_address]) as client:
        first = client.submit([Deposit("dep-alice", "alice", 700)])
        again = client.submit([Deposit("dep-alice", "alice", 700)])
    assert first.results[0].code == ResultCode.OK and not first.results[0].duplicate
    assert again.results[0].duplicate and again.results[0].collateral == 700
    for spec in cluster.specs:
        with cluster.client([spec.grpc_address]) as client:
            assert client.get_account("alice", consistency="linearizable").collateral == 700
    wait_converged(cluster)
    for spec in cluster.specs:
        with cluster.client([spec.grpc_address]) as client:
            local = client.get_account("alice", consistency="local", address=spec.grpc_address)
            assert local.collateral == 700 and local.applied_index >= first.applied_index
