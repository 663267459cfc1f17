"""A node cut off from its peers does not depose a healthy leader when it comes back (pre-votes).

Without pre-votes (node/replica/pre_vote.py) a follower that hears no leader raises its term and
campaigns, and when the partition heals its higher term makes the leader step down. A real 3-node
cluster runs in network namespaces this test creates and removes; the terms are read from the
nodes' own `leader_change` log lines. Needs root and `ip netns`, as `make test` runs here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cluster.chaos.faults import ChaosCluster, spare_base_port
from cluster.chaos.network import Topology, netns_available

why_not = netns_available()
pytestmark = pytest.mark.skipif(bool(why_not), reason=f"partitions need network namespaces: {why_not}")

leader_wait_s = 60.0
cut_off_s = 6.0  # several election timeouts (500-1,000 ms) and pysyncobj's connection timeout (3.5 s)
after_heal_s = 6.0


def leader_changes(log: Path) -> list[tuple[int, str]]:
    """(term, leader) of every leader_change line the node logged, in order."""
    changes = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "leader_change":
            changes.append((record["new_term"], record["leader"]))
    return changes


def agreed_leader(cluster: ChaosCluster) -> tuple[int, str] | None:
    """The (term, leader) every node logged last, if they agree on one with a leader."""
    last = {n: (leader_changes(cluster.log_path(n)) or [None])[-1] for n in (1, 2, 3)}
    values = set(last.values())
    if len(values) == 1 and None not in values and next(iter(values))[1]:
        return next(iter(values))
    return None


@pytest.fixture
def cluster(tmp_path: Path):
    topology = Topology(3)
    topology.create()
    cluster = ChaosCluster(tmp_path / "cluster", 3, spare_base_port(3), tmp_path / "logs", topology=topology)
    try:
        cluster.prepare()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        topology.remove()


def test_a_follower_cut_off_from_its_peers_does_not_depose_the_leader_when_it_comes_back(cluster):
    deadline = time.monotonic() + leader_wait_s
    while (first := agreed_leader(cluster)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first is not None, cluster.log_tail(1)
    term, leader = first
    follower = next(n for n in (1, 2, 3) if f"node{n}" != leader)
    others = [n for n in (1, 2, 3) if n != follower]
    cluster.topology.partition([[follower], others])
    time.sleep(cut_off_s)
    cluster.topology.heal()
    time.sleep(after_heal_s)
    for n in (1, 2, 3):
        assert leader_changes(cluster.log_path(n))[-1] == (term, leader), cluster.log_tail(n)
    for n in others:  # the leader's side saw no election at all
        assert leader_changes(cluster.log_path(n)) == [(term, leader)], cluster.log_tail(n)
