"""A node started on damaged files must notice and refuse to serve, never serve damaged state.

The chaos harness's corrupt fault flips bytes in a stopped node's files; these are its two cases
as plain examples on a real 3-node cluster (loopback, no namespaces needed)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from cluster.chaos.faults import ChaosCluster, flip_bytes, flip_within, journal_end, journal_first_record, spare_base_port
from cluster.chaos.load import make_client, set_up
from node.ledger.commands import Deposit

leader_wait_s = 60.0
refusal_wait_s = 20.0
deposits = 300


@pytest.fixture
def cluster(tmp_path: Path):
    cluster = ChaosCluster(tmp_path / "cluster", 3, spare_base_port(3), tmp_path / "logs", topology=None)
    cluster.prepare()
    cluster.start()
    try:
        assert cluster.wait_for_leader(leader_wait_s) is not None, cluster.log_tail(1)
        cluster.install_genesis()
        set_up(cluster.data_dir, cluster.grpc_addresses, 1, "corrupt")
        with make_client(cluster.data_dir, cluster.grpc_addresses, "custodian") as custodian:
            for n in range(0, deposits, 10):
                custodian.submit([Deposit(f"corrupt-d{n + k}", f"c-{n + k}", 1_000 + n + k) for k in range(10)])
        yield cluster
    finally:
        cluster.stop()


def _follower(cluster: ChaosCluster) -> int:
    leader = cluster.leader()
    return next(s.number for s in cluster.specs if s.number != leader)


def _refuses(cluster: ChaosCluster, number: int) -> bool:
    """Started on its damaged files, the node exits on its own (non-zero) instead of running."""
    cluster.start(number)
    deadline = time.monotonic() + refusal_wait_s
    while time.monotonic() < deadline:
        if not cluster.alive(number):
            return cluster.processes[number].returncode != 0
        time.sleep(0.2)
    return False


def flip_every_copy(path: Path, needle: bytes) -> int:
    """Inverts every occurrence of `needle` in the file, synced; returns how many there were."""
    offsets = [match.start() for match in re.finditer(re.escape(needle), path.read_bytes())]
    with open(path, "r+b") as f:
        for offset in offsets:
            f.seek(offset)
            f.write(bytes(b ^ 0xFF for b in needle))
        f.flush()
        os.fsync(f.fileno())
    return len(offsets)


def test_a_node_whose_lmdb_file_was_damaged_refuses_to_start(cluster):
    number = _follower(cluster)
    cluster.kill(number)
    store = cluster.node_dir(number) / "ledger" / "data.mdb"
    flip_bytes(store, salt=20261124, skip=2 * 4096)  # as the harness does, past LMDB's two meta pages
    # Random flips may all land on free pages (old copies LMDB will reuse), which a node rightly
    # ignores; where they land moves with the file's layout. So the damage also reaches a record
    # the committed state holds: every copy of the last account's key.
    assert flip_every_copy(store, f"c-{deposits - 1}".encode()) >= 1
    assert _refuses(cluster, number), cluster.log_tail(number, 5)


def test_a_node_whose_raft_journal_was_damaged_refuses_to_start(cluster):
    # Found by the chaos harness's corrupt fault: pysyncobj's journal had no checksums, so such a
    # node ran and stalled (or kept a wrong entry); node/replica/journal.py now checks each record.
    number = _follower(cluster)
    cluster.kill(number)
    journal = cluster.node_dir(number) / "raft.journal"
    flip_within(journal, 20261124, journal_first_record, journal_end(journal))
    assert _refuses(cluster, number), cluster.log_tail(number, 5)
