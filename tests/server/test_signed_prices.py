"""Signed oracle prices over real gRPC: a valid signature moves the mark, a bad one changes
nothing; a market registers its sources' public keys when it is listed."""

from __future__ import annotations

from dataclasses import replace

import grpc
import pytest

from node.api.settlement.v1 import commands_pb2, results_pb2, settlement_pb2, settlement_pb2_grpc, state_pb2
from node.codec.commands import command_to_proto
from node.codec.limits import public_key_wire_bytes_max
from node.ledger.commands import OracleSource
from node.ledger.state import market_fund
from tests.ledger.driver import MARKET, SOURCE, create_market, oracle_source, signed_price
from tests.server.fake_replica import FakeReplica
from tests.server.serving import channel_to, run, serving

# The fake stamps its n-th entry 1_000_000 + n * 1_000: these source times are fresh for entries 1 and 2.
FIRST_SOURCE_TIME_MS = 1_000_500
SECOND_SOURCE_TIME_MS = 1_001_500


def request_of(*commands) -> settlement_pb2.SubmitRequest:
    return settlement_pb2.SubmitRequest(commands=[command_to_proto(c) for c in commands])


async def submit(stub, *commands) -> settlement_pb2.SubmitResponse:
    return await stub.Submit(request_of(*commands), timeout=5)


async def market_of(stub) -> state_pb2.Market:
    return await stub.GetMarket(settlement_pb2.GetMarketRequest(market=MARKET), timeout=5)


def test_a_signed_price_round_trips_through_submit_and_moves_the_mark():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            listed = await submit(stub, create_market(), signed_price("p1", MARKET, SOURCE, 50_000, FIRST_SOURCE_TIME_MS))
            first = await market_of(stub)
            moved = await submit(stub, signed_price("p2", MARKET, SOURCE, 51_000, SECOND_SOURCE_TIME_MS))
            second = await market_of(stub)
        return listed, first, moved, second

    listed, first, moved, second = run(main)
    assert [r.code for r in listed.results] == [results_pb2.OK, results_pb2.OK]
    assert (first.mark_price, first.mark_time_ms, first.oracle_verdict) == (50_000, FIRST_SOURCE_TIME_MS, state_pb2.Market.VALID)
    assert [r.code for r in moved.results] == [results_pb2.OK]
    assert (second.mark_price, second.mark_time_ms) == (51_000, SECOND_SOURCE_TIME_MS)
    assert [(s.source, s.price, s.counted) for s in second.sources] == [(SOURCE, 51_000, True)]


def forged(command_id: str, price: int, source_time_ms: int):
    """src-a's name on a price signed with another source's key."""
    honest = signed_price(command_id, MARKET, "src-b", price, source_time_ms)
    return replace(honest, source=SOURCE)


def tampered(command_id: str, price: int, source_time_ms: int):
    """src-a's genuine signature of one price, attached to another price."""
    return replace(signed_price(command_id, MARKET, SOURCE, 50_000, source_time_ms), price=price)


@pytest.mark.parametrize(
    "bad_price",
    [
        forged("p-bad", 10_000, SECOND_SOURCE_TIME_MS),
        tampered("p-bad", 10_000, SECOND_SOURCE_TIME_MS),
        replace(signed_price("p-bad", MARKET, SOURCE, 10_000, SECOND_SOURCE_TIME_MS), signature=b""),
    ],
    ids=["other-key", "tampered-price", "unsigned"],
)
def test_a_price_with_a_bad_signature_is_invalid_signature_and_changes_nothing(bad_price):
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            await submit(stub, create_market(), signed_price("p1", MARKET, SOURCE, 50_000, FIRST_SOURCE_TIME_MS))
            before = (fake.state.markets[MARKET], dict(fake.state.oracle_sources[MARKET]), dict(fake.state.accounts))
            response = await submit(stub, bad_price)
            after = (fake.state.markets[MARKET], dict(fake.state.oracle_sources[MARKET]), dict(fake.state.accounts))
            # The genuine source may still report at that source time: nothing of the bad one stuck.
            good = await submit(stub, signed_price("p2", MARKET, SOURCE, 50_100, SECOND_SOURCE_TIME_MS))
            market = await market_of(stub)
        return response, before, after, good, market

    response, before, after, good, market = run(main)
    (result,) = response.results
    assert result.code == results_pb2.INVALID_SIGNATURE, result
    assert after == before
    assert good.results[0].code == results_pb2.OK
    assert market.mark_price == 50_100


