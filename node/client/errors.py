"""What the SDK raises. A rejected command is not an exception: it is a result with its code."""

from __future__ import annotations

import grpc


class SettlementError(Exception):
    """Base of every SDK error. `code` is the last gRPC status seen (None if no call was made)."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None, details: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.details = details


class RequestRejected(SettlementError):
    """The server refused the request itself (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, ...); retrying
    the same request will not help. Nothing was applied."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}", code, details)


class SubmitRejected(RequestRejected):
    """A Submit refused as a whole (malformed, too many commands, too large, server busy)."""


class NotFound(RequestRejected):
    """A read of an account, market or checkpoint the ledger does not know."""


class ClusterUnavailable(SettlementError):
    """No node answered within the attempts and the deadline. For a Submit, nothing was applied:
    every attempt was refused before the batch was logged."""


class OutcomeUnknown(ClusterUnavailable):
    """Submit gave up after an attempt whose batch may have been applied (ambiguous outcome,
    timeout, lost connection). Submit the SAME commands (same ids) again later: the ledger's
    dedup answers what was applied, exactly once, for dedup_retention_ms after `signed_at_ms`
    (the time the batch was first signed; this client signs its retries with it; a process that
    restarts passes it to `submit(..., first_signed_at_ms=...)`). After that the retry is refused
    BatchExpired: read the outcome back instead."""

    signed_at_ms: int = 0


class BatchExpired(SettlementError):
    """The batch was first signed more than the cluster's dedup_retention_ms ago (ledger time), so
    it was refused as a whole (BATCH_EXPIRED) and nothing was applied now, and the ledger may no
    longer remember whether its commands were applied before. Never resend these commands
    blindly: read the accounts back (get_account) to learn what happened, then submit new
    commands with NEW ids for whatever is still to be done. `command_ids`: the refused commands;
    `results`: their results."""

    def __init__(self, message: str, command_ids: list[str], results: list) -> None:
        super().__init__(message)
        self.command_ids = command_ids
        self.results = results


class StreamBroken(SettlementError):
    """WatchEvents ended and could not be resumed (no node answered in time, none keeps the index
    it needed, or the request was refused). Every event it yielded was delivered once; watch again
    with from_index = the last one's applied_index (skipping what was seen), or reconcile with a
    read."""


class NoSigningKey(SettlementError):
    """The client's identity holds no key whose role may submit the batch's command kinds;
    nothing was sent."""
