"""A follower deletes its log suffix only on a real conflict (Raft §5.3), never the entries it
already holds with the leader's term: not for a late or reordered append_entries that carries
them again, not for a heartbeat built from a stale nextIndex. It answers, and commits, only what
the message verified. pysyncobj 0.3.17 alone truncated the applied log in both cases (seen as
"truncating already-applied log entries" in fault-free runs, and as a journal ending below the
store at the next start)."""

from __future__ import annotations

import logging

import pytest
from pysyncobj.pickle import dumps

from node.replica.journal import read_journal_end

from .driven_raft import MEMBERSHIP_COMMAND, DrivenRaft, loopback_address, node_config

FIRST_TERM = 1
ENTRIES = 12  # the follower holds indexes 1..12: pysyncobj's own first no-op, then 2..12


@pytest.fixture
def leader() -> str:
    return loopback_address()


@pytest.fixture
def follower(tmp_path, monkeypatch, leader):
    driven = DrivenRaft(node_config(tmp_path, peers=(leader,)), monkeypatch)
    yield driven
    driven.close()


def entries(follower: DrivenRaft, first: int, last: int, term: int = FIRST_TERM) -> list:
    return [(follower.command(f"entry {i} of term {term}".encode()), i, term) for i in range(first, last + 1)]


def append_entries(prev_index: int, prev_term: int, carried: list, commit_index: int, term: int = FIRST_TERM) -> dict:
    return {"type": "append_entries", "term": term, "commit_index": commit_index, "entries": carried,
            "prevLogIdx": prev_index, "prevLogTerm": prev_term}


def holding(follower: DrivenRaft, leader: str, commit_index: int = ENTRIES) -> None:
    """The follower receives entries 2..ENTRIES of FIRST_TERM and applies up to commit_index."""
    follower.receive(leader, append_entries(1, 0, entries(follower, 2, ENTRIES), commit_index))
    follower.tick()
    assert follower.log() == [(1, 0)] + [(i, FIRST_TERM) for i in range(2, ENTRIES + 1)]
    assert [index for index, _ in follower.applied] == list(range(2, commit_index + 1))
    follower.sent.clear()


def test_a_late_append_entries_carrying_held_entries_truncates_nothing(follower, leader, caplog):
    holding(follower, leader)
    follower.receive(leader, append_entries(3, FIRST_TERM, entries(follower, 4, 5), ENTRIES))
    follower.tick()
    assert follower.log()[-1] == (ENTRIES, FIRST_TERM)
    assert "truncating already-applied" not in caplog.text
    assert [index for index, _ in follower.applied] == list(range(2, ENTRIES + 1))  # nothing applied twice
    (answer,) = follower.replies(leader, "next_node_idx")
    assert answer["success"] and answer["next_node_idx"] == 6  # what it verified, not its whole log


def test_a_heartbeat_from_a_stale_next_index_truncates_nothing(follower, leader, caplog):
    holding(follower, leader)
    follower.receive(leader, append_entries(3, FIRST_TERM, [], ENTRIES))
    assert follower.log()[-1] == (ENTRIES, FIRST_TERM)
    assert "truncating already-applied" not in caplog.text
    (answer,) = follower.replies(leader, "next_node_idx")
    assert answer["success"] and answer["next_node_idx"] == 4


def test_the_journal_on_disk_keeps_reaching_what_was_applied(tmp_path, monkeypatch, leader):
    follower = DrivenRaft(node_config(tmp_path, peers=(leader,)), monkeypatch)
    try:
        holding(follower, leader)
        follower.receive(leader, append_entries(3, FIRST_TERM, entries(follower, 4, 5), ENTRIES))
        follower.receive(leader, append_entries(2, FIRST_TERM, [], ENTRIES))
        follower.tick()
    finally:
        follower.close()
    # What the node checks at its next start (log_coverage.py): the log reaches the store.
    assert read_journal_end(follower.config.journal_file) == ENTRIES == follower.applied[-1][0]


