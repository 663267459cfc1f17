"""One WatchEvents subscription: the stored events from an index, then the live ones, with no gap
and no duplicate.

The hand-off: subscribe to the live queue FIRST, then read the store in pieces up to the applied
index of the last read, then take the live queue, dropping every event at or below that index.
The replica publishes an entry's events only after the commit that stores them, so an event the
queue missed (published before the subscription) was already stored when the store was read, and
an event the reads missed (committed after the last read) is published after the subscription,
into the queue. Every event is sent in (applied_index, position) order, once.

A subscriber whose queue overflows is cut (bounded memory) with RESOURCE_EXHAUSTED; it resumes
from the last index it received, since that is still stored. An index older than what is kept
is OUT_OF_RANGE, naming the oldest index kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from node.replica.port import AppliedEvent, ReplicaPort, StoredEvents
from node.server.errors import Refused

# Response header naming the first index the stream covers: from_index, or for a live-only
# stream the entry after the one applied when it subscribed. A client that loses the stream
# before any event resumes from there.
EVENTS_FROM_METADATA_KEY = "x-events-from"
FELL_BEHIND_DETAILS = (
    "fell behind: the event queue overflowed; resubscribe with from_index = the last applied_index received"
)


def out_of_range(from_index: int, kept_from: int) -> Refused:
    return Refused(
        grpc.StatusCode.OUT_OF_RANGE,
        f"events before index {kept_from} are not kept on this node (oldest index kept: {kept_from}); "
        f"from_index {from_index} cannot be replayed here",
    )


class EventStream:
    def __init__(self, replica: ReplicaPort, from_index: int, *, queue_events_max: int, entries_per_read: int) -> None:
        """`from_index` 0: live events from now on."""
        self._replica = replica
        self._from_index = from_index
        self._entries_per_read = entries_per_read
        self._queue: asyncio.Queue[AppliedEvent | None] | None = replica.subscribe(queue_events_max)
        self._first_read: StoredEvents | None = None
        self.first_index = 0  # known after open()

    async def open(self) -> int:
        """The first index the stream covers. Raises Refused (OUT_OF_RANGE) or the replica's
        errors; the caller closes the stream either way."""
        if self._from_index:
            self._first_read = await self._read(self._from_index)
            self.first_index = self._from_index
        else:
            _, applied_index = self._replica.read(lambda state: None)
            self.first_index = applied_index + 1
        return self.first_index

    async def events(self) -> AsyncIterator[AppliedEvent]:
        """Every event from first_index on, in order, once. Raises Refused when the subscriber
        fell behind, or when events it still needed were pruned while it replayed."""
        assert self._queue is not None, "closed"
        sent_through = self.first_index - 1  # every event at or below this index was handled
        read = self._first_read
        while read is not None:
            for applied in read.events:
                yield applied
            sent_through = max(sent_through, read.through_index)
            if read.through_index >= read.applied_index:
                break
            read = await self._read(read.through_index + 1)
        while True:
            applied = await self._queue.get()
            if applied is None:
                raise Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, FELL_BEHIND_DETAILS)
            if applied.applied_index > sent_through:
                yield applied

    async def _read(self, from_index: int) -> StoredEvents:
        # Off the event loop: the read waits for the replica's lock, which an apply holds.
        read = await asyncio.to_thread(self._replica.stored_events, from_index, self._entries_per_read)
        if from_index < read.kept_from:
            raise out_of_range(from_index, read.kept_from)
        return read

    def close(self) -> None:
        if self._queue is not None:
            self._replica.unsubscribe(self._queue)
            self._queue = None
