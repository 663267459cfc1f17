"""What to do after a failed call: follow the leader, try elsewhere, retry, or give up.

Retrying a Submit is always safe because it resends the SAME command ids: the ledger's dedup
answers a command applied by an earlier attempt with its first outcome (exactly-once). So every
transient failure is retried; only a refusal of the request itself is final.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

import grpc

LEADER_METADATA_KEY = "x-leader"

# UNAVAILABLE details that prove the batch was not logged: our server's refusals (see
# node/server/errors.py) and grpc's own wording when no connection could be made at all. Any
# other UNAVAILABLE (a connection reset mid-call) may have come after the request arrived.
_REFUSED_BEFORE_LOGGING = ("not the leader", "not ready", "diverged", "unavailable", "failed to connect")


class Next(enum.Enum):
    REDIRECT = "redirect"  # a follower named the leader: go there
    ELSEWHERE = "elsewhere"  # this node cannot serve now: try the next address after a pause
    AGAIN = "again"  # ambiguous here: retry the same request at the same node after a pause
    FAIL = "fail"  # the request itself was refused: raise


@dataclass(frozen=True, slots=True)
class Verdict:
    next: Next
    leader: str | None = None  # for REDIRECT
    maybe_applied: bool = False  # the batch of this attempt may have been logged


def leader_hint(error: grpc.aio.AioRpcError) -> str | None:
    for key, value in error.trailing_metadata() or ():
        if key == LEADER_METADATA_KEY and value:
            return value if isinstance(value, str) else value.decode()
    return None


def judge(error: grpc.aio.AioRpcError) -> Verdict:
    code = error.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        leader = leader_hint(error)
        if leader:
            return Verdict(Next.REDIRECT, leader=leader)
        # A refusal from our server logged nothing; a transport failure (refused connection,
        # reset mid-call) may have happened after the request arrived.
        refused = (error.details() or "").startswith(_REFUSED_BEFORE_LOGGING)
        return Verdict(Next.ELSEWHERE, maybe_applied=not refused)
    if code == grpc.StatusCode.FAILED_PRECONDITION and (error.details() or "").startswith("diverged"):
        # This node is fenced (its state disagrees with a certified checkpoint); the others serve.
        return Verdict(Next.ELSEWHERE)
    if code == grpc.StatusCode.ABORTED:  # ambiguous outcome, e.g. a leader change mid-commit
        return Verdict(Next.AGAIN, maybe_applied=True)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:  # this attempt's deadline: the node may be stuck
        return Verdict(Next.ELSEWHERE, maybe_applied=True)
    return Verdict(Next.FAIL)


def backoff_s(retry: int, base_ms: int, max_ms: int) -> float:
    """Exponential from base_ms, capped at max_ms, jittered to [50%, 100%] so that clients that
    failed together do not retry together."""
    assert retry >= 1, retry
    ceiling_ms = min(max_ms, base_ms * 2 ** min(retry - 1, 16))
    return ceiling_ms * random.uniform(0.5, 1.0) / 1000
