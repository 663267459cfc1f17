"""The harness names why a node stopped itself, so a report's refusals can be told apart."""

from __future__ import annotations

from cluster.chaos.run import stop_reason

TRACEBACK = """{"level":"INFO","message":"loaded ledger at applied index 20648"}
Traceback (most recent call last):
  File "node/replica/snapshot.py", line 76, in read_header
    raise SnapshotError(f"{path} is not a settlement snapshot")
node.replica.snapshot.SnapshotError: node3/raft.dump is not a settlement snapshot"""


def test_a_node_that_refused_is_named_by_its_refusal_line():
    line = '{"level":"CRITICAL","message":"refusing to serve: the Raft journal is damaged"}'
    assert stop_reason(f"earlier\n{line}\n", 2) == line


def test_a_node_ended_by_an_uncaught_exception_is_named_by_the_exception():
    assert stop_reason(TRACEBACK, 1) == "exit 1: node.replica.snapshot.SnapshotError: node3/raft.dump is not a settlement snapshot"


def test_a_node_that_said_nothing_is_named_by_its_exit_status():
    assert stop_reason('{"level":"INFO","message":"serving"}', 3) == "exit 3"
