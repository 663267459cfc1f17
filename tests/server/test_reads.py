"""GetAccount, GetMarket, GetGuards, GetCheckpoint: consistency, views, NOT_FOUND."""

from __future__ import annotations

import grpc
import pytest

from node.api.settlement.v1 import commands_pb2, settlement_pb2, settlement_pb2_grpc, state_pb2
from node.identity.keys import verify_ed25519
from node.ledger import INSURANCE_FUND, LogEntry, apply
from node.ledger.commands import Deposit, SettleTrade
from node.ledger.records import AccountStatus, MarketStatus
from node.ledger.results import ResultCode
from node.replica.port import AmbiguousOutcome
from tests.ledger.driver import create_market, oracle_source, signed_price
from tests.server.fake_replica import FOLLOWER, NOT_READY, FakeReplica
from tests.server.serving import channel_to, run, serving


SOURCE_TIME_MS = 999_500  # just before the seeding entry's ledger time, 1_000_000


def seeded() -> FakeReplica:
    """alice long BTC-PERP and ETH-PERP against bob; marks set; BTC-PERP's fund topped up. Two
    entries at one ledger time: an entry's prices make its mark at its end, so the trades that need
    that mark come in the next (docs/design.md#one-mark-per-entry)."""
    fake = FakeReplica()
    listing = (
        create_market(),
        create_market(market="ETH-PERP"),
        signed_price("p1", "BTC-PERP", "src-a", 50_000, SOURCE_TIME_MS),
        signed_price("p2", "ETH-PERP", "src-a", 3_000, SOURCE_TIME_MS),
        Deposit("d1", "alice", 10_000_000),
        Deposit("d2", "bob", 10_000_000),
        Deposit("d3", "sys:fund:BTC-PERP", 77),
    )
    trades = (
        SettleTrade("t1", "ETH-PERP", "alice", "bob", 3_000, 5),
        SettleTrade("t2", "BTC-PERP", "alice", "bob", 50_000, 2),
    )
    for index, commands in enumerate((listing, trades), start=1):
        outcome = apply(fake.state, LogEntry(index, 1_000_000, commands), verify_ed25519)
        assert all(r.ok for r in outcome.results), outcome.results
    return fake


async def call(server, method: str, request):
    async with channel_to(server) as channel:
        return await getattr(settlement_pb2_grpc.SettlementStub(channel), method)(request, timeout=5)


async def refused(server, method: str, request) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(server, method, request)
    return caught.value


def test_account_view_has_collateral_status_and_positions_sorted_by_market():
    fake = seeded()

    async def main():
        async with serving(fake) as server:
            return await call(server, "GetAccount", settlement_pb2.GetAccountRequest(account="alice"))

    account = run(main)
    assert (account.id, account.collateral, account.status) == ("alice", 10_000_000, state_pb2.Account.ACTIVE)
    assert [(p.market, p.size, p.cost_basis) for p in account.positions] == [("BTC-PERP", 2, 100_000), ("ETH-PERP", 5, 15_000)]
    assert account.applied_index == 2


@pytest.mark.parametrize(
    ("consistency", "barriers"),
    [(settlement_pb2.CONSISTENCY_UNSPECIFIED, 1), (settlement_pb2.LINEARIZABLE, 1), (settlement_pb2.LOCAL, 0)],
    ids=["unspecified", "linearizable", "local"],
)
def test_linearizable_reads_pass_a_read_barrier_and_local_reads_do_not(consistency, barriers):
    fake = seeded()

    async def main():
        async with serving(fake) as server:
            return await call(server, "GetAccount", settlement_pb2.GetAccountRequest(account="bob", consistency=consistency))

    account = run(main)
    assert account.collateral == 10_000_000
    assert (fake.barrier_calls, fake.read_calls) == (barriers, 1)


def test_a_follower_serves_local_reads_and_redirects_linearizable_ones():
    fake = seeded()
    fake.mode = FOLLOWER
    fake.leader_address = "127.0.0.1:7001"

    async def main():
        async with serving(fake) as server:
            local = await call(server, "GetAccount", settlement_pb2.GetAccountRequest(account="bob", consistency=settlement_pb2.LOCAL))
            error = await refused(server, "GetAccount", settlement_pb2.GetAccountRequest(account="bob"))
        return local, error

    local, error = run(main)
    assert local.applied_index == 2
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert ("x-leader", "127.0.0.1:7001") in tuple(error.trailing_metadata())


def test_market_view():
    fake = seeded()

    async def main():
        async with serving(fake) as server:
            return await call(server, "GetMarket", settlement_pb2.GetMarketRequest(market="BTC-PERP", consistency=settlement_pb2.LOCAL))

    market = run(main)
    assert market.params.market == "BTC-PERP"
    assert market.params.kind == commands_pb2.PERPETUAL
    assert (market.params.initial_margin_bps, market.params.maintenance_margin_bps) == (1_000, 500)
    assert (market.status, market.mark_price, market.mark_time_ms) == (state_pb2.Market.ACTIVE, 50_000, SOURCE_TIME_MS)
    assert market.open_interest == 2
    assert market.status_since_ms == 1_000_000
    assert market.breaker.market == "BTC-PERP" and market.breaker.until_ms == 0
    assert market.applied_index == 2
    # The oracle: its registered source and last price, the verdict, and the market's own fund.
    assert [(s.source, s.public_key) for s in market.params.sources] == [("src-a", oracle_source("src-a").public_key)]
    assert (market.params.min_sources, market.params.stale_after_ms, market.params.liquidation_slice_bps) == (1, 60_000, 10_000)
    assert market.oracle_verdict == state_pb2.Market.VALID
    assert market.fresh_until_ms == SOURCE_TIME_MS + 60_000 + 1
    assert market.twap == 50_000
    assert [(s.source, s.price, s.source_time_ms, s.counted) for s in market.sources] == [("src-a", 50_000, SOURCE_TIME_MS, True)]
    assert market.fund == 77


