"""CheckpointVote: checked for shape; certification needs the signer set (quorum issue)."""

from node.ledger.commands import CheckpointVote
from node.ledger.results import ResultCode

from .driver import LedgerDriver


def vote(**overrides) -> CheckpointVote:
    fields = dict(id="vote-1", node="node-1", index=1, state_hash=b"\x00" * 32, signature=b"\x01" * 64)
    fields.update(overrides)
    return CheckpointVote(**fields)


def applied_driver() -> LedgerDriver:
    driver = LedgerDriver()
    driver.run()
    return driver


def test_well_formed_vote_is_refused_without_a_signer_set():
    assert applied_driver().one(vote()).code == ResultCode.NO_SIGNER_SET


def test_vote_for_an_index_not_yet_applied_is_invalid():
    assert applied_driver().one(vote(index=50)).code == ResultCode.INVALID_CHECKPOINT_VOTE


def test_vote_with_a_short_hash_is_invalid():
    assert applied_driver().one(vote(state_hash=b"\x00" * 31)).code == ResultCode.INVALID_CHECKPOINT_VOTE


def test_vote_without_signature_is_invalid():
    assert applied_driver().one(vote(signature=b"")).code == ResultCode.INVALID_CHECKPOINT_VOTE


def test_vote_from_malformed_node_id_is_invalid():
    assert applied_driver().one(vote(node="node 1")).code == ResultCode.INVALID_CHECKPOINT_VOTE
