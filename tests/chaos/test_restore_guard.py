"""Restoring a node from its peers (emptying its data dir) is refused while a node restored
earlier is still catching up.

Regression for the first `make chaos` run (seed 2026, 3 nodes): the harness restored a stalled
node and then a refusing one before the first had the log back; the two emptied nodes were a
majority, elected a leader that never had the committed log, and 124,401 acknowledged commands
were gone on every node (the checker reported them lost)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.chaos import faults
from cluster.chaos.faults import ChaosCluster, UnsafeRestore, spare_base_port


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(faults, "restore_precondition_s", 1.0)
    cluster = ChaosCluster(tmp_path / "cluster", 3, spare_base_port(3), tmp_path / "logs", topology=None)
    cluster.prepare()
    cluster.start()
    try:
        assert cluster.wait_for_leader(60.0) is not None, cluster.log_tail(1)
        yield cluster
    finally:
        cluster.stop()


def test_a_second_node_is_not_emptied_while_the_first_restored_one_is_catching_up(cluster):
    cluster.kill(3)
    cluster.restoring.add(3)  # as if restored a moment ago: down, so not caught up
    with pytest.raises(UnsafeRestore):
        cluster.restore_from_peers(2)
    assert any(cluster.node_dir(2).iterdir()), "node2's data must be untouched"


def test_a_restore_goes_ahead_once_the_earlier_one_caught_up(cluster):
    cluster.restore_from_peers(3)
    assert cluster.wait_healthy(60.0), "the restored node catches up"
    cluster.restore_from_peers(2)  # no earlier restore still catching up: allowed
    assert cluster.restoring == {2}
