"""A wiped follower catches up through a snapshot; bad input over gRPC changes nothing."""

from __future__ import annotations

import shutil

import grpc
import pytest

from node.api.settlement.v1 import commands_pb2, settlement_pb2, settlement_pb2_grpc
from node.ledger.commands import Deposit
from node.ledger.results import ResultCode

from .probe import channel, trust, wait_converged, wait_for_leader

compaction_entries_min = 50


def test_wiped_follower_catches_up_through_a_snapshot(make_cluster):
    cluster = make_cluster(nodes=3, raft_tuning={"log_compaction_entries_min": compaction_entries_min})
    leader = wait_for_leader(cluster)
    follower = next(s.number for s in cluster.specs if s.number != leader)
    with cluster.client(cluster.grpc_addresses) as client:
        for n in range(3 * compaction_entries_min):  # enough entries for every node to compact
            client.submit([Deposit(f"snap-{n}", f"acct-{n % 7}", 10)])
        wait_converged(cluster)
        cluster.kill(follower)
        node_dir = cluster.node_dir(follower)
        for item in node_dir.iterdir():
            if item.name != "node.toml":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        cluster.start(follower)
        for n in range(10):
            client.submit([Deposit(f"after-{n}", "acct-0", 1)])
    statuses = wait_converged(cluster, timeout_s=60)
    assert "installed snapshot" in (node_dir / "node.log").read_text()
    assert statuses[follower].applied_index > 3 * compaction_entries_min


def _raw_submit(address: str, payload: bytes):
    with channel(address, options=[("grpc.max_send_message_length", 64 << 20)]) as node_channel:
        call = node_channel.unary_unary("/settlement.v1.Settlement/Submit", request_serializer=None, response_deserializer=None)
        return call(payload, timeout=10)


def _deposit(command_id: str, amount: int = 1, account: str = "alice") -> commands_pb2.Command:
    return commands_pb2.Command(id=command_id, deposit=commands_pb2.Deposit(account=account, amount=amount))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire_type)
    return key + (_varint(len(payload)) + payload if wire_type == 2 else payload)


def _int64_varint_beyond_range() -> bytes:
    """A Deposit whose amount is 2^63, written as a raw varint, as a client in another language
    might send it: protobuf reads int64 modulo 2^64, so it arrives as -2^63."""
    deposit_fields = commands_pb2.Deposit.DESCRIPTOR.fields_by_name
    command_fields = commands_pb2.Command.DESCRIPTOR.fields_by_name
    deposit = _field(deposit_fields["account"].number, 2, b"alice") + _field(deposit_fields["amount"].number, 0, _varint(2**63))
    command = _field(command_fields["id"].number, 2, b"big") + _field(command_fields["deposit"].number, 2, deposit)
    return _field(settlement_pb2.SubmitRequest.DESCRIPTOR.fields_by_name["commands"].number, 2, command)


BAD_REQUESTS = {
    "empty batch": settlement_pb2.SubmitRequest().SerializeToString(),
    "100,000 commands": settlement_pb2.SubmitRequest(commands=[_deposit(f"d{n}") for n in range(100_000)]).SerializeToString(),
    "no oneof member": settlement_pb2.SubmitRequest(commands=[commands_pb2.Command(id="x")]).SerializeToString(),
    # A command kind this node does not know (field 99 of Command), as a newer client might send.
    "unknown oneof member": _field(1, 2, _field(1, 2, b"new") + _field(99, 2, b"")),
    "sequence beyond int64": settlement_pb2.SubmitRequest(commands=[_deposit("seq")], sequence=2**63).SerializeToString(),
    "garbage bytes": b"\xff\xff\xff\xff\x0f",
}


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory):
    from cluster.local import LocalCluster

    from .conftest import free_base_port

    cluster = LocalCluster(tmp_path_factory.mktemp("bad-input"), nodes=3, base_port=free_base_port(3))
    cluster.prepare()
    trust(cluster)
    cluster.start()
    try:
        leader = wait_for_leader(cluster)
        with cluster.client(cluster.grpc_addresses) as client:
            client.submit([Deposit("seed-alice", "alice", 1_000)])
        yield cluster, cluster.specs[leader - 1].grpc_address
    finally:
        cluster.stop()


def _alice(cluster) -> int:
    with cluster.client(cluster.grpc_addresses) as client:
        return client.get_account("alice").collateral


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_malformed_request_is_refused_whole_and_changes_nothing(shared_cluster, name):
    cluster, leader_address = shared_cluster
    with pytest.raises(grpc.RpcError) as caught:
        _raw_submit(leader_address, BAD_REQUESTS[name])
    assert caught.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED), caught.value
    assert caught.value.details()
    assert _alice(cluster) == 1_000


def test_overlong_id_and_out_of_range_amount_are_refused_per_command(shared_cluster):
    cluster, leader_address = shared_cluster
    request = settlement_pb2.SubmitRequest(commands=[_deposit("x" * 65), _deposit("ok-1", 5)]).SerializeToString()
    reply = settlement_pb2.SubmitResponse.FromString(_raw_submit(leader_address, request))
    assert [r.code for r in reply.results] == [ResultCode.INVALID_ID, ResultCode.OK]
    reply = settlement_pb2.SubmitResponse.FromString(_raw_submit(leader_address, _int64_varint_beyond_range()))
    assert [r.code for r in reply.results] == [ResultCode.INVALID_AMOUNT]
    assert _alice(cluster) == 1_005
