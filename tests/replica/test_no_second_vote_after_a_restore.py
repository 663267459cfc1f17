"""A node emptied to be restored keeps its Raft term and vote: having voted for candidate A in
term T, it cannot vote for candidate B in term T, whichever way it was emptied (`settle node
reset`, divergence recovery, `settle node reset` then `settle restore` from a backup, the chaos
harness's restore from peers). Each of them used to forget the vote with the rest of the data
directory, and the node restarted empty voted a second time in the same term: two candidates
with a majority each, two leaders in one term."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cluster.chaos.faults import ChaosCluster
from node.backup.take import take_backup
from node.checkpoint import recovery
from node.cli.cli import main as settle
from node.data_lock import LOCK_FILE_NAME, lock_data_dir
from node.replica.journal import TermAndVote, read_term_and_vote
from node.store import LedgerStore
from tests.store.helpers import trading_session

from .driven_raft import DrivenRaft, loopback_address, node_config

TERM = 5


def request_vote(term: int) -> dict:
    return {"type": "request_vote", "term": term, "last_log_index": 1, "last_log_term": 0}


def voted_for(node_dir: Path, candidate: str, monkeypatch, peers: tuple[str, ...]) -> None:
    node = DrivenRaft(node_config(node_dir, peers), monkeypatch)
    try:
        node.receive(candidate, request_vote(TERM))
        assert node.replies(candidate, "response_vote") == [{"type": "response_vote", "term": TERM}]
    finally:
        node.close()


def grants_vote(node_dir: Path, candidate: str, term: int, monkeypatch, peers: tuple[str, ...]) -> bool:
    node = DrivenRaft(node_config(node_dir, peers), monkeypatch)
    try:
        node.receive(candidate, request_vote(term))
        return bool(node.replies(candidate, "response_vote"))
    finally:
        node.close()


def listing(directory: Path) -> list[str]:
    """What a directory holds, but the lock file (taking the lock creates it)."""
    return sorted(p.name for p in directory.iterdir() if p.name != LOCK_FILE_NAME)


def run_settle(*argv: str) -> None:
    out = io.StringIO()
    assert settle(list(argv), out=out, err=out) == 0, out.getvalue()


# -- the ways a node is emptied -----------------------------------------------------------------

def settle_node_reset(node_dir: Path, tmp_path: Path, monkeypatch) -> None:
    run_settle("node", "reset", "--data-dir", str(node_dir))


def divergence_recovery(node_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from node.replica.emptying import empty_for_restore  # what the replica hands the keeper

    recovery.move_state_aside(node_config(node_dir, ()), 42, empty_for_restore)


def settle_restore_from_a_backup(node_dir: Path, tmp_path: Path, monkeypatch) -> None:
    with LedgerStore(tmp_path / "live") as store:
        trading_session(store)
        take_backup(store, "driven", "node1", tmp_path / "node.backup", tmp_path)
    run_settle("node", "reset", "--data-dir", str(node_dir))
    run_settle("restore", str(tmp_path / "node.backup"), "--data-dir", str(node_dir))
    assert (node_dir / "ledger").is_dir()


def chaos_harness_restore(node_dir: Path, tmp_path: Path, monkeypatch) -> None:
    harness = ChaosCluster(node_dir.parent, nodes=3, base_port=30_000, log_dir=tmp_path / "logs", topology=None)
    assert harness.node_dir(2) == node_dir
    monkeypatch.setattr(harness, "start", lambda number=None: None)  # the node is started by the test
    harness.restore_from_peers(2)


EMPTYING = [settle_node_reset, divergence_recovery, settle_restore_from_a_backup, chaos_harness_restore]


@pytest.fixture
def node_dir(tmp_path) -> Path:
    return tmp_path / "cluster" / "node2"  # the chaos harness's layout; any directory does for the others


@pytest.mark.parametrize("empty", EMPTYING, ids=lambda f: f.__name__)
def test_an_emptied_node_does_not_vote_again_in_a_term_it_voted_in(empty, node_dir, tmp_path, monkeypatch):
    first, second = loopback_address(), loopback_address()
    voted_for(node_dir, first, monkeypatch, (first, second))
    empty(node_dir, tmp_path, monkeypatch)
    assert not (node_dir / "raft.journal").exists()  # emptied indeed
    assert not grants_vote(node_dir, second, TERM, monkeypatch, (first, second))


@pytest.mark.parametrize("empty", EMPTYING, ids=lambda f: f.__name__)
def test_an_emptied_node_votes_in_a_later_term(empty, node_dir, tmp_path, monkeypatch):
    first, second = loopback_address(), loopback_address()
    voted_for(node_dir, first, monkeypatch, (first, second))
    empty(node_dir, tmp_path, monkeypatch)
    assert grants_vote(node_dir, second, TERM + 1, monkeypatch, (first, second))


# -- settle node reset ----------------------------------------------------------------------------

def test_reset_moves_the_state_aside_and_keeps_config_keys_logs_and_the_vote(node_dir, monkeypatch):
    first = loopback_address()
    voted_for(node_dir, first, monkeypatch, (first,))
    (node_dir / "ledger").mkdir()
    (node_dir / "ledger" / "data.mdb").write_bytes(b"lmdb")
    for name in ("node.toml", "node.key", "node.log"):
        (node_dir / name).write_text(name)
    out = io.StringIO()
    assert settle(["--json", "node", "reset", "--data-dir", str(node_dir)], out=out, err=out) == 0, out.getvalue()
    (aside,) = [p for p in node_dir.parent.iterdir() if p.name.startswith("node2.reset-")]
    assert sorted(p.name for p in aside.iterdir()) == ["ledger", "raft.journal", "raft.journal.meta"]
    assert sorted(p.name for p in node_dir.iterdir()) == ["node.key", "node.lock", "node.log", "node.toml", "raft.journal.meta"]
    assert read_term_and_vote(node_dir / "raft.journal.meta") == TermAndVote(TERM, first)
    assert f'"term": {TERM}' in out.getvalue() and f'"voted_for": "{first}"' in out.getvalue()


def test_reset_refuses_a_node_that_runs_and_changes_nothing(node_dir, monkeypatch):
    first = loopback_address()
    voted_for(node_dir, first, monkeypatch, (first,))
    before = listing(node_dir)
    with lock_data_dir(node_dir):  # what a running node holds (node/main.py)
        out = io.StringIO()
        assert settle(["node", "reset", "--data-dir", str(node_dir)], out=out, err=out) == 1
        assert f"in use by pid {os.getpid()}" in out.getvalue()
    assert listing(node_dir) == before
    assert [p.name for p in node_dir.parent.iterdir()] == ["node2"]


def test_reset_refuses_a_term_and_vote_that_do_not_parse_and_changes_nothing(node_dir, monkeypatch):
    first = loopback_address()
    voted_for(node_dir, first, monkeypatch, (first,))
    (node_dir / "raft.journal.meta").write_bytes(b"\x80\x02garbage")
    before = listing(node_dir)
    out = io.StringIO()
    assert settle(["node", "reset", "--data-dir", str(node_dir)], out=out, err=out) == 1
    assert "term and vote do not parse" in out.getvalue()
    assert listing(node_dir) == before
    assert [p.name for p in node_dir.parent.iterdir()] == ["node2"]


def test_reset_refuses_a_directory_without_node_state(tmp_path):
    (tmp_path / "node2").mkdir()
    (tmp_path / "node2" / "node.toml").write_text("# config\n")
    out = io.StringIO()
    assert settle(["node", "reset", "--data-dir", str(tmp_path / "node2")], out=out, err=out) == 1
    assert "holds no node state" in out.getvalue()
