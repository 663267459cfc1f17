"""The async SDK against real servers: leader following, exactly-once retries, errors, reads."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import grpc
import pytest

from node.api.settlement.v1 import commands_pb2, events_pb2
from node.client import (
    LOCAL,
    ClusterUnavailable,
    NotFound,
    OutcomeUnknown,
    SettlementClient,
    SubmitRejected,
    SyncSettlementClient,
    create_market,
    deposit,
    new_command_id,
    price_update,
    settle_trade,
    withdraw,
)
from node.client.retry import backoff_s
from node.ledger.commands import Deposit
from node.ledger.limits import command_id_bytes_max
from node.ledger.results import ResultCode
from node.ledger.validation import is_valid_id
from tests.server.fake_replica import FOLLOWER, NO_LEADER, NOT_READY, FakeReplica
from tests.server.serving import address, run, serving, threaded

FAST = dict(timeout_s=3.0, backoff_base_ms=5, backoff_max_ms=20)


def closed_port() -> str:
    """A loopback address nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@contextlib.asynccontextmanager
async def client_of(*addresses: str, **options):
    client = SettlementClient(list(addresses), **(FAST | options))
    try:
        yield client
    finally:
        await client.close()


def test_submit_returns_ledger_results_and_the_applied_index():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            return await client.submit([Deposit("d1", "alice", 100), withdraw("alice", 500, id="w1")])

    results, applied_index = run(main)
    assert [(r.id, r.code, r.collateral, r.duplicate) for r in results] == [
        ("d1", ResultCode.OK, 100, False),
        ("w1", ResultCode.INSUFFICIENT_COLLATERAL, 100, False),
    ]
    assert applied_index == 1


def test_protobuf_commands_are_accepted_as_they_are():
    fake = FakeReplica()
    command = commands_pb2.Command(id="d1", deposit=commands_pb2.Deposit(account="alice", amount=3))

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            return await client.submit([command])

    assert run(main).results[0].collateral == 3


def test_the_client_follows_a_follower_to_the_leader_and_the_command_applies_once():
    leader = FakeReplica("node1")

    async def main():
        async with serving(leader) as leader_server:
            follower = FakeReplica("node2", mode=FOLLOWER, leader_address=address(leader_server))
            async with serving(follower) as follower_server:
                # Only the follower is known: the leader is learned from its hint.
                async with client_of(address(follower_server)) as client:
                    result = await client.deposit("alice", 100, id="d1")
                    assert client.leader == address(leader_server)
                    assert address(leader_server) in client.addresses
                    second = await client.deposit("alice", 1, id="d2")
        assert follower.submit_calls == [] and follower.state.applied_index == 0
        return result, second

    result, second = run(main)
    assert (result.code, result.duplicate, result.collateral) == (ResultCode.OK, False, 100)
    assert second.collateral == 101
    assert leader.submit_calls == [(1,), (1,)]  # the second went straight to the remembered leader


def test_an_ambiguous_outcome_is_retried_with_the_same_ids_and_applies_exactly_once():
    fake = FakeReplica()
    fake.ambiguous_submits = 1  # applied, then the reply is lost

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            return await client.submit([deposit("alice", 100), withdraw("alice", 1_000)])

    (applied, refused), _ = run(main)
    assert len(fake.submit_calls) == 2
    assert fake.state.accounts["alice"].collateral == 100  # once, not twice
    # Presented as the original outcome, marked as answered from dedup.
    assert (applied.code, applied.duplicate, applied.collateral) == (ResultCode.OK, True, 100)
    assert (refused.code, refused.duplicate) == (ResultCode.INSUFFICIENT_COLLATERAL, True)
    assert not refused.ok


def test_an_ambiguous_failure_before_commit_is_retried_and_applies_once():
    fake = FakeReplica()
    fake.ambiguous_submits = 2
    fake.ambiguous_after_apply = False

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            return await client.deposit("alice", 100)

    result = run(main)
    assert (result.code, result.duplicate) == (ResultCode.OK, False)
    assert len(fake.submit_calls) == 3 and fake.state.accounts["alice"].collateral == 100


def test_retries_are_bounded_and_an_ambiguous_end_says_outcome_unknown():
    fake = FakeReplica()
    fake.ambiguous_submits = 100

    async def main():
        async with serving(fake) as server, client_of(address(server), max_attempts=4) as client:
            with pytest.raises(OutcomeUnknown) as caught:
                await client.deposit("alice", 100)
        return caught.value

    error = run(main)
    assert error.code == grpc.StatusCode.ABORTED
    assert len(fake.submit_calls) == 4


