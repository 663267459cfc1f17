"""Where a watch of the event stream stands, so a broken stream resumes with no gap and no
duplicate: on any node, from the last index delivered.

Every replica emits the same events in the same order for an entry, so (applied_index, position)
identifies an event cluster-wide. A node replays an entry whole, so resuming from the last index
delivered repeats that entry's events up to the last position delivered: they are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from node.api.settlement.v1 import events_pb2, settlement_pb2

# The server's response header: the first index a stream covers (see settlement.proto).
EVENTS_FROM_METADATA_KEY = "x-events-from"

# Failures that resubscribing cannot cure: the request itself is refused. Anything else (the node
# went away or restarted, it cut a subscriber that fell behind, it is diverged, it no longer keeps
# the index: another node may) is resumed from the last index delivered.
FINAL_CODES = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.UNIMPLEMENTED,
})


class WatchPosition:
    def __init__(self, from_index: int, kinds: Sequence[int]) -> None:
        """`from_index` 0: live from the first subscription, whose headers then say from where."""
        self.from_index = from_index
        self.kinds = list(kinds)
        self.last: tuple[int, int] | None = None  # (applied_index, position) last delivered

    def request(self) -> settlement_pb2.WatchEventsRequest:
        request = settlement_pb2.WatchEventsRequest(kinds=self.kinds)
        resume_from = self.last[0] if self.last is not None else self.from_index
        if resume_from:
            request.from_index = resume_from
        return request

    def subscribed(self, headers: Sequence[tuple[str, str | bytes]] | None) -> None:
        """A live-only watch learns from its first subscription which index it starts at."""
        if self.from_index or self.last is not None:
            return
        for key, value in headers or ():
            if key == EVENTS_FROM_METADATA_KEY:
                self.from_index = int(value if isinstance(value, str) else value.decode())

    @property
    def resumable(self) -> bool:
        """False only for a live-only watch whose server never said where it started."""
        return self.from_index > 0 or self.last is not None

    @property
    def resume_index(self) -> int:
        return self.last[0] if self.last is not None else self.from_index

    def deliver(self, event: events_pb2.Event) -> bool:
        """True (and remembered) if `event` was not delivered yet."""
        key = (event.applied_index, event.position)
        if (self.last is not None and key <= self.last) or event.applied_index < self.from_index:
            return False
        self.last = key
        return True


def is_final(error: grpc.aio.AioRpcError) -> bool:
    return error.code() in FINAL_CODES
