"""CheckpointVote: a node's signed (index, state hash), counted towards a certified checkpoint.

Certification needs the replicated signer set (node keys), which arrives with the quorum issue;
until then a well-formed vote is refused with NO_SIGNER_SET and changes nothing.
"""

from __future__ import annotations

from .commands import CheckpointVote
from .limits import signature_bytes_max, source_id_bytes_max
from .results import Result, ResultCode
from .state import LedgerState
from .validation import is_positive_int64, is_valid_id

state_hash_bytes = 32


def checkpoint_vote(state: LedgerState, cmd: CheckpointVote) -> Result:
    if not is_valid_id(cmd.node, source_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "node id must be 1-64 bytes of [A-Za-z0-9._:-]")
    if not is_positive_int64(cmd.index) or cmd.index > state.applied_index:
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "index must be an applied index")
    if len(cmd.state_hash) != state_hash_bytes:
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "state_hash must be 32 bytes")
    if not 0 < len(cmd.signature) <= signature_bytes_max:
        return Result(cmd.id, ResultCode.INVALID_CHECKPOINT_VOTE, "signature missing or too long")
    return Result(cmd.id, ResultCode.NO_SIGNER_SET, "no signer set is installed; checkpoints cannot be certified")
