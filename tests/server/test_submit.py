"""Submit over real gRPC: results in order, dedup, whole-request rejections, replica failures."""

from __future__ import annotations

import grpc
import pytest

from node.api.settlement.v1 import commands_pb2, results_pb2, settlement_pb2, settlement_pb2_grpc
from node.codec.commands import command_to_proto
from node.ledger.commands import Deposit, Withdraw
from node.ledger.limits import batch_commands_max
from node.server import ServerOptions
from tests.server.fake_replica import DIVERGED, FOLLOWER, NO_LEADER, NOT_READY, FakeReplica
from tests.server.serving import channel_to, run, serving


def request_of(*commands) -> settlement_pb2.SubmitRequest:
    return settlement_pb2.SubmitRequest(commands=[command_to_proto(c) for c in commands])


async def submit(server, request) -> settlement_pb2.SubmitResponse:
    async with channel_to(server) as channel:
        return await settlement_pb2_grpc.SettlementStub(channel).Submit(request, timeout=5)


async def refused(server, request) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await submit(server, request)
    return caught.value


def test_submit_applies_the_batch_and_answers_in_order():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server:
            response = await submit(
                server,
                request_of(Deposit("d1", "alice", 100), Withdraw("w1", "alice", 500), Deposit("d2", "bob", 7), Withdraw("w2", "alice", 40)),
            )
        assert [r.id for r in response.results] == ["d1", "w1", "d2", "w2"]
        assert [r.code for r in response.results] == [
            results_pb2.OK, results_pb2.INSUFFICIENT_COLLATERAL, results_pb2.OK, results_pb2.OK,
        ]
        assert [r.collateral for r in response.results] == [100, 100, 7, 60]
        assert response.applied_index == 1
        assert fake.state.accounts["alice"].collateral == 60

    run(main)


def test_a_repeated_id_is_answered_duplicate_with_its_first_outcome():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server:
            first = await submit(server, request_of(Deposit("d1", "alice", 100)))
            again = await submit(server, request_of(Deposit("d1", "alice", 100)))
        assert first.results[0].code == results_pb2.OK
        (result,) = again.results
        assert (result.code, result.original_code, result.collateral) == (results_pb2.DUPLICATE, results_pb2.OK, 100)
        assert again.applied_index == 2
        assert fake.state.accounts["alice"].collateral == 100

    run(main)


