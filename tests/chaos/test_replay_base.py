"""The chaos checker's independent replay across compaction (cluster/chaos/replay.py): it starts
from a certified checkpoint's dump checked against its certificate, or from index 1, or says why
it cannot; never from a dump the certificate does not vouch for.

The log is made with the pure ledger fed the bytes a replica applies, every entry committed to a
real store, and each due checkpoint dumped from that store as a node's store check dumps it;
node-1 and node-2 vote, so checkpoints 5 and 15 are certified and the run ends at index 20."""

from __future__ import annotations

from pathlib import Path

import pytest
from pysyncobj.pickle import dumps as pysyncobj_dumps

from cluster.chaos.checker import check
from cluster.chaos.nodes import NodeLog, read_view, view_of_state
from cluster.chaos.replay import BASE_CHECKPOINT, BASE_FIRST_INDEX, BaseRefused, certified_state, independent_replay, replay_nodes, replay_onto
from node.checkpoint.dump import DumpWriter, records, summarize
from node.checkpoint.files import CheckpointFiles
from node.checkpoint.store_check import StoreCheck, run_check
from node.codec.batch import Batch, SignedBatch
from node.codec.log import log_entry_to_bytes
from node.identity.keys import private_key_from_seed
from node.identity.quorum import checkpoint_vote, signed_action, signer_entry_for
from node.identity.signer_set import signer_set_document
from node.ledger import check_full
from node.ledger.events import CheckpointDue
from node.ledger.records import TABLE_ACCOUNT, Account, decode_account, encode_account
from node.ledger.state_hash import hash_bytes
from node.replica.journal import DurableFileJournal
from node.replica.logged_entry import apply_logged_entry
from node.store import LedgerStore
from tests.ledger.driver import LedgerDriver, create_market
from tests.ledger.governance import ALL_KEYS, CLUSTER, NODES, POLICY, SIGNERS, genesis_payload
from tests.store.helpers import state_fields

VOTERS = ("node-1", "node-2")
FIRST_CHECKPOINT, NEWEST_CHECKPOINT, LAST_INDEX = 5, 15, 20
TRUSTED_SIGNERS = signer_set_document(CLUSTER, SIGNERS, POLICY)


class LoggedLedger(LedgerDriver):
    """The ledger of one node: entries applied from their logged bytes, committed to its store,
    kept as its journal would keep them; at each due checkpoint the store is dumped as the node's
    store check dumps it, and node-1 and node-2 vote the hash."""

    def __init__(self, node_dir: Path) -> None:
        super().__init__()
        self.store = LedgerStore(node_dir / "ledger")
        self.files = CheckpointFiles(node_dir / "checkpoints")
        self.log: list[tuple[int, bytes]] = []

    def run(self, *commands, time_ms: int | None = None):
        self.index += 1
        self.time_ms = time_ms if time_ms is not None else self.time_ms + 1_000
        batches, start = [], 0
        for signature in self.sign_batches(tuple(commands)):
            signed = SignedBatch(signature.key_id, signature.sequence, signature.signature, signature.signed_at_ms)
            batches.append(Batch(tuple(commands[start:start + signature.size]), signed))
            start += signature.size
        if commands and not batches:
            batches = [Batch(tuple(commands))]  # before the genesis: one unsigned batch
        data = log_entry_to_bytes(self.time_ms, batches)
        applied = apply_logged_entry(self.state, self.index, data)
        check_full(self.state)
        self.store.commit(self.state)
        self.log.append((self.index, data))
        if any(isinstance(event, CheckpointDue) for event in applied.outcome.events):
            self._dump_and_vote(self.index)
        return applied.outcome.results

    def _dump_and_vote(self, index: int) -> None:
        memory_hash = hash_bytes(self.state.state_hash)
        result = run_check(StoreCheck(index, memory_hash, self.store.open_reader()), self.files.writer(index))
        assert result.problem is None, result.problem
        for node in VOTERS:  # each vote is an entry of its own, as the nodes submit them
            (vote,) = self.run(checkpoint_vote(self.next_id("vote"), CLUSTER, node, NODES[node], index, memory_hash))
            assert vote.ok, vote