def test_an_unreachable_node_is_skipped():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, client_of(closed_port(), address(server)) as client:
            result = await client.deposit("alice", 100)
            return result, client.leader == address(server)

    result, remembered = run(main)
    assert result.ok and remembered


def test_no_reachable_node_is_cluster_unavailable_and_not_ambiguous():
    async def main():
        async with client_of(closed_port(), closed_port(), max_attempts=3) as client:
            with pytest.raises(ClusterUnavailable) as caught:
                await client.deposit("alice", 100)
        return caught.value

    error = run(main)
    assert not isinstance(error, OutcomeUnknown)
    assert error.code == grpc.StatusCode.UNAVAILABLE


def test_nodes_that_refuse_before_logging_are_tried_in_turn():
    async def main():
        replaying, leaderless, leader = FakeReplica(mode=NOT_READY), FakeReplica(mode=NO_LEADER), FakeReplica()
        async with serving(replaying) as a, serving(leaderless) as b, serving(leader) as c:
            async with client_of(address(a), address(b), address(c)) as client:
                result = await client.deposit("alice", 1)
        return result, leader

    result, leader = run(main)
    assert result.ok and leader.submit_calls == [(1,)]


def test_a_request_refused_as_a_whole_raises_submit_rejected():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            with pytest.raises(SubmitRejected) as caught:
                await client.submit([])
        return caught.value

    error = run(main)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details.startswith("commands: ")
    assert fake.submit_calls == []


def test_reads():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            await client.submit([create_market("BTC-PERP"), deposit("alice", 100)])
            account = await client.get_account("alice")
            local = await client.get_account("alice", LOCAL)
            market = await client.get_market("BTC-PERP")
            guards = await client.get_guards()
            with pytest.raises(NotFound):
                await client.get_account("nobody")
            statuses = await client.statuses()
        return account, local, market, guards, statuses

    account, local, market, guards, statuses = run(main)
    assert account.collateral == local.collateral == 100
    assert fake.barrier_calls == 4  # every read but the LOCAL one, the miss included
    assert market.params.market == "BTC-PERP"
    assert guards.insurance_fund == 0
    ((_, status),) = statuses
    assert status.node_id == "node1"


def test_watch_events_yields_the_liquidation():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            await client.submit(
                [
                    create_market("BTC-PERP"),
                    price_update("BTC-PERP", "src-a", 50_000, 10),
                    deposit("bob", 10_000_000),
                    deposit("thin", 500_000),
                    settle_trade("BTC-PERP", "thin", "bob", 50_000, 100),
                ]
            )
            stream = client.watch_events([events_pb2.LIQUIDATION])
            first = asyncio.ensure_future(stream.__anext__())
            while fake.subscriber_count == 0:
                await asyncio.sleep(0.005)
            await client.price_update("BTC-PERP", "src-a", 47_000, 20)
            event = await asyncio.wait_for(first, 5)
            await stream.aclose()
            return event

    event = run(main)
    assert (event.liquidation.account, event.liquidation.price) == ("thin", 47_000)
    assert fake.subscriber_count == 0


def test_the_sync_client_runs_the_sdk_on_its_own_loop():
    fake = FakeReplica()
    with threaded(fake) as served:
        with SyncSettlementClient([served.address], **FAST) as client:
            result = client.deposit("alice", 100)
            account = client.get_account("alice")
            assert client.leader == served.address
    assert result.ok and account.collateral == 100


def test_builders_make_unique_valid_ids_unless_given():
    ids = {new_command_id("dep") for _ in range(1_000)}
    assert len(ids) == 1_000
    assert all(is_valid_id(i, command_id_bytes_max) for i in ids)
    assert deposit("a", 1).id != deposit("a", 1).id
    assert deposit("a", 1, id="mine").id == "mine"
    assert settle_trade("M", "a", "b", 1, 1).id.startswith("trade:")
    assert create_market("M").maintenance_margin_bps == 500


def test_backoff_is_bounded_and_jittered():
    delays = [backoff_s(retry, 25, 800) for retry in range(1, 30)]
    assert all(0 < d <= 0.8 for d in delays)
    assert 0.0125 <= backoff_s(1, 25, 800) <= 0.025
    assert len({backoff_s(5, 25, 800) for _ in range(20)}) > 1