def unknown_oneof_command() -> commands_pb2.Command:
    # A command kind from a newer client: field 17 is not in this node's oneof.
    known = commands_pb2.Command(id="x1").SerializeToString()
    unknown_field = bytes([0x8A, 0x01, 2, 8, 1])  # tag 17 << 3 | 2 as a varint, length 2, payload
    return commands_pb2.Command.FromString(known + unknown_field)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (settlement_pb2.SubmitRequest(), "commands"),
        (request_of(*(Deposit(f"d{i}", "alice", 1) for i in range(batch_commands_max + 1))), "commands"),
        (settlement_pb2.SubmitRequest(commands=[command_to_proto(Deposit("ok", "a", 1)), unknown_oneof_command()]), "commands[1]"),
        (settlement_pb2.SubmitRequest(commands=[commands_pb2.Command(id="no-kind")]), "commands[0].kind"),
        (
            settlement_pb2.SubmitRequest(
                commands=[commands_pb2.Command(id="e1", emergency_action=commands_pb2.EmergencyAction(kind=1, nonce=2**63))]
            ),
            "commands[0].emergency_action.nonce",
        ),
        (
            settlement_pb2.SubmitRequest(commands=[command_to_proto(Deposit("d1", "alice", 1))], sequence=2**64 - 1),
            "sequence",
        ),
    ],
    ids=["empty", "too-many", "unknown-oneof", "no-kind", "nonce-beyond-int64", "sequence-beyond-int64"],
)
def test_unrepresentable_requests_are_invalid_argument_and_nothing_is_logged(request_, field):
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server:
            error = await refused(server, request_)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.details().startswith(f"{field}: "), error.details()
        assert fake.submit_calls == []
        assert fake.state.applied_index == 0

    run(main)


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (b"\xff\xff\xff", "request: not a valid settlement.v1.SubmitRequest"),  # garbage
        (b"\x0a" + b"\x80" * 6, "request: not a valid settlement.v1.SubmitRequest"),  # truncated varint
        (b"\x0a\x04\x0a\x02\xc3\x28", "commands[0]: not a settlement.v1.Command"),  # a command whose id is bad UTF-8
    ],
    ids=["garbage", "truncated", "invalid-utf8"],
)
def test_a_body_that_is_not_protobuf_is_invalid_argument(body, details):
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                raw = channel.unary_unary("/settlement.v1.Settlement/Submit")  # bytes in, bytes out
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await raw(body, timeout=5)
                # The server is still fine afterwards.
                ok = await settlement_pb2_grpc.SettlementStub(channel).Submit(request_of(Deposit("d1", "a", 1)), timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert caught.value.details().startswith(details), caught.value.details()
        assert ok.results[0].code == results_pb2.OK
        assert fake.submit_calls == [(1,)]

    run(main)


def test_a_request_over_the_message_limit_is_resource_exhausted():
    fake = FakeReplica()
    limit = 64 * 1024  # the same grpc option as the 4 MiB default, smaller to keep the test quick

    async def main():
        async with serving(fake, ServerOptions(message_bytes_max=limit)) as server:
            request = request_of(Deposit("d1", "alice", 1))
            request.signature = b"\x00" * limit
            error = await refused(server, request)
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert fake.submit_calls == []

    run(main)


def test_the_default_message_limit_is_four_mebibytes():
    assert ServerOptions().message_bytes_max == 4 * 1024 * 1024


def test_a_follower_answers_unavailable_with_the_leader_in_trailing_metadata():
    fake = FakeReplica(mode=FOLLOWER, leader_address="127.0.0.1:7001")

    async def main():
        async with serving(fake) as server:
            error = await refused(server, request_of(Deposit("d1", "alice", 1)))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert ("x-leader", "127.0.0.1:7001") in tuple(error.trailing_metadata())
        assert fake.state.applied_index == 0

    run(main)


def test_a_follower_that_does_not_know_the_leader_sends_no_hint():
    fake = FakeReplica(mode=FOLLOWER, leader_address=None)

    async def main():
        async with serving(fake) as server:
            error = await refused(server, request_of(Deposit("d1", "alice", 1)))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert all(key != "x-leader" for key, _ in error.trailing_metadata() or ())

    run(main)


def test_no_leader_is_unavailable_with_the_reason():
    fake = FakeReplica(mode=NO_LEADER)

    async def main():
        async with serving(fake) as server:
            error = await refused(server, request_of(Deposit("d1", "alice", 1)))
        assert (error.code(), error.details()) == (grpc.StatusCode.UNAVAILABLE, "unavailable: no leader")

    run(main)


def test_an_ambiguous_outcome_is_aborted_with_retry_advice():
    fake = FakeReplica()
    fake.ambiguous_submits = 1

    async def main():
        async with serving(fake) as server:
            error = await refused(server, request_of(Deposit("d1", "alice", 1)))
        assert error.code() == grpc.StatusCode.ABORTED
        assert error.details() == "ambiguous outcome: retry with the same command ids"

    run(main)


@pytest.mark.parametrize(("mode", "code", "details"), [
    (NOT_READY, grpc.StatusCode.UNAVAILABLE, "not ready: replaying log"),
    (DIVERGED, grpc.StatusCode.FAILED_PRECONDITION, "diverged"),
])
def test_a_node_that_cannot_vouch_for_its_state_refuses_writes(mode, code, details):
    fake = FakeReplica(mode=mode)

    async def main():
        async with serving(fake) as server:
            error = await refused(server, request_of(Deposit("d1", "alice", 1)))
        assert error.code() == code
        assert error.details().startswith(details)
        assert fake.submit_calls == []

    run(main)


def test_a_replica_bug_is_internal_and_does_not_stop_the_server():
    fake = FakeReplica()

    async def broken(batches, timeout_s):
        raise RuntimeError("bug")

    async def main():
        async with serving(fake) as server:
            original, fake.submit = fake.submit, broken
            error = await refused(server, request_of(Deposit("d1", "alice", 1)))
            fake.submit = original
            ok = await submit(server, request_of(Deposit("d2", "alice", 1)))
        assert (error.code(), error.details()) == (grpc.StatusCode.INTERNAL, "internal error")
        assert ok.results[0].code == results_pb2.OK

    run(main)
