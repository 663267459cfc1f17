"""How the SDK presents Submit's answer.

A DUPLICATE result means "this id was applied before": the command took effect exactly once,
with the outcome in original_code. That is the normal answer to a retry after an ambiguous
failure, and the caller wants that outcome, not the word DUPLICATE. So the SDK presents every
DUPLICATE as its original outcome: `code` is the original code (and collateral the values
recorded then), and `duplicate` is True to say this call did not apply it. A caller that wants
to detect accidental id reuse checks `duplicate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from node.api.settlement.v1 import results_pb2
from node.codec.results import result_from_proto
from node.ledger.results import Result, ResultCode


@dataclass(frozen=True, slots=True)
class SubmittedResult(Result):
    """A ledger Result, with `duplicate` True when an earlier call applied this command id."""

    duplicate: bool = False


class SubmitReply(NamedTuple):
    results: list[SubmittedResult]  # one per command, in the order given
    applied_index: int  # Raft index of the entry that carried the batch


def present(message: results_pb2.Result) -> SubmittedResult:
    result = result_from_proto(message)
    duplicate = result.code == ResultCode.DUPLICATE
    return SubmittedResult(
        id=result.id,
        # A retried command answers DUPLICATE: show the outcome of its first application.
        code=result.original_code if duplicate else result.code,
        message=result.message,
        collateral=result.collateral,
        counterparty_collateral=result.counterparty_collateral,
        original_code=result.original_code,
        duplicate=duplicate,
    )