@pytest.fixture(scope="module")
def node(tmp_path_factory) -> tuple[Path, LoggedLedger]:
    """node1's directory (store, dumps) after the run, and the ledger that made it."""
    node_dir = tmp_path_factory.mktemp("cluster") / "node1"
    ledger = LoggedLedger(node_dir)
    ledger.one(create_market())
    ledger.price(50_000)
    ledger.deposit("alice", 10_000_000)
    ledger.deposit("bob", 10_000_000)
    assert ledger.one(signed_action("genesis", genesis_payload(), ALL_KEYS)).ok  # due at once: checkpoint 5
    while ledger.index < LAST_INDEX:  # checkpoint 15 is due on the way (and voted at 16, 17)
        if ledger.index % 2:
            ledger.trade("alice", "bob", 50_000, 1 + ledger.index % 3)
        else:
            ledger.deposit(f"c-{ledger.index}", 1_000 + ledger.index)
    assert ledger.index == LAST_INDEX
    ledger.store.close()
    return node_dir, ledger


def certificate_of(ledger: LoggedLedger) -> dict:
    return ledger.state.governance["certificate"]


def dump_path(node_dir: Path, index: int) -> Path:
    return CheckpointFiles(node_dir / "checkpoints").path(index, "pending")


def journal_from(ledger: LoggedLedger, first: int) -> NodeLog:
    """node1's journal as compaction leaves it: the entries from `first` on."""
    return NodeLog("node1", [(index, data) for index, data in ledger.log if index >= first])


def tampered_copy(dump: Path, into: Path) -> Path:
    """The dump with alice's collateral one unit higher: well-formed, but not the certified state."""
    writer = DumpWriter(into, summarize(dump).index)
    for table, key, value in records(dump):
        if table == TABLE_ACCOUNT and key == b"alice":
            account = decode_account(value)
            value = encode_account(Account(account.collateral + 1, account.status))
        writer.add(table, key, value)
    writer.finish()
    return into


def test_the_run_certified_two_checkpoints(node):
    _, ledger = node
    assert certificate_of(ledger)["index"] == NEWEST_CHECKPOINT
    assert [node for node, _ in certificate_of(ledger)["signatures"]] == list(VOTERS)


def test_a_certified_dump_and_the_journal_after_it_replay_to_the_same_state(node):
    node_dir, ledger = node
    state = certified_state(dump_path(node_dir, NEWEST_CHECKPOINT), certificate_of(ledger), TRUSTED_SIGNERS)
    replayed = replay_onto(state, journal_from(ledger, NEWEST_CHECKPOINT - 1), LAST_INDEX)
    assert replayed == LAST_INDEX - NEWEST_CHECKPOINT
    assert state_fields(state) == state_fields(ledger.state)


def test_the_replay_starts_from_the_newest_certified_checkpoint_a_journal_reaches(node):
    node_dir, ledger = node
    dumps = {i: [dump_path(node_dir, i)] for i in (FIRST_CHECKPOINT, NEWEST_CHECKPOINT)}
    replay = independent_replay([journal_from(ledger, FIRST_CHECKPOINT)], [certificate_of(ledger)], dumps,
                                TRUSTED_SIGNERS, LAST_INDEX)
    assert (replay.base, replay.base_index, replay.entries) == (BASE_CHECKPOINT, NEWEST_CHECKPOINT, 5)
    stored = read_view("node1", node_dir)
    assert (replay.view.applied_index, replay.view.state_hash) == (stored.applied_index, stored.state_hash)
    assert (replay.view.collateral, replay.view.positions, replay.view.dedup) == (stored.collateral, stored.positions, stored.dedup)
    assert check([], [stored], replay.view).passed


def test_a_dump_whose_hash_is_not_the_certified_one_is_refused_as_a_base(node, tmp_path):
    node_dir, ledger = node
    forged = tampered_copy(dump_path(node_dir, NEWEST_CHECKPOINT), tmp_path / "dump-forged")
    with pytest.raises(BaseRefused, match=f"the certified hash at {NEWEST_CHECKPOINT} is"):
        certified_state(forged, certificate_of(ledger), TRUSTED_SIGNERS)