def test_market_view_shows_each_sources_exclusion_and_outlier_prints():
    fake = FakeReplica()
    sources = tuple(oracle_source(s) for s in ("a", "b", "c"))
    prices = [signed_price(f"p-{s}", "BTC-PERP", s, p, SOURCE_TIME_MS) for s, p in (("a", 50_000), ("b", 50_100), ("c", 1_000_000))]
    outcome = apply(fake.state, LogEntry(1, 1_000_000, (create_market(sources=sources, min_sources=2), *prices)), verify_ed25519)
    assert [r.code for r in outcome.results][1:] == [ResultCode.OK, ResultCode.OK, ResultCode.PRICE_OUTLIER]

    async def main():
        async with serving(fake) as server:
            return await call(server, "GetMarket", settlement_pb2.GetMarketRequest(market="BTC-PERP", consistency=settlement_pb2.LOCAL))

    market = run(main)
    assert [(s.source, s.counted, s.exclusion, s.outlier_prints) for s in market.sources] == [
        ("a", True, state_pb2.SourcePrice.EXCLUSION_NONE, 0), ("b", True, state_pb2.SourcePrice.EXCLUSION_NONE, 0),
        ("c", False, state_pb2.SourcePrice.OUTLIER, 1)]
    assert (market.params.HasField("outlier_bps"), market.params.outlier_bps, market.params.clamp_after_ms) == (True, 1_000, 0)
    assert market.mark_price == 50_000


def test_guards_view_shows_the_insurance_fund():
    fake = seeded()
    with fake._lock:
        fund = fake.state.accounts[INSURANCE_FUND]
        markets = sorted(fake.state.markets)

    async def main():
        async with serving(fake) as server:
            return await call(server, "GetGuards", settlement_pb2.GetGuardsRequest())

    guards = run(main)
    assert (guards.mode, guards.insurance_fund) == (state_pb2.Guards.NORMAL, fund.collateral)
    assert [b.market for b in guards.breakers] == markets  # one per market, none tripped
    assert all(b.tripped_at_ms == 0 and b.until_ms == 0 for b in guards.breakers)
    assert guards.applied_index == 2


@pytest.mark.parametrize(
    ("method", "request_", "code", "details"),
    [
        ("GetAccount", settlement_pb2.GetAccountRequest(account="nobody"), grpc.StatusCode.NOT_FOUND, "no account nobody"),
        ("GetMarket", settlement_pb2.GetMarketRequest(market="DOGE-PERP"), grpc.StatusCode.NOT_FOUND, "no market DOGE-PERP"),
        ("GetCheckpoint", settlement_pb2.GetCheckpointRequest(), grpc.StatusCode.NOT_FOUND, "no certified checkpoint"),
        ("GetAccount", settlement_pb2.GetAccountRequest(account="bad id!"), grpc.StatusCode.INVALID_ARGUMENT, "account: "),
        ("GetAccount", settlement_pb2.GetAccountRequest(account=""), grpc.StatusCode.INVALID_ARGUMENT, "account: "),
        ("GetMarket", settlement_pb2.GetMarketRequest(market="M" * 33), grpc.StatusCode.INVALID_ARGUMENT, "market: "),
        ("GetGuards", settlement_pb2.GetGuardsRequest(consistency=7), grpc.StatusCode.INVALID_ARGUMENT, "consistency: "),
    ],
    ids=["account", "market", "checkpoint", "account-charset", "account-empty", "market-too-long", "consistency"],
)
def test_unknown_ids_are_not_found_and_malformed_ones_invalid(method, request_, code, details):
    fake = seeded()

    async def main():
        async with serving(fake) as server:
            return await refused(server, method, request_)

    error = run(main)
    assert error.code() == code
    assert error.details().startswith(details), error.details()


def test_a_node_replaying_its_log_refuses_reads():
    fake = seeded()
    fake.mode = NOT_READY

    async def main():
        async with serving(fake) as server:
            return await refused(server, "GetAccount", settlement_pb2.GetAccountRequest(account="bob", consistency=settlement_pb2.LOCAL))

    error = run(main)
    assert (error.code(), error.details()) == (grpc.StatusCode.UNAVAILABLE, "not ready: replaying log")
    assert fake.read_calls == 0


def test_ledger_status_numbers_match_the_read_views():
    assert {s.name: s.value for s in AccountStatus} == {
        name: number for name, number in state_pb2.Account.Status.items() if number
    }
    assert {s.name: s.value for s in MarketStatus} == {
        name: number for name, number in state_pb2.Market.Status.items() if number
    }


def test_a_read_barrier_that_does_not_complete_is_unavailable_not_ambiguous():
    fake = seeded()

    async def lost_quorum(timeout_s):
        raise AmbiguousOutcome("leader changed")

    fake.read_barrier = lost_quorum

    async def main():
        async with serving(fake) as server:
            return await refused(server, "GetGuards", settlement_pb2.GetGuardsRequest())

    error = run(main)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details().startswith("unavailable: read barrier did not complete")
