"""CheckpointVote: node keys vote (index, hash) on a schedule the ledger sets; a quorum certifies."""

from node.identity.keys import private_key_from_seed
from node.identity.quorum import checkpoint_vote
from node.ledger.commands import ActionKind, CheckpointVote
from node.ledger.events import CheckpointCertified, CheckpointDue
from node.ledger.results import ResultCode

from .driver import LedgerDriver
from .governance import CLUSTER, GUARDIANS, NODES, governed_market


def due_indexes(driver) -> list[int]:
    return [e.index for e in driver.events if isinstance(e, CheckpointDue)]


def vote(governed, node: str, index: int, state_hash: bytes, key=None):
    command = checkpoint_vote(governed.driver.next_id("vote"), CLUSTER, node, key or NODES[node], index, state_hash)
    return governed.driver.one(command)


def governed_with_a_due_checkpoint():
    """Returns the governed driver and the due index with the hash after it."""
    governed = governed_market()
    index = due_indexes(governed.driver)[-1]
    assert index == governed.driver.index
    return governed, index, governed.driver.state.state_hash.to_bytes(32, "big")


def test_the_entry_that_installs_the_signer_set_is_due_at_once():
    governed = governed_market()
    assert due_indexes(governed.driver) == [governed.driver.index]


def test_a_checkpoint_is_due_every_n_entries():
    governed = governed_market()
    first = governed.driver.index
    for _ in range(25):
        governed.driver.run()
    assert due_indexes(governed.driver) == [first, first + 10, first + 20]


def test_a_checkpoint_is_due_after_its_interval_of_ledger_time():
    governed = governed_market()
    first = governed.driver.index
    governed.driver.run(time_ms=governed.driver.time_ms + 60_000)
    assert due_indexes(governed.driver) == [first, first + 1]


def test_two_matching_node_votes_certify_a_checkpoint():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    assert vote(governed, "node-1", index, state_hash).ok
    assert vote(governed, "node-3", index, state_hash).ok
    certificate = governed.driver.state.governance["certificate"]
    assert (certificate["index"], certificate["hash"], certificate["epoch"]) == (index, state_hash.hex(), 1)
    assert [node for node, _ in certificate["signatures"]] == ["node-1", "node-3"]
    assert CheckpointCertified(index, state_hash, 1, ("node-1", "node-3")) in governed.driver.events
    assert governed.driver.state.meta["checkpoint_epoch"] == 1


def test_votes_that_disagree_do_not_certify():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    vote(governed, "node-1", index, state_hash)
    vote(governed, "node-2", index, b"\x07" * 32)  # a diverged node
    assert "certificate" not in governed.driver.state.governance
    vote(governed, "node-3", index, state_hash)
    assert governed.driver.state.governance["certificate"]["hash"] == state_hash.hex()


def test_a_certified_checkpoint_moves_the_epoch_actions_bind():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    payload = governed.payload(ActionKind.HALT_MARKET, market="BTC-PERP", epoch=0)
    for node in ("node-1", "node-2"):
        vote(governed, node, index, state_hash)
    assert governed.act(payload, "node-1", "node-2").ok  # epoch 0 is within the grace of epoch 1


def test_a_guardian_key_cannot_vote():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    result = vote(governed, "guardian-1", index, state_hash, key=GUARDIANS["guardian-1"])
    assert result.code == ResultCode.WRONG_ROLE


def test_an_unknown_node_cannot_vote():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    result = vote(governed, "node-9", index, state_hash, key=private_key_from_seed("node key 9"))
    assert result.code == ResultCode.UNKNOWN_SIGNER


def test_a_forged_vote_is_refused():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    result = vote(governed, "node-1", index, state_hash, key=private_key_from_seed("mallory"))
    assert result.code == ResultCode.INVALID_SIGNATURE
    assert not any(k.startswith("vote/") for k in governed.driver.state.governance)


def test_a_vote_at_or_below_the_certified_index_is_refused():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    vote(governed, "node-1", index, state_hash)
    vote(governed, "node-2", index, state_hash)
    assert vote(governed, "node-3", index, state_hash).code == ResultCode.INVALID_CHECKPOINT_VOTE


def test_a_node_keeps_one_pending_vote():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    vote(governed, "node-1", index, b"\x01" * 32)
    vote(governed, "node-1", index + 1, b"\x02" * 32)
    votes = [k for k in governed.driver.state.governance if k.startswith("vote/")]
    assert votes == ["vote/node-1"]


def test_a_vote_without_a_signer_set_is_refused():
    driver = LedgerDriver()
    driver.run()
    command = CheckpointVote("v", "node-1", 1, b"\x00" * 32, b"\x01" * 64)
    assert driver.one(command).code == ResultCode.NO_SIGNER_SET


def test_a_vote_for_an_index_not_yet_applied_is_invalid():
    governed, index, state_hash = governed_with_a_due_checkpoint()
    assert vote(governed, "node-1", index + 50, state_hash).code == ResultCode.INVALID_CHECKPOINT_VOTE


def test_a_vote_with_a_short_hash_is_invalid():
    governed, index, _ = governed_with_a_due_checkpoint()
    command = CheckpointVote("v", "node-1", index, b"\x00" * 31, b"\x01" * 64)
    assert governed.driver.one(command).code == ResultCode.INVALID_CHECKPOINT_VOTE
