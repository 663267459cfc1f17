"""Ledger Result <-> protobuf Result. The enum numbers are identical, so codes map by number."""

from __future__ import annotations

from node.api.settlement.v1 import results_pb2 as pb
from node.codec.fields import ledger_enum
from node.ledger.results import Result, ResultCode


def result_to_proto(result: Result) -> pb.Result:
    return pb.Result(
        id=result.id,
        code=result.code,
        message=result.message,
        collateral=result.collateral,
        counterparty_collateral=result.counterparty_collateral,
        original_code=result.original_code,
    )


def result_from_proto(message: pb.Result) -> Result:
    """Used by clients; a code from a newer server that this client does not know is an error."""
    return Result(
        id=message.id,
        code=ledger_enum(ResultCode, message.code, "code"),
        message=message.message,
        collateral=message.collateral,
        counterparty_collateral=message.counterparty_collateral,
        original_code=ledger_enum(ResultCode, message.original_code, "original_code"),
    )
