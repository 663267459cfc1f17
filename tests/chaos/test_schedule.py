"""The fault schedule is a pure function of its seed."""

from __future__ import annotations

from cluster.chaos.schedule import KINDS, WHOLE_CLUSTER_KINDS, make_schedule

FIVE = ("kill", "pause", "partition", "restart", "powercut")


def test_the_same_seed_gives_the_same_schedule():
    assert make_schedule(42, FIVE, 3, steps=50) == make_schedule(42, FIVE, 3, steps=50)


def test_another_seed_gives_another_schedule():
    assert make_schedule(42, FIVE, 3, steps=50) != make_schedule(43, FIVE, 3, steps=50)


def test_every_kind_comes_up_in_each_round_of_the_deck():
    steps = make_schedule(7, KINDS, 3, steps=len(KINDS) * 3)
    for start in range(0, len(steps), len(KINDS)):
        assert sorted(s.faults[0].kind for s in steps[start:start + len(KINDS)]) == sorted(KINDS)


def test_two_simultaneous_faults_hit_two_different_nodes_and_whole_cluster_faults_come_alone():
    for step in make_schedule(3, KINDS, 5, simultaneous=2, steps=200):
        if step.faults[0].kind in WHOLE_CLUSTER_KINDS:
            assert len(step.faults) == 1
            continue
        first, second = step.faults
        assert second.kind not in WHOLE_CLUSTER_KINDS
        assert isinstance(second.target, int) and second.target != first.target


def test_about_half_of_single_node_faults_aim_at_the_leader():
    faults = [s.faults[0] for s in make_schedule(11, ("kill", "pause", "partition"), 3, steps=300)]
    share = sum(1 for f in faults if f.target == "leader") / len(faults)
    assert 0.45 < share < 0.75
