"""A node compacts its Raft log once the entries applied since its last snapshot hold
`log_compaction_bytes_min` bytes, not only after pysyncobj's count of entries or its period: the
log in memory is bounded by size too (README "Soak")."""

from __future__ import annotations

import dataclasses

import pytest

from node.config import RaftTuning
from node.replica.raft import CompactionByBytes

from .driven_raft import DrivenRaft, loopback_address, node_config
from .test_log_matching import append_entries

FIRST_TERM = 1
BYTES_MIN = 4_000
PAYLOAD_BYTES = 1_000


@pytest.fixture
def leader() -> str:
    return loopback_address()


@pytest.fixture
def follower(tmp_path, monkeypatch, leader):
    config = node_config(tmp_path, peers=(leader,))
    config = dataclasses.replace(config, raft=RaftTuning(log_compaction_bytes_min=BYTES_MIN))
    driven = DrivenRaft(config, monkeypatch)
    yield driven
    driven.close()


def receive_and_apply(follower: DrivenRaft, leader: str, first: int, last: int) -> None:
    """Entries first..last of FIRST_TERM, PAYLOAD_BYTES each, committed and applied."""
    carried = [(follower.command(bytes([i % 256]) * PAYLOAD_BYTES), i, FIRST_TERM) for i in range(first, last + 1)]
    prev_term = 0 if first == 2 else FIRST_TERM
    follower.receive(leader, append_entries(first - 1, prev_term, carried, last))
    follower.tick()
    assert follower.applied[-1][0] == last


def test_entries_below_the_byte_bound_start_no_snapshot(follower, leader):
    receive_and_apply(follower, leader, 2, 3)  # ~2,000 bytes
    follower.tick()
    assert follower.snapshots_started == 0


def test_entries_reaching_the_byte_bound_start_a_snapshot(follower, leader):
    receive_and_apply(follower, leader, 2, 6)  # ~5,000 bytes: past the bound, far below 20,000 entries or 300 s
    follower.tick()
    assert follower.snapshots_started == 1


def test_the_byte_count_starts_again_after_it_asked():
    due = CompactionByBytes(10)
    assert [due.applied(4) for _ in range(6)] == [False, False, True, False, False, True]