def test_entries_the_follower_holds_are_kept_and_the_new_ones_after_them_appended(follower, leader, caplog):
    holding(follower, leader)
    follower.receive(leader, append_entries(8, FIRST_TERM, entries(follower, 9, ENTRIES + 3), ENTRIES + 3))
    follower.tick()
    assert follower.log()[-1] == (ENTRIES + 3, FIRST_TERM)
    assert "truncating already-applied" not in caplog.text  # 9..12 kept, not deleted and appended again
    assert [index for index, _ in follower.applied] == list(range(2, ENTRIES + 4))
    (answer,) = follower.replies(leader, "next_node_idx")
    assert answer["success"] and answer["next_node_idx"] == ENTRIES + 4


def test_a_stale_heartbeat_commits_no_further_than_it_verified(follower, leader):
    holding(follower, leader, commit_index=4)
    # The leader has committed all 12, but this message only proves the follower's log up to 7:
    # entries 8..12 could still be another term's, to be replaced.
    follower.receive(leader, append_entries(7, FIRST_TERM, [], ENTRIES))
    follower.tick()
    assert follower.raft.commit_index == 7
    assert [index for index, _ in follower.applied] == list(range(2, 8))


def test_a_real_conflict_above_the_commit_index_still_truncates(follower, leader):
    holding(follower, leader, commit_index=6)
    new_term = FIRST_TERM + 1
    # A new leader never had entries 8..12 of the first term: it sends its own entry 8 of its term.
    follower.receive(leader, append_entries(7, FIRST_TERM, entries(follower, 8, 8, term=new_term), 6, term=new_term))
    assert follower.log()[-2:] == [(7, FIRST_TERM), (8, new_term)]
    (answer,) = follower.replies(leader, "next_node_idx")
    assert answer["success"] and answer["next_node_idx"] == 9


def test_a_conflict_after_held_entries_keeps_them_and_truncates_from_the_conflict(follower, leader):
    holding(follower, leader, commit_index=6)
    new_term = FIRST_TERM + 1
    carried = entries(follower, 5, 7) + entries(follower, 8, 9, term=new_term)
    follower.receive(leader, append_entries(4, FIRST_TERM, carried, 6, term=new_term))
    assert follower.log()[-3:] == [(7, FIRST_TERM), (8, new_term), (9, new_term)]
    (answer,) = follower.replies(leader, "next_node_idx")
    assert answer["success"] and answer["next_node_idx"] == 10


def test_a_real_conflict_rolls_back_a_membership_change_it_deletes(follower, leader):
    holding(follower, leader, commit_index=6)
    newcomer = loopback_address()
    change = (bytes([MEMBERSHIP_COMMAND]) + dumps(("add", newcomer)), ENTRIES + 1, FIRST_TERM)
    follower.receive(leader, append_entries(ENTRIES, FIRST_TERM, [change], 6))
    assert newcomer in follower.raft.other_members()
    new_term = FIRST_TERM + 1
    follower.receive(leader, append_entries(7, FIRST_TERM, entries(follower, 8, 8, term=new_term), 6, term=new_term))
    assert newcomer not in follower.raft.other_members()
    assert follower.log()[-1] == (8, new_term)


def test_a_mismatched_previous_entry_is_refused_and_truncates_nothing(follower, leader):
    holding(follower, leader, commit_index=6)
    follower.receive(leader, append_entries(9, FIRST_TERM + 1, [], 6, term=FIRST_TERM + 1))
    assert follower.log()[-1] == (ENTRIES, FIRST_TERM)
    (answer,) = follower.replies(leader, "next_node_idx")
    assert not answer["success"] and answer["next_node_idx"] == 9 and answer["reset"]


@pytest.fixture(autouse=True)
def _pysyncobj_logs(caplog):
    caplog.set_level(logging.WARNING, logger="pysyncobj")
