"""What the chaos harness settles before it starts anything: the nodes compact as production does
unless asked otherwise, the local policy certifies checkpoints often enough for the replay to find
a base after a compaction, and a run the dedup retention cannot cover is refused (the checker would
read forgotten dedup records as lost writes)."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

import pytest

from cluster.chaos import run as chaos_run
from cluster.chaos.checker import retention_problem
from cluster.chaos.faults import ChaosCluster
from cluster.local import local_policy
from node.config import RaftTuning


def arguments(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    chaos_run.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.fixture
def restores_sigterm():
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)  # run() installs its own


def test_a_chaos_cluster_compacts_its_log_as_production_does(tmp_path: Path):
    cluster = ChaosCluster(tmp_path / "cluster", 3, 7000, tmp_path / "logs", topology=None)
    cluster.prepare()
    config = cluster.config_path(1).read_text()
    assert "log_compaction" not in config  # so node/config.py's RaftTuning applies
    assert RaftTuning().log_compaction_entries_min == 20_000


def test_the_local_policy_certifies_checkpoints_far_more_often_than_production_compacts():
    """So during a run a certified checkpoint follows every compaction, and a journal reaches it."""
    policy, tuning = local_policy(3), RaftTuning()
    assert policy["checkpoint_every_entries"] * 10 <= tuning.log_compaction_entries_min
    assert policy["checkpoint_every_ms"] * 10 <= tuning.log_compaction_period_s * 1000


def test_the_local_policy_keeps_dedup_records_longer_than_make_chaos_can_run():
    assert retention_problem(local_policy(3)["dedup_retention_ms"], chaos_run.longest_run_s(1_250)) is None
    assert retention_problem(local_policy(5)["dedup_retention_ms"], chaos_run.longest_run_s(300)) is None


def test_a_run_longer_than_the_dedup_retention_is_refused_before_any_node_starts(tmp_path: Path, restores_sigterm, capsys):
    args = arguments("--out", str(tmp_path / "out"), "--duration", str(2 * 86_400), "--faults", "kill")
    assert chaos_run.run(args, ["kill"], None, []) == 2
    assert "refusing the run" in capsys.readouterr().out
    assert not (tmp_path / "out" / "cluster").exists()


def test_compaction_forced_below_two_entries_is_a_usage_error(tmp_path: Path):
    assert chaos_run.main(arguments("--out", str(tmp_path), "--compact-every", "1"), []) == 2