def test_a_certificate_not_signed_by_a_quorum_of_the_trusted_signer_set_is_refused(node):
    node_dir, ledger = node
    strangers = [signer_entry_for(e["key_id"], "node", private_key_from_seed(f"stranger {e['key_id']}"))
                 if e["role"] == "node" else e for e in SIGNERS]
    with pytest.raises(BaseRefused, match="signature does not verify"):
        certified_state(dump_path(node_dir, NEWEST_CHECKPOINT), certificate_of(ledger),
                        signer_set_document(CLUSTER, strangers, POLICY))


def test_when_the_newest_dump_is_refused_an_older_certified_checkpoint_found_in_the_dumps_is_the_base(node, tmp_path):
    node_dir, ledger = node
    forged = tampered_copy(dump_path(node_dir, NEWEST_CHECKPOINT), tmp_path / "dump-forged")
    dumps = {FIRST_CHECKPOINT: [dump_path(node_dir, FIRST_CHECKPOINT)], NEWEST_CHECKPOINT: [forged]}
    replay = independent_replay([journal_from(ledger, FIRST_CHECKPOINT)], [certificate_of(ledger)], dumps,
                                TRUSTED_SIGNERS, LAST_INDEX)
    assert (replay.base, replay.base_index) == (BASE_CHECKPOINT, FIRST_CHECKPOINT)
    assert replay.view.state_hash == read_view("node1", node_dir).state_hash
    assert any(f"checkpoint {NEWEST_CHECKPOINT}" in reason and "hashes to" in reason for reason in replay.refused)


def test_without_a_usable_checkpoint_a_journal_holding_the_whole_log_is_replayed_from_index_1(node, tmp_path):
    node_dir, ledger = node
    forged = tampered_copy(dump_path(node_dir, NEWEST_CHECKPOINT), tmp_path / "dump-forged")
    replay = independent_replay([journal_from(ledger, 1)], [certificate_of(ledger)], {NEWEST_CHECKPOINT: [forged]},
                                TRUSTED_SIGNERS, LAST_INDEX)
    assert (replay.base, replay.base_index, replay.entries) == (BASE_FIRST_INDEX, 0, LAST_INDEX)
    assert replay.view.state_hash == read_view("node1", node_dir).state_hash


def test_with_no_journal_reaching_a_certified_checkpoint_the_replay_is_skipped_with_the_reason(node):
    node_dir, ledger = node
    compacted = journal_from(ledger, NEWEST_CHECKPOINT + 2)  # compacted after the newest checkpoint
    dumps = {NEWEST_CHECKPOINT: [dump_path(node_dir, NEWEST_CHECKPOINT)]}
    replay = independent_replay([compacted], [certificate_of(ledger)], dumps, TRUSTED_SIGNERS, LAST_INDEX)
    assert replay.view is None and replay.base == ""
    assert f"checkpoint {NEWEST_CHECKPOINT}: no journal holds {NEWEST_CHECKPOINT + 1}..{LAST_INDEX}" in replay.note
    assert f"node1's journal holds {NEWEST_CHECKPOINT + 2}..{LAST_INDEX}" in replay.note
    verdict = check([], [read_view("node1", node_dir)], replay.view, replay_note=replay.note)
    assert verdict.passed and verdict.notes == [f"replay check skipped: {replay.note}"]


def test_the_replay_reads_a_compacted_journal_and_the_kept_dumps_from_the_node_directories(node, tmp_path):
    node_dir, ledger = node
    journal = DurableFileJournal(str(node_dir / "raft.journal"))
    for index, data in ledger.log[NEWEST_CHECKPOINT - 2:]:  # pysyncobj keeps from the compacted index - 1
        journal.add(bytes([0]) + pysyncobj_dumps((7, (data,))), index, 1)  # a @replicated call: (function id, args)
    journal.sync()
    journal._destroy()
    try:
        views = [read_view("node1", node_dir)]
        replay = replay_nodes([node_dir], views, TRUSTED_SIGNERS, LAST_INDEX)
    finally:
        (node_dir / "raft.journal").unlink()
        (node_dir / "raft.journal.meta").unlink(missing_ok=True)
    assert (replay.base, replay.base_index, replay.journal) == (BASE_CHECKPOINT, NEWEST_CHECKPOINT, "node1")
    assert replay.view.state_hash == views[0].state_hash
    assert view_of_state("x", ledger.state).collateral == replay.view.collateral
