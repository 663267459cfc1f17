"""What a node does at checkpoints: check its store, vote what the store holds, compare each
certificate with its own hash, fence itself on any difference and recover."""

from __future__ import annotations

import json
import time

import pytest

from node.checkpoint.dump import summarize
from node.checkpoint.keeper import CheckpointKeeper
from node.checkpoint.limits import recoveries_max
from node.checkpoint.files import CERTIFIED, PENDING
from node.identity.signer_set import signer_set_document
from node.identity.keys import private_key_from_seed, verify_ed25519
from node.ledger.governance import checkpoint_vote_bytes
from node.ledger.state import CERTIFICATE_KEY, LedgerState
from node.replica.emptying import empty_for_restore
from node.store import LedgerStore

from .helpers import NODE, LoopThread, Node, node_config, wait_until
from tests.ledger.governance import CLUSTER, NODES, POLICY, SIGNERS


@pytest.fixture
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture
def make_node(tmp_path, loop):
    nodes: list[Node] = []

    def make(**options) -> Node:
        node = Node(tmp_path / f"node{len(nodes)}", loop, **options)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.close()


def test_a_due_checkpoint_is_checked_against_the_store_dumped_and_voted(make_node):
    node = make_node()
    index = node.govern()
    expected = node.memory_hash
    wait_until(lambda: node.votes, what="a vote")
    (vote,) = node.votes
    assert (vote.node, vote.index, vote.state_hash, vote.id) == (NODE, index, expected, f"vote:{NODE}:{index}")
    public_key = NODES[NODE].public_key().public_bytes_raw()
    assert verify_ed25519(public_key, checkpoint_vote_bytes(CLUSTER, NODE, index, expected), vote.signature)
    dump = node.keeper.files.path(index, PENDING)
    assert summarize(dump).state_hash == expected and summarize(dump).index == index
    assert node.keeper.divergence is None


def test_a_certificate_matching_the_nodes_hash_is_verified_and_its_dump_kept_as_certified(make_node):
    node = make_node()
    index = node.govern()
    expected = node.memory_hash
    wait_until(lambda: node.votes, what="a vote")
    node.peer_votes(index, expected)
    assert node.certified()[-1].index == index
    assert node.keeper.verified_index == index
    found = node.keeper.certified_dump()
    assert found is not None and found[0] == index and found[1].name.endswith(CERTIFIED)
    assert node.keeper.divergence is None


def test_a_certificate_certified_before_the_store_check_finished_still_marks_the_dump(make_node):
    node = make_node()
    index = node.govern()
    expected = node.memory_hash
    node.peer_votes(index, expected)  # at once: the check may still be under way
    wait_until(lambda: node.keeper.certified_dump(index), what="the certified dump")
    assert node.keeper.verified_index == index


def test_a_certificate_of_another_hash_fences_the_node(make_node):
    node = make_node(divergence_recovery_delay_ms=60_000)
    index = node.govern()
    own = node.memory_hash
    node.peer_votes(index, bytes(32))  # two other nodes agree on a hash this node did not compute
    divergence = node.keeper.divergence
    assert divergence is not None and divergence.index == index
    assert divergence.reason == f"certified hash {'00' * 32} but this node's hash at {index} is {own.hex()}"
    assert node.keeper.verified_index == 0
    assert node.keeper.certified_dump() is None  # its own dump is not the certified state


def test_a_corrupted_store_fences_the_node_at_the_next_checkpoint_and_its_vote_carries_the_store_hash(make_node):
    node = make_node(divergence_recovery_delay_ms=60_000)
    first = node.govern()
    wait_until(lambda: node.votes, what="the first vote")
    node.corrupt("alice", +1)  # the ledger in memory still says 10_000_000
    for _ in range(POLICY["checkpoint_every_entries"]):
        node.run()
    second = node.due_indexes()[-1]
    assert second > first
    wait_until(lambda: len(node.votes) == 2, what="the second vote")
    divergence = node.keeper.divergence
    assert divergence is not None and divergence.index == second and divergence.reason.startswith("store check")
    vote = node.votes[-1]
    assert vote.index == second and vote.state_hash != node.memory_hash  # what a restart would load
    assert summarize(node.keeper.files.path(second, PENDING)).state_hash == vote.state_hash