def test_a_price_from_a_source_the_market_never_registered_is_invalid_source():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            return await submit(stub, create_market(), signed_price("p1", MARKET, "src-b", 50_000, FIRST_SOURCE_TIME_MS))

    response = run(main)
    assert [r.code for r in response.results] == [results_pb2.OK, results_pb2.INVALID_SOURCE]
    assert fake.state.markets[MARKET].mark_price == 0


@pytest.mark.parametrize(
    "sources",
    [
        (OracleSource(SOURCE, oracle_source(SOURCE).public_key[:31]),),
        (OracleSource(SOURCE, oracle_source(SOURCE).public_key + b"\x00"),),
        (),
        (oracle_source(SOURCE), oracle_source(SOURCE)),
    ],
    ids=["short-key", "long-key", "no-sources", "same-source-twice"],
)
def test_a_market_with_malformed_sources_is_invalid_market_params(sources):
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            return await submit(settlement_pb2_grpc.SettlementStub(channel), create_market(sources=sources))

    (result,) = run(main).results
    assert result.code == results_pb2.INVALID_MARKET_PARAMS, result
    assert MARKET not in fake.state.markets
    assert market_fund(MARKET) not in fake.state.accounts


def test_a_junk_sized_source_key_refuses_the_whole_request():
    fake = FakeReplica()
    request = request_of(create_market())
    request.commands[0].create_market.sources[0].public_key = b"\x01" * (public_key_wire_bytes_max + 1)

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await settlement_pb2_grpc.SettlementStub(channel).Submit(request, timeout=5)
        return caught.value

    error = run(main)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("commands[0].create_market.sources[0].public_key: ")
    assert fake.submit_calls == []


def test_a_market_listed_over_the_wire_keeps_its_oracle_and_liquidation_parameters():
    fake = FakeReplica()
    listing = create_market(
        sources=(oracle_source("src-a"), oracle_source("src-b"), oracle_source("src-c")), min_sources=2,
        stale_after_ms=30_000, volatility_bps=500, twap_window_ms=300_000, liquidation_slice_bps=2_000,
        liquidation_window_ms=60_000, liquidation_cap_notional=10**9, fund_position_cap=40,
    )

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            await submit(stub, listing)
            return await market_of(stub)

    market = run(main)
    p = market.params
    assert [(s.source, s.public_key) for s in p.sources] == [(s.source, s.public_key) for s in listing.sources]
    assert (p.min_sources, p.stale_after_ms, p.volatility_bps, p.twap_window_ms) == (2, 30_000, 500, 300_000)
    assert (p.liquidation_slice_bps, p.liquidation_window_ms, p.liquidation_cap_notional, p.fund_position_cap) == (
        2_000, 60_000, 10**9, 40,
    )
    assert (market.oracle_verdict, market.mark_price, market.fresh_until_ms) == (state_pb2.Market.STALE, 0, 0)
    assert [s.source for s in market.sources] == ["src-a", "src-b", "src-c"]


def test_zero_for_min_sources_stale_after_and_slice_means_the_ledger_default():
    fake = FakeReplica()
    request = request_of(create_market())
    wire = request.commands[0].create_market
    wire.min_sources = wire.stale_after_ms = wire.liquidation_slice_bps = 0
    assert isinstance(wire, commands_pb2.CreateMarket)

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            return await settlement_pb2_grpc.SettlementStub(channel).Submit(request, timeout=5)

    assert run(main).results[0].code == results_pb2.OK
    market = fake.state.markets[MARKET]
    assert (market.min_sources, market.stale_after_ms, market.liquidation_slice_bps) == (1, 60_000, 10_000)
