"""WatchEvents(from_index): the stored events from that index, then the live ones, with no gap and
no duplicate across the hand-off; OUT_OF_RANGE below what is kept; a cut subscriber resumes."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from node.api.settlement.v1 import events_pb2, settlement_pb2, settlement_pb2_grpc
from node.ledger import events
from node.server import ServerOptions
from node.server.event_stream import EVENTS_FROM_METADATA_KEY
from tests.server.fake_replica import FakeReplica
from tests.server.serving import channel_to, run, serving

MARKET = "BTC-PERP"


def liquidation(n: int) -> events.Liquidation:
    return events.Liquidation(f"acct-{n}", MARKET, n, 50_000, 1, 0, 0)


def breaker(n: int) -> events.BreakerTripped:
    return events.BreakerTripped(MARKET, 70_000 + n, 50_000, 61_000)


def ids(streamed: list[events_pb2.Event]) -> list[tuple[int, int]]:
    return [(event.applied_index, event.position) for event in streamed]


async def watch(stub, from_index: int | None = None, kinds=()) -> tuple[object, dict[str, str]]:
    """A subscribed call and its response headers."""
    request = settlement_pb2.WatchEventsRequest(kinds=list(kinds))
    if from_index is not None:
        request.from_index = from_index
    call = stub.WatchEvents(request)
    headers = dict(await call.initial_metadata())
    return call, headers


async def read_events(call, count: int) -> list[events_pb2.Event]:
    return [await asyncio.wait_for(call.read(), 5) for _ in range(count)]


async def failure_after(call) -> tuple[list[events_pb2.Event], grpc.aio.AioRpcError]:
    """The events a call streams until it fails, and its error."""
    streamed = []
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for event in call:
            streamed.append(event)
    return streamed, caught.value


def test_from_index_replays_the_stored_events_then_streams_live_ones():
    fake = FakeReplica()
    fake.commit_entry((liquidation(1), liquidation(2)))
    fake.commit_entry(())
    fake.commit_entry((liquidation(3),))

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            call, headers = await watch(settlement_pb2_grpc.SettlementStub(channel), from_index=1)
            replayed = await read_events(call, 3)
            fake.commit_entry((liquidation(4),))
            live = await read_events(call, 1)
            call.cancel()
        return headers, replayed, live

    headers, replayed, live = run(main)
    assert headers[EVENTS_FROM_METADATA_KEY] == "1"
    assert ids(replayed) == [(1, 0), (1, 1), (3, 0)]
    assert [e.liquidation.account for e in replayed] == ["acct-1", "acct-2", "acct-3"]
    assert ids(live) == [(4, 0)]


def test_live_events_the_replay_already_sent_are_dropped():
    """Entries stored but not yet published when the subscriber arrives (a busy loop): the replay
    sends them, and their late publication into the live queue is not sent again."""
    fake = FakeReplica()
    fake.hold_publications = True
    for n in range(1, 4):
        fake.commit_entry((liquidation(n),))

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            call, _ = await watch(settlement_pb2_grpc.SettlementStub(channel), from_index=1)
            fake.hold_publications = False
            fake.release_publications()  # entries 1-3 reach the live queue now, after subscribing
            fake.commit_entry((liquidation(4),))  # a sentinel: any duplicate would come before it
            streamed = await read_events(call, 4)
            call.cancel()
        return streamed

    assert ids(run(main)) == [(1, 0), (2, 0), (3, 0), (4, 0)]


def test_entries_committed_while_the_replay_reads_reach_the_subscriber_once():
    """The replay reads one entry at a time; each read lets another entry commit (published from
    another thread, as the apply thread does). Each event arrives once, in order."""
    fake = FakeReplica()
    for n in range(1, 4):
        fake.commit_entry((liquidation(n),))
    fake.after_stored_read = lambda reads: fake.commit_entry((liquidation(10 + reads),)) if reads <= 3 else None

    async def main():
        options = ServerOptions(watch_replay_entries_per_read=1)
        async with serving(fake, options) as server, channel_to(server) as channel:
            call, _ = await watch(settlement_pb2_grpc.SettlementStub(channel), from_index=1)
            streamed = await read_events(call, 6)
            fake.commit_entry((liquidation(99),))  # a sentinel: any duplicate would come before it
            streamed += await read_events(call, 1)
            call.cancel()
        return streamed

    streamed = run(main)
    assert ids(streamed) == [(index, 0) for index in range(1, 8)]
    assert fake.stored_reads >= 4


def test_an_entry_committed_just_after_the_replay_s_last_read_is_streamed_live():
    """The replay's last read finds the store complete; an entry committed right after it is
    published at once, before the replay ends: only a queue subscribed before the read has it."""
    fake = FakeReplica()
    fake.commit_entry(())  # an entry without events: the replay from 1 finds nothing stored
    fake.after_stored_read = lambda reads: fake.commit_entry((liquidation(reads),)) if reads == 1 else None

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            call, _ = await watch(settlement_pb2_grpc.SettlementStub(channel), from_index=1)
            streamed = await read_events(call, 1)
            call.cancel()
        return streamed

    assert ids(run(main)) == [(2, 0)]


def test_an_index_older_than_what_is_kept_is_out_of_range_naming_the_oldest_index_kept():
    fake = FakeReplica()
    fake.events_retention_entries = 2
    for n in range(1, 6):
        fake.commit_entry((liquidation(n),))
    assert fake.events_kept_from == 4

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            too_old = stub.WatchEvents(settlement_pb2.WatchEventsRequest(from_index=3))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await too_old.read()
            assert fake.subscriber_count == 0  # the refused call subscribed nothing it left behind
            kept, _ = await watch(stub, from_index=4)
            replayed = await read_events(kept, 2)
            kept.cancel()
        return caught.value, replayed

    error, replayed = run(main)
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "oldest index kept: 4" in error.details()
    assert ids(replayed) == [(4, 0), (5, 0)]


def test_events_pruned_while_the_replay_reads_end_the_stream_out_of_range():
    fake = FakeReplica()
    for n in range(1, 4):
        fake.commit_entry((liquidation(n),))

    def prune_after_first_read(reads: int) -> None:
        if reads == 1:
            fake.events_retention_entries = 1
            fake.commit_entry(())  # prunes entries 1 and 2 (two records per entry at most)

    fake.after_stored_read = prune_after_first_read

    async def main():
        async with serving(fake, ServerOptions(watch_replay_entries_per_read=1)) as server, channel_to(server) as channel:
            call, _ = await watch(settlement_pb2_grpc.SettlementStub(channel), from_index=1)
            return await failure_after(call)

    streamed, error = run(main)
    assert ids(streamed) == [(1, 0)]
    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "oldest index kept: 3" in error.details()


@pytest.mark.parametrize("from_index", [None, 0], ids=["unset", "zero"])
def test_without_from_index_only_entries_applied_after_subscribing_are_streamed(from_index):
    fake = FakeReplica()
    fake.commit_entry((liquidation(1),))

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            call, headers = await watch(settlement_pb2_grpc.SettlementStub(channel), from_index=from_index)
            fake.commit_entry((liquidation(2),))
            streamed = await read_events(call, 1)
            call.cancel()
        return headers, streamed

    headers, streamed = run(main)
    assert headers[EVENTS_FROM_METADATA_KEY] == "2"  # the first index the stream covers
    assert ids(streamed) == [(2, 0)]


def test_a_subscriber_cut_for_falling_behind_resumes_from_the_last_index_it_saw():
    fake = FakeReplica()

    async def main():
        async with serving(fake, ServerOptions(watch_queue_events_max=2)) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            call, _ = await watch(stub)
            for n in range(1, 7):  # faster than anyone reads: the queue overflows
                fake.commit_entry((liquidation(n),))
            before, error = await failure_after(call)
            resumed_call, _ = await watch(stub, from_index=before[-1].applied_index)
            resumed = await read_events(resumed_call, 6 - before[-1].applied_index + 1)
            resumed_call.cancel()
        return before, error, resumed

    before, error, resumed = run(main)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and error.details().startswith("fell behind")
    assert before and ids(before) == [(index, 0) for index in range(1, len(before) + 1)]
    # An entry is replayed whole: the last one seen comes again, then everything after it.
    last = before[-1].applied_index
    assert ids(resumed) == [(index, 0) for index in range(last, 7)]


def test_a_kinds_filter_keeps_each_event_s_position_within_its_entry():
    fake = FakeReplica()
    fake.commit_entry((liquidation(1), breaker(1), liquidation(2)))

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            call, _ = await watch(settlement_pb2_grpc.SettlementStub(channel), from_index=1,
                                  kinds=[events_pb2.BREAKER_TRIPPED])
            fake.commit_entry((breaker(2),))
            streamed = await read_events(call, 2)
            call.cancel()
        return streamed

    assert ids(run(main)) == [(1, 1), (2, 0)]


def test_a_replay_whose_store_read_fails_ends_internal_and_the_server_goes_on():
    from node.store import StoreCorruptError

    fake = FakeReplica()
    fake.commit_entry((liquidation(1),))

    def damaged(reads: int) -> None:
        raise StoreCorruptError("the events stored at index 1 do not decode")

    fake.after_stored_read = damaged

    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.WatchEvents(settlement_pb2.WatchEventsRequest(from_index=1)).read()
            fake.after_stored_read = None
            again, _ = await watch(stub, from_index=1)
            replayed = await read_events(again, 1)
            again.cancel()
        return caught.value, replayed

    error, replayed = run(main)
    assert (error.code(), error.details()) == (grpc.StatusCode.INTERNAL, "internal error")
    assert ids(replayed) == [(1, 0)]
