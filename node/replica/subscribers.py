"""Ledger events handed from the apply thread to WatchEvents subscribers on the asyncio loop.

Each subscriber has a bounded queue; one that falls behind is cut (a None marks the cut) rather
than slowing the apply path or growing without bound. The client resubscribes from the last index
it saw: the store keeps the events (node/store/event_log.py). An entry is published only after
its commit, so whatever a subscriber's queue misses from before it subscribed is in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from node.ledger.events import Event
from node.replica.port import AppliedEvent


class EventSubscribers:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: set[asyncio.Queue] = set()

    def subscribe(self, queue_size: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=queue_size + 1)  # +1: room for the cut marker
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._queues.discard(queue)

    def publish_from_apply_thread(self, index: int, time_ms: int, events: Sequence[Event]) -> None:
        if self._queues:
            applied = [AppliedEvent(index, time_ms, event, position) for position, event in enumerate(events)]
            self._loop.call_soon_threadsafe(self._publish, applied)

    def _publish(self, events: list[AppliedEvent]) -> None:
        for queue in list(self._queues):
            for event in events:
                if queue.qsize() >= queue.maxsize - 1:
                    self._queues.discard(queue)
                    queue.put_nowait(None)  # fell behind: the stream ends, the client resubscribes
                    break
                queue.put_nowait(event)
