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
    KeyFormatError,
    NotFound,
    OutcomeUnknown,
    SettlementClient,
    SubmitRejected,
    SyncSettlementClient,
    create_market,
    deposit,
    new_command_id,
    oracle_source,
    read_private_key,
    settle_trade,
    signed_price_update,
    withdraw,
    write_private_key,
)
from node.client.retry import backoff_s
from node.identity.keys import raw_private_key, raw_public_key, sign_price, verify_ed25519
from node.ledger.signatures import price_update_bytes
from node.ledger.commands import Deposit
from node.ledger.limits import command_id_bytes_max
from node.ledger.results import ResultCode
from node.ledger.validation import is_valid_id
from tests.ledger.driver import source_key
from tests.server.fake_replica import FOLLOWER, NO_LEADER, NOT_READY, FakeReplica
from tests.server.serving import address, run, serving, threaded

FAST = dict(timeout_s=3.0, backoff_base_ms=5, backoff_max_ms=20)
KEY = source_key("src-a")
SOURCE = oracle_source("src-a", KEY)


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
            await client.submit([create_market("BTC-PERP", sources=[SOURCE]), deposit("alice", 100)])
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
                    create_market("BTC-PERP", sources=[SOURCE]),
                    signed_price_update("BTC-PERP", "src-a", 50_000, KEY, source_time_ms=1_000_500),
                    deposit("bob", 10_000_000),
                    deposit("thin", 500_000),
                ]
            )
            # its own entry: the mark is made at the end of the entry with the price
            await client.submit([settle_trade("BTC-PERP", "thin", "bob", 50_000, 100)])
            stream = client.watch_events([events_pb2.LIQUIDATION])
            first = asyncio.ensure_future(stream.__anext__())
            while fake.subscriber_count == 0:
                await asyncio.sleep(0.005)
            await client.submit_price("BTC-PERP", "src-a", 47_000, KEY, source_time_ms=1_001_500)
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


def test_submit_price_signs_as_the_source_and_moves_the_mark():
    fake = FakeReplica()  # entry n is stamped 1_000_000 + n * 1_000

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            await client.submit([create_market("BTC-PERP", sources=[SOURCE])])
            by_key = await client.submit_price("BTC-PERP", "src-a", 50_000, KEY, source_time_ms=1_001_500)
            by_raw_key = await client.submit_price("BTC-PERP", "src-a", 50_100, raw_private_key(KEY), source_time_ms=1_002_500)
            wrong_key = await client.submit_price("BTC-PERP", "src-a", 10_000, source_key("src-b"), source_time_ms=1_003_500)
            signature = sign_price(KEY, "BTC-PERP", "src-a", 50_200, 1_004_500)
            presigned = await client.price_update("BTC-PERP", "src-a", 50_200, 1_004_500, signature=signature)
            market = await client.get_market("BTC-PERP")
        return by_key, by_raw_key, wrong_key, presigned, market

    by_key, by_raw_key, wrong_key, presigned, market = run(main)
    assert by_key.ok and by_raw_key.ok and presigned.ok
    assert wrong_key.code == ResultCode.INVALID_SIGNATURE
    assert (market.mark_price, market.mark_time_ms) == (50_200, 1_004_500)


def test_a_price_stamped_outside_the_ledgers_window_is_a_result_not_an_exception():
    # The source time defaults to the wall clock; the fake's ledger time is 1970, so "now" is
    # far ahead of it.
    fake = FakeReplica()
    with threaded(fake) as served, SyncSettlementClient([served.address], **FAST) as client:
        assert client.submit_one(create_market("BTC-PERP", sources=[SOURCE])).ok
        result = client.submit_price("BTC-PERP", "src-a", 50_000, KEY)
    assert result.code == ResultCode.STALE_PRICE
    assert "ahead of ledger time" in result.message


def test_the_price_builder_signs_the_canonical_bytes_and_refuses_what_has_none():
    update = signed_price_update("BTC-PERP", "src-a", 50_000, KEY, source_time_ms=7, id="px-1")
    assert (update.id, update.source_time_ms) == ("px-1", 7)
    message = price_update_bytes("BTC-PERP", "src-a", 50_000, 7)
    assert verify_ed25519(SOURCE.public_key, message, update.signature)
    assert signed_price_update("BTC-PERP", "src-a", 1, KEY).source_time_ms > 1_700_000_000_000  # now by default
    with pytest.raises(ValueError, match="int64"):
        signed_price_update("BTC-PERP", "src-a", 2**63, KEY, source_time_ms=7)
    with pytest.raises(KeyFormatError):
        signed_price_update("BTC-PERP", "src-a", 1, b"\x01" * 31, source_time_ms=7)
    with pytest.raises(KeyFormatError):
        oracle_source("src-a", b"\x01" * 33)
    assert oracle_source("src-a", SOURCE.public_key) == SOURCE


def test_key_files_hold_raw_bytes_or_hex_and_anything_else_is_refused(tmp_path):
    written = tmp_path / "fresh.key"
    key = write_private_key(written)
    assert written.stat().st_mode & 0o777 == 0o600
    assert raw_public_key(read_private_key(written)) == raw_public_key(key)
    with pytest.raises(FileExistsError):
        write_private_key(written)  # never overwrites a key
    raw = tmp_path / "raw.key"
    raw.write_bytes(raw_private_key(KEY))
    assert raw_public_key(read_private_key(raw)) == SOURCE.public_key
    hex_text = tmp_path / "hex.key"
    hex_text.write_text(f"  {raw_private_key(KEY).hex()}\n")
    assert raw_public_key(read_private_key(hex_text)) == SOURCE.public_key
    for name, content in (("short", b"\x01" * 31), ("text", b"not a key\n"), ("pem", b"-----BEGIN PRIVATE KEY-----\n")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(KeyFormatError, match="not an Ed25519 private key"):
            read_private_key(tmp_path / name)
    with pytest.raises(KeyFormatError, match="cannot read"):
        read_private_key(tmp_path / "missing")
