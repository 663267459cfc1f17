"""WatchEvents: a liquidation streams to subscribers; filters, slow subscribers, cleanup."""

from __future__ import annotations

import asyncio
import typing

import grpc
import pytest

from node.api.settlement.v1 import events_pb2, settlement_pb2, settlement_pb2_grpc
from node.codec.commands import command_to_proto
from node.ledger import LogEntry, apply, events
from node.ledger.commands import Deposit, PriceUpdate, SettleTrade
from node.replica.port import AppliedEvent
from node.server import ServerOptions
from node.server.events import EVENT_ENCODERS
from tests.ledger.driver import MARKET, create_market
from tests.server.fake_replica import FakeReplica
from tests.server.serving import channel_to, run, serving


def thin_long() -> FakeReplica:
    """`thin` holds 100 BTC-PERP bought at 50,000 on 500,000 of collateral: a drop to 47,000
    puts it below maintenance margin."""
    fake = FakeReplica()
    commands = (
        create_market(),
        PriceUpdate("p1", MARKET, "src-a", 50_000, 10),
        Deposit("d1", "bob", 10_000_000),
        Deposit("d2", "thin", 500_000),
        SettleTrade("t1", MARKET, "thin", "bob", 50_000, 100),
    )
    outcome = apply(fake.state, LogEntry(1, 1_000_000, commands))
    assert all(r.ok for r in outcome.results), outcome.results
    return fake


def price_drop(price: int = 47_000, source_time_ms: int = 20) -> settlement_pb2.SubmitRequest:
    return settlement_pb2.SubmitRequest(commands=[command_to_proto(PriceUpdate(f"p-{price}", MARKET, "src-a", price, source_time_ms))])


async def subscribed(stub, request: settlement_pb2.WatchEventsRequest):
    call = stub.WatchEvents(request)
    await call.initial_metadata()  # the server has subscribed
    return call


def test_a_price_drop_streams_the_liquidation_it_causes():
    fake = thin_long()

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                stub = settlement_pb2_grpc.SettlementStub(channel)
                call = await subscribed(stub, settlement_pb2.WatchEventsRequest())
                response = await stub.Submit(price_drop(), timeout=5)
                event = await asyncio.wait_for(call.read(), 5)
                call.cancel()
        return response, event

    response, event = run(main)
    assert event.WhichOneof("kind") == "liquidation"
    assert (event.applied_index, event.time_ms) == (response.applied_index, fake.state.ledger_time_ms)
    liquidation = event.liquidation
    assert (liquidation.account, liquidation.market, liquidation.size, liquidation.price) == ("thin", MARKET, 100, 47_000)
    assert (liquidation.fee, liquidation.fund_paid, liquidation.uncovered) == (47_000, 0, 0)


def test_kinds_filter_what_is_streamed():
    fake = thin_long()

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                stub = settlement_pb2_grpc.SettlementStub(channel)
                breakers = await subscribed(stub, settlement_pb2.WatchEventsRequest(kinds=[events_pb2.BREAKER_TRIPPED]))
                liquidations = await subscribed(stub, settlement_pb2.WatchEventsRequest(kinds=[events_pb2.LIQUIDATION]))
                await stub.Submit(price_drop(), timeout=5)
                assert (await asyncio.wait_for(liquidations.read(), 5)).liquidation.account == "thin"
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(breakers.read(), 0.2)
                breakers.cancel()
                liquidations.cancel()

    run(main)


def test_a_subscriber_that_falls_behind_is_cut_with_resource_exhausted():
    fake = thin_long()

    async def main():
        async with serving(fake, ServerOptions(watch_queue_events_max=2)) as server:
            async with channel_to(server) as channel:
                stub = settlement_pb2_grpc.SettlementStub(channel)
                call = await subscribed(stub, settlement_pb2.WatchEventsRequest())
                liquidation = events.Liquidation("thin", MARKET, 1, 1, 0, 0, 0)
                for index in range(2, 7):  # faster than anyone can read: the queue overflows
                    fake._publish(AppliedEvent(index, 0, liquidation))
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    async for _ in call:
                        pass
        return caught.value

    error = run(main)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details().startswith("fell behind")
    assert fake.subscriber_count == 0


def test_a_subscriber_that_leaves_is_unsubscribed():
    fake = thin_long()

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                stub = settlement_pb2_grpc.SettlementStub(channel)
                call = await subscribed(stub, settlement_pb2.WatchEventsRequest())
                assert fake.subscriber_count == 1
                call.cancel()
                for _ in range(200):
                    if fake.subscriber_count == 0:
                        break
                    await asyncio.sleep(0.01)
        assert fake.subscriber_count == 0

    run(main)


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (settlement_pb2.WatchEventsRequest(kinds=[42]), grpc.StatusCode.INVALID_ARGUMENT),
        (settlement_pb2.WatchEventsRequest(kinds=[events_pb2.EVENT_KIND_UNSPECIFIED]), grpc.StatusCode.INVALID_ARGUMENT),
        (settlement_pb2.WatchEventsRequest(from_index=1), grpc.StatusCode.UNIMPLEMENTED),
    ],
    ids=["unknown-kind", "unspecified-kind", "replay"],
)
def test_requests_the_stream_cannot_serve_are_refused(request_, code):
    fake = thin_long()

    async def main():
        async with serving(fake) as server:
            async with channel_to(server) as channel:
                call = settlement_pb2_grpc.SettlementStub(channel).WatchEvents(request_)
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await call.read()
        return caught.value

    assert run(main).code() == code
    assert fake.subscriber_count == 0


def test_every_ledger_event_type_has_an_encoding():
    ledger_event_types = set(typing.get_args(events.Event)) or {events.Event}
    assert ledger_event_types <= set(EVENT_ENCODERS)


def test_breaker_and_status_events_encode_with_their_reasons():
    from node.ledger.events import BreakerTripped, MarketStatusChanged
    from node.ledger.records import MarketStatus, StatusReason
    from node.replica.port import AppliedEvent
    from node.server.events import event_to_proto

    kind, event = event_to_proto(AppliedEvent(7, 1_000, BreakerTripped("BTC-PERP", 70_000, 50_000, 61_000)))
    assert kind == events_pb2.BREAKER_TRIPPED
    assert (event.breaker_tripped.market, event.breaker_tripped.until_ms) == ("BTC-PERP", 61_000)
    kind, event = event_to_proto(AppliedEvent(8, 1_000, MarketStatusChanged("BTC-PERP", MarketStatus.HALTED, StatusReason.PRICE_BAND)))
    assert kind == events_pb2.MARKET_STATUS_CHANGED
    assert (event.market_status_changed.status, event.market_status_changed.reason) == (MarketStatus.HALTED, "price_band")
