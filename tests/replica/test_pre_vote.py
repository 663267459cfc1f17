"""Who says yes to a pre-vote, and when a node may campaign (node/replica/pre_vote.py)."""

from __future__ import annotations

import pytest

from node.replica.pre_vote import PreVoteRound, grants_pre_vote

TIMEOUT_S = 0.5


def asked(**changes) -> bool:
    question = dict(is_leader=False, heard_from_leader_s_ago=2.0, election_timeout_min_s=TIMEOUT_S,
                    current_term=5, asked_term=6, own_last_log=(5, 100), asker_last_log=(5, 100))
    question.update(changes)
    return grants_pre_vote(**question)


def test_a_node_that_lost_its_leader_says_yes_to_an_asker_as_up_to_date_as_itself():
    assert asked()


def test_a_node_that_heard_a_leader_within_the_shortest_election_timeout_says_no():
    assert not asked(heard_from_leader_s_ago=TIMEOUT_S - 0.01)


def test_the_leader_itself_says_no():
    assert not asked(is_leader=True)


def test_a_question_for_a_term_not_above_the_current_one_gets_no():
    assert not asked(asked_term=5)


@pytest.mark.parametrize("asker_last_log", [(4, 200), (5, 99)])
def test_an_asker_whose_log_is_behind_gets_no(asker_last_log):
    assert not asked(asker_last_log=asker_last_log)


def test_an_asker_whose_log_is_ahead_gets_yes():
    assert asked(asker_last_log=(6, 1))


def test_a_round_is_won_only_by_a_majority_of_the_cluster_counting_the_asker():
    round_ = PreVoteRound()
    round_.start(6, "node1")
    assert not round_.allows(6)
    assert not round_.answered(6, "node2", False, cluster_size=5)
    assert not round_.answered(6, "node2", True, cluster_size=5)
    assert not round_.answered(6, "node2", True, cluster_size=5)  # the same voter counts once
    assert round_.answered(6, "node3", True, cluster_size=5)
    assert round_.allows(6) and not round_.allows(7)


def test_an_answer_for_another_round_does_not_count():
    round_ = PreVoteRound()
    round_.start(6, "node1")
    assert not round_.answered(5, "node2", True, cluster_size=3)
    assert not round_.allows(6)
