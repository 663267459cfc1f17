"""Acknowledged settlements survive kill -9 of the leader, of every node, and a power cut."""

from __future__ import annotations

import shutil
import time


from cluster.fixture_node.flags import POWER_CUT_SHADOW, UNSAFE_SKIP_JOURNAL_SYNC
from node.replica.journal import read_journal_end

from .probe import wait_converged, wait_for_leader
from .workload import BackgroundLoad, assert_applied_exactly_once

load_batches_max = 400
load_batch_size = 10
load_seconds_max = 45.0


def test_killing_the_leader_under_load_loses_and_duplicates_nothing(make_cluster):
    cluster = make_cluster(nodes=3)
    leader = wait_for_leader(cluster)
    client = cluster.client(cluster.grpc_addresses, timeout_s=10.0)
    try:
        load = BackgroundLoad(client, "failover", load_batches_max, load_batch_size, load_seconds_max)
        time.sleep(1.5)  # let some batches be acknowledged by the first leader
        cluster.kill(leader)
        new_leader = wait_for_leader(cluster, among=[s.number for s in cluster.specs if s.number != leader])
        assert new_leader != leader
        record = load.finish()
        assert len(record.acknowledged) > 100, record.failures[:5]
        cluster.start(leader)  # the old leader rejoins on its data and catches up
        assert_applied_exactly_once(client, record)
        wait_converged(cluster)
    finally:
        client.close()


def _kill_all_during_load(cluster, tag: str):
    client = cluster.client(cluster.grpc_addresses, timeout_s=5.0, max_attempts=3)
    try:
        load = BackgroundLoad(client, tag, load_batches_max, load_batch_size, load_seconds_max)
        time.sleep(2.0)
        cluster.kill_all()  # every node at once, mid-load
        return load.finish(stop=True)
    finally:
        client.close()


def _nodes_holding(cluster, index: int) -> int:
    return sum(1 for s in cluster.specs if read_journal_end(cluster.node_dir(s.number) / "raft.journal") >= index)


def _power_cut(cluster) -> None:
    """What a power cut leaves: the journal as last synced (kill -9 alone keeps the page cache).
    LMDB needs no shadow: every commit is synced before the transaction returns."""
    for spec in cluster.specs:
        journal = cluster.node_dir(spec.number) / "raft.journal"
        shutil.copyfile(journal.with_name("raft.journal.synced"), journal)


def test_every_node_killed_at_once_keeps_every_acknowledged_command(make_cluster):
    cluster = make_cluster(nodes=3)
    wait_for_leader(cluster)
    record = _kill_all_during_load(cluster, "killall")
    assert len(record.acknowledged) > 50, record.failures[:5]
    cluster.start()
    wait_for_leader(cluster)
    with cluster.client(cluster.grpc_addresses, timeout_s=10.0) as client:
        assert_applied_exactly_once(client, record)
    wait_converged(cluster)


def test_power_cut_of_every_node_keeps_every_acknowledged_command(make_cluster):
    cluster = make_cluster(nodes=3, fixture_flags=[POWER_CUT_SHADOW])
    wait_for_leader(cluster)
    record = _kill_all_during_load(cluster, "powercut")
    assert len(record.acknowledged) > 50, record.failures[:5]
    _power_cut(cluster)
    # Raft's promise, checked on the disks themselves: a majority holds the last acknowledged entry.
    assert _nodes_holding(cluster, record.highest_index) >= 2
    cluster.start()
    wait_for_leader(cluster)
    with cluster.client(cluster.grpc_addresses, timeout_s=10.0) as client:
        assert_applied_exactly_once(client, record)
    wait_converged(cluster)


def test_power_cut_without_the_journal_sync_loses_acknowledged_commands(make_cluster):
    # Control for the test above: the same power cut with the journal sync switched off (a
    # test-only flag). No disk holds the acknowledged entries, so the test above passes because
    # of the sync.
    cluster = make_cluster(
        nodes=3, fixture_flags=[POWER_CUT_SHADOW, UNSAFE_SKIP_JOURNAL_SYNC]
    )
    wait_for_leader(cluster)
    record = _kill_all_during_load(cluster, "unsynced")
    assert len(record.acknowledged) > 50, record.failures[:5]
    _power_cut(cluster)
    assert _nodes_holding(cluster, record.highest_index) == 0
    # And the nodes know it: each one's journal now ends below what its store applied, so it
    # refuses to start rather than skip new entries and serve a cluster that lost writes.
    cluster.start()
    for spec in cluster.specs:
        assert cluster.processes[spec.number].wait(timeout=30) == 3, cluster.log_tail(spec.number)
        assert "acknowledged entries were lost" in cluster.log_tail(spec.number)
