"""The one place where failures become gRPC statuses.

| raised                         | status              | details / metadata                              |
| ------------------------------ | ------------------- | ----------------------------------------------- |
| CodecError                     | INVALID_ARGUMENT    | "<field path>: <reason>"                        |
| Refused (handler's own choice) | its code            | its details (NOT_FOUND, INVALID_ARGUMENT, ...)  |
| NotLeader                      | UNAVAILABLE         | trailing `x-leader: host:port` when known       |
| Unavailable                    | UNAVAILABLE         | "unavailable: <why>"                            |
| AmbiguousOutcome               | ABORTED             | "ambiguous outcome: retry with the same ..."    |
| Overloaded                     | RESOURCE_EXHAUSTED  | "busy: ..."                                     |
| a diverged node (any call)     | FAILED_PRECONDITION | "diverged: ..." (the client tries another node) |
| anything else                  | INTERNAL            | "internal error" (logged with its traceback)    |
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

import grpc

from node.codec.errors import CodecError
from node.replica.port import AmbiguousOutcome, NotLeader, ReplicaPort, Unavailable
from node.server.coalescer import Overloaded

log = logging.getLogger(__name__)

T = TypeVar("T")

LEADER_METADATA_KEY = "x-leader"
AMBIGUOUS_DETAILS = "ambiguous outcome: retry with the same command ids"
NOT_READY_DETAILS = "not ready: replaying log"
DIVERGED_DETAILS = "diverged: this node's state disagrees with the cluster's certified checkpoint; not serving"


class Refused(Exception):
    """A status a handler decided on itself (unknown account, bad consistency, ...)."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.trailing = trailing


def refusal(error: Exception) -> Refused | None:
    """The status for an expected failure; None for a bug."""
    if isinstance(error, Refused):
        return error
    if isinstance(error, CodecError):
        return Refused(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    if isinstance(error, NotLeader):
        trailing = ((LEADER_METADATA_KEY, error.leader_address),) if error.leader_address else ()
        return Refused(grpc.StatusCode.UNAVAILABLE, str(error), trailing)
    if isinstance(error, Unavailable):
        return Refused(grpc.StatusCode.UNAVAILABLE, f"unavailable: {error}" if str(error) else "unavailable")
    if isinstance(error, AmbiguousOutcome):
        return Refused(grpc.StatusCode.ABORTED, AMBIGUOUS_DETAILS)
    if isinstance(error, Overloaded):
        return Refused(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
    return None


async def answer(context: grpc.aio.ServicerContext, work: Awaitable[T]) -> T:
    """Runs a unary handler's work and aborts the call with the mapped status if it fails."""
    try:
        return await work
    except Exception as error:  # noqa: BLE001 - mapped below; bugs become INTERNAL, logged
        refused = refusal(error)
        if refused is None:
            log.exception("internal error in %s", type(work).__name__)
            refused = Refused(grpc.StatusCode.INTERNAL, "internal error")
    await context.abort(refused.code, refused.details, refused.trailing)
    raise AssertionError("unreachable: abort raises")


def require_serving(replica: ReplicaPort) -> None:
    """A replaying or diverged node must not answer with state it cannot vouch for. Diverged is
    FAILED_PRECONDITION, not UNAVAILABLE: it is not a passing state of the cluster but this
    node's own, and lasts until it is restored (its reason follows the details)."""
    status = replica.status()
    if status.diverged:
        reason = f" ({status.diverged_reason})" if status.diverged_reason else ""
        raise Refused(grpc.StatusCode.FAILED_PRECONDITION, DIVERGED_DETAILS + reason)
    if not status.ready:
        raise Refused(grpc.StatusCode.UNAVAILABLE, NOT_READY_DETAILS)
