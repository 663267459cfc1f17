"""The SDK's watch resumes a broken event stream from the last index it delivered, on another
node if needed, and delivers every event exactly once. Two servers over one fake replica stand for
two nodes that applied the same log."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest

from node.client import RequestRejected, SettlementClient, StreamBroken
from node.ledger import events
from node.server import ServerOptions
from tests.server.fake_replica import FakeReplica
from tests.server.serving import address, run, serving

FAST = dict(timeout_s=3.0, backoff_base_ms=5, backoff_max_ms=20)


def liquidation(n: int) -> events.Liquidation:
    return events.Liquidation(f"acct-{n}", "BTC-PERP", n, 50_000, 1, 0, 0)


def ids(streamed) -> list[tuple[int, int]]:
    return [(event.applied_index, event.position) for event in streamed]


@contextlib.asynccontextmanager
async def client_of(*addresses: str, **options):
    client = SettlementClient(list(addresses), **(FAST | options))
    try:
        yield client
    finally:
        await client.close()


async def subscribed(fake: FakeReplica, stream, count: int = 1) -> asyncio.Future:
    """Starts reading the stream's first event and waits until the watch has subscribed."""
    first = asyncio.ensure_future(stream.__anext__())
    while fake.subscriber_count < count:
        await asyncio.sleep(0.005)
    return first


async def take(stream, count: int) -> list:
    return [await asyncio.wait_for(stream.__anext__(), 5) for _ in range(count)]


def test_a_watch_resumes_on_another_node_when_its_node_goes_away_and_repeats_nothing():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as first_node, serving(fake) as second_node:
            async with client_of(address(first_node), address(second_node)) as client:
                stream = client.watch_events(address=address(first_node))
                pending = await subscribed(fake, stream)
                fake.commit_entry((liquidation(1), liquidation(2)))
                streamed = [await asyncio.wait_for(pending, 5)] + await take(stream, 1)
                await first_node.stop(grace=0)  # the node goes away mid-stream
                fake.commit_entry((liquidation(3),))  # applied while nobody watches
                streamed += await take(stream, 1)
                fake.commit_entry((liquidation(4),))
                streamed += await take(stream, 1)
                await stream.aclose()
        return streamed

    streamed = run(main)
    # Resumed from index 1, whose two events the second node replays again: skipped.
    assert ids(streamed) == [(1, 0), (1, 1), (2, 0), (3, 0)]
    assert [e.liquidation.account for e in streamed] == ["acct-1", "acct-2", "acct-3", "acct-4"]


def test_a_live_watch_broken_before_its_first_event_resumes_from_where_it_started():
    """A live-only watch learns from its first subscription which index it starts at, so even
    an entry applied while it had no node is delivered."""
    fake = FakeReplica()
    fake.commit_entry((liquidation(1),))  # before the watch: not for it

    async def main():
        async with serving(fake) as first_node, serving(fake) as second_node:
            async with client_of(address(first_node), address(second_node)) as client:
                stream = client.watch_events(address=address(first_node))
                pending = await subscribed(fake, stream)
                await first_node.stop(grace=0)
                fake.commit_entry((liquidation(2),))
                streamed = [await asyncio.wait_for(pending, 5)]
                await stream.aclose()
        return streamed

    streamed = run(main)
    assert ids(streamed) == [(2, 0)]
    assert streamed[0].liquidation.account == "acct-2"


def test_a_watch_cut_for_falling_behind_resumes_and_delivers_every_event_once():
    fake = FakeReplica()

    async def main():
        async with serving(fake, ServerOptions(watch_queue_events_max=2)) as server:
            async with client_of(address(server)) as client:
                stream = client.watch_events()
                pending = await subscribed(fake, stream)
                for n in range(1, 9):  # faster than the watch reads: the server cuts it
                    fake.commit_entry((liquidation(n),))
                streamed = [await asyncio.wait_for(pending, 5)] + await take(stream, 7)
                await stream.aclose()
        return streamed

    assert ids(run(main)) == [(index, 0) for index in range(1, 9)]


def test_a_watch_from_an_index_no_node_keeps_is_refused_out_of_range():
    fake = FakeReplica()
    fake.events_retention_entries = 1
    for n in range(1, 5):
        fake.commit_entry((liquidation(n),))

    async def main():
        async with serving(fake) as server, client_of(address(server)) as client:
            with pytest.raises(RequestRejected) as caught:
                await client.watch_events(from_index=1).__anext__()
        return caught.value

    error = run(main)
    assert error.code == grpc.StatusCode.OUT_OF_RANGE
    assert f"oldest index kept: {fake.events_kept_from}" in error.details


def test_a_watch_no_node_can_resume_raises_stream_broken():
    fake = FakeReplica()

    async def main():
        async with serving(fake) as server, client_of(address(server), timeout_s=0.5, max_attempts=3) as client:
            stream = client.watch_events()
            pending = await subscribed(fake, stream)
            fake.commit_entry((liquidation(1),))
            await asyncio.wait_for(pending, 5)
            await server.stop(grace=0)
            with pytest.raises(StreamBroken) as caught:
                await take(stream, 1)
        return caught.value

    assert "could not resume from index 1" in str(run(main))
