"""WatchEvents: a liquidation streams to subscribers; filters, slow subscribers, cleanup.
Replaying stored events is in test_watch_replay.py."""

from __future__ import annotations

import asyncio
import typing

import grpc
import pytest

from node.api.settlement.v1 import events_pb2, settlement_pb2, settlement_pb2_grpc, state_pb2
from node.codec.commands import command_to_proto
from node.ledger import LogEntry, apply, events
from node.identity.keys import verify_ed25519
from node.ledger.commands import Deposit, SettleTrade
from node.replica.port import AppliedEvent
from node.server import ServerOptions
from node.server.events import EVENT_ENCODERS
from tests.ledger.driver import MARKET, SOURCE, create_market, signed_price
from tests.server.fake_replica import FakeReplica
from tests.server.serving import channel_to, run, serving


def thin_long(**market) -> FakeReplica:
    """`thin` holds 100 BTC-PERP bought at 50,000 on 500,000 of collateral: a drop to 47,000
    puts it below maintenance margin. `market`: CreateMarket overrides."""
    fake = FakeReplica()
    listing = (
        create_market(**market),
        signed_price("p1", MARKET, SOURCE, 50_000, 999_500),
        Deposit("d1", "bob", 10_000_000),
        Deposit("d2", "thin", 500_000),
    )
    # The trade needs the mark, made at the end of the listing's entry (one mark per entry).
    for index, commands in enumerate((listing, (SettleTrade("t1", MARKET, "thin", "bob", 50_000, 100),)), start=1):
        outcome = apply(fake.state, LogEntry(index, 1_000_000, commands), verify_ed25519)
        assert all(r.ok for r in outcome.results), outcome.results
    return fake


def price_drop(price: int = 47_000, source_time_ms: int = 1_000_500) -> settlement_pb2.SubmitRequest:
    """A signed price; the fake's next entry is stamped 1_001_000, so the default time is fresh."""
    return settlement_pb2.SubmitRequest(commands=[command_to_proto(signed_price(f"p-{price}", MARKET, SOURCE, price, source_time_ms))])


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
    assert (liquidation.fund_size, liquidation.deleveraged_size, liquidation.remaining) == (100, 0, 0)


async def read_events(call, count: int) -> list[events_pb2.Event]:
    return [await asyncio.wait_for(call.read(), 5) for _ in range(count)]


def test_a_liquidation_beyond_the_fund_cap_streams_the_deleveraging():
    """The market's fund takes 40 of thin's 100 contracts; the other 60 close against bob (ADL)."""
    fake = thin_long(fund_position_cap=40)

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            wanted = [events_pb2.LIQUIDATION, events_pb2.DELEVERAGED]
            call = await subscribed(stub, settlement_pb2.WatchEventsRequest(kinds=wanted))
            await stub.Submit(price_drop(), timeout=5)
            streamed = await read_events(call, 2)
            call.cancel()
        return streamed

    streamed = run(main)
    by_kind = {event.WhichOneof("kind"): event for event in streamed}
    deleveraged, liquidation = by_kind["deleveraged"].deleveraged, by_kind["liquidation"].liquidation
    assert (deleveraged.account, deleveraged.against, deleveraged.market) == ("bob", "thin", MARKET)
    assert (deleveraged.size, deleveraged.price) == (-60, 47_000)
    assert (liquidation.size, liquidation.fund_size, liquidation.deleveraged_size, liquidation.remaining) == (100, 40, 60, 0)
    assert fake.state.position("sys:fund:BTC-PERP", MARKET).size == 40


def test_a_market_going_stale_and_fresh_again_streams_verdicts_and_status_changes():
    fake = thin_long()

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            wanted = [events_pb2.ORACLE_VERDICT_CHANGED, events_pb2.MARKET_STATUS_CHANGED]
            call = await subscribed(stub, settlement_pb2.WatchEventsRequest(kinds=wanted))
            fake.time_ms += 120_000  # two minutes without a price: beyond stale_after_ms (60 s)
            quiet = await stub.Submit(settlement_pb2.SubmitRequest(commands=[command_to_proto(Deposit("d9", "bob", 1))]), timeout=5)
            stale = await read_events(call, 2)
            fresh_time_ms = fake.time_ms + 500
            back = await stub.Submit(price_drop(50_100, fresh_time_ms), timeout=5)
            fresh = await read_events(call, 2)
            call.cancel()
        return quiet, stale, back, fresh

    quiet, stale, back, fresh = run(main)
    stale_at_ms = 1_000_000 + 120_000 + 1_000
    by_kind = {event.WhichOneof("kind"): event for event in stale}
    verdict = by_kind["oracle_verdict_changed"]
    assert verdict.applied_index == quiet.applied_index and verdict.time_ms == stale_at_ms
    assert (verdict.oracle_verdict_changed.verdict, verdict.oracle_verdict_changed.fresh_sources) == (state_pb2.Market.STALE, 0)
    assert verdict.oracle_verdict_changed.mark == 50_000
    status = by_kind["market_status_changed"].market_status_changed
    assert (status.status, status.reason, status.at_ms) == (state_pb2.Market.REDUCE_ONLY, "oracle_stale", stale_at_ms)
    by_kind = {event.WhichOneof("kind"): event for event in fresh}
    assert by_kind["oracle_verdict_changed"].applied_index == back.applied_index
    verdict = by_kind["oracle_verdict_changed"].oracle_verdict_changed
    assert (verdict.verdict, verdict.fresh_sources, verdict.mark) == (state_pb2.Market.VALID, 1, 50_100)
    status = by_kind["market_status_changed"].market_status_changed
    assert (status.status, status.reason) == (state_pb2.Market.ACTIVE, "none")


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
        (settlement_pb2.WatchEventsRequest(kinds=[999]), grpc.StatusCode.INVALID_ARGUMENT),
        (settlement_pb2.WatchEventsRequest(kinds=[events_pb2.EVENT_KIND_UNSPECIFIED]), grpc.StatusCode.INVALID_ARGUMENT),
    ],
    ids=["unknown-kind", "unspecified-kind"],
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
    kind, event = event_to_proto(AppliedEvent(8, 1_000, MarketStatusChanged("BTC-PERP", MarketStatus.HALTED, StatusReason.PRICE_BAND, 990)))
    assert kind == events_pb2.MARKET_STATUS_CHANGED
    assert (event.market_status_changed.status, event.market_status_changed.reason) == (MarketStatus.HALTED, "price_band")
    assert event.market_status_changed.at_ms == 990