def test_a_fenced_follower_recovers_after_its_delay_by_moving_its_state_aside_and_restarting(make_node):
    node = make_node(divergence_recovery_delay_ms=0)
    index = node.govern()
    node.peer_votes(index, bytes(32))
    wait_until(lambda: node.restarts, what="the restart")
    assert node.stopped == 1
    copies = sorted(p.name for p in node.config.data_dir.parent.iterdir() if ".diverged-" in p.name)
    assert copies == [f"{node.config.data_dir.name}.diverged-{node.driver.state.applied_index}"]
    moved = node.config.data_dir.parent / copies[0]
    assert (moved / "ledger" / "data.mdb").exists() and (moved / "checkpoints").is_dir()
    assert not node.config.store_dir.exists()


def test_a_fenced_leader_recovers_at_once_since_nobody_can_write_while_it_leads(make_node):
    node = make_node(leader=True, divergence_recovery_delay_ms=60_000)
    index = node.govern()
    node.peer_votes(index, bytes(32))
    wait_until(lambda: node.restarts, timeout_s=5, what="the restart")


def test_a_node_that_keeps_diverging_stays_fenced_for_an_operator(make_node, tmp_path):
    node = make_node(divergence_recovery_delay_ms=0)
    for n in range(recoveries_max):
        (node.config.data_dir.parent / f"{node.config.data_dir.name}.diverged-{n}").mkdir()
    index = node.govern()
    node.peer_votes(index, bytes(32))
    time.sleep(0.5)
    assert node.restarts == 0 and node.stopped == 0 and node.keeper.divergence is not None


def test_a_replaying_node_neither_checks_nor_votes_but_still_compares_certificates(make_node):
    node = make_node(ready=False, divergence_recovery_delay_ms=60_000)
    index = node.govern()
    node.peer_votes(index, bytes(32))
    assert node.votes == [] and node.keeper.files.dumps(PENDING) == []
    assert node.keeper.divergence is not None


def test_a_node_without_a_key_checks_but_does_not_vote(make_node):
    node = make_node(key=None)
    index = node.govern()
    node.peer_votes(index, node.memory_hash)
    wait_until(lambda: node.keeper.certified_dump(index), what="the certified dump")
    assert node.votes == []


def test_a_node_whose_key_is_not_its_signer_entry_does_not_vote(make_node):
    node = make_node(key=private_key_from_seed("not node-1's key"))
    index = node.govern()
    node.peer_votes(index, node.memory_hash)
    wait_until(lambda: node.keeper.certified_dump(index), what="the certified dump")
    assert node.votes == []


def test_the_signer_set_is_compared_with_the_expected_one(make_node, tmp_path):
    expected = tmp_path / "signers.json"
    expected.write_text(json.dumps(signer_set_document(CLUSTER, SIGNERS, POLICY)))
    node = make_node(expected_signers_file=expected)
    assert node.keeper.signer_set_problem == "no signer set is installed yet"
    node.govern()
    assert node.keeper.signer_set_problem == ""

    other = tmp_path / "other.json"
    other.write_text(json.dumps(signer_set_document(CLUSTER, SIGNERS, dict(POLICY, checkpoint_threshold=3))))
    second = make_node(expected_signers_file=other)
    second.govern()
    assert second.keeper.signer_set_problem == "checkpoint_threshold 2, expected 3"


def test_a_store_standing_at_the_certified_index_with_another_hash_is_diverged_at_start(tmp_path, loop):
    config = node_config(tmp_path / "node", divergence_recovery_delay_ms=60_000)
    state = LedgerState()
    state.applied_index = 5
    state.put_governance(CERTIFICATE_KEY, {"index": 5, "hash": "00" * 32, "epoch": 1, "signatures": []})
    state.finish_entry()
    store = LedgerStore(config.store_dir)
    keeper = CheckpointKeeper(config, loop.loop, store, state, node_key=None, submit_vote=None,
                              is_leader=lambda: False, stop_replica=lambda: None, empty_for_restore=empty_for_restore,
                              restart=lambda: None)
    try:
        assert keeper.divergence is not None and keeper.divergence.index == 5
    finally:
        keeper.close()
        store.close()
