"""LedgerRaft's tick thread: it keeps ticking while entries are applied, and listens before it campaigns.

A single-node LedgerRaft (it elects itself) runs in this process on a free loopback port. Waits
are bounded; no timing is asserted.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from node.codec import Batch, log_entry_to_bytes
from node.config import NodeConfig
from node.ledger.commands import Deposit
from node.metrics import NodeMetrics
from node.replica.apply_thread import apply_queue_entries_max
from node.replica.raft import LedgerRaft, election_deadline_after_deafness
from node.replica.state_machine import LedgerStateMachine
from node.store import LedgerStore

BOUND_S = 30.0
TICKS_WHILE_HELD = 50  # ticks the thread must make while an entry's apply is held


def until(condition, what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"not within {BOUND_S} s: {what}")


def free_raft_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def single_node(tmp_path):
    address = free_raft_address()
    config = NodeConfig(node_id="node1", cluster_id="tick-test", grpc_address="127.0.0.1:1", raft_address=address,
                        data_dir=tmp_path, raft_password="a password of the test cluster")
    machine = LedgerStateMachine(LedgerStore(config.store_dir), tmp_path, address, NodeMetrics(), config.dump_file)
    ready = threading.Event()
    raft = LedgerRaft(config, machine.apply_in_order, machine.snapshot, machine.restore, ready.set,
                      snapshot_progress=machine.snapshot_progress, may_apply=machine.may_apply)
    ticks = [0]
    raft.addOnTickCallback(lambda: ticks.__setitem__(0, ticks[0] + 1))
    until(lambda: ready.is_set() and raft.is_leader(), "the node elected itself")
    yield raft, machine, ticks
    raft.destroy()
    until(lambda: not raft.tick_thread_alive(), "the tick thread ended")
    machine.close()
    machine.store.close()


def deposit_entry(n: int) -> bytes:
    return log_entry_to_bytes(1_700_000_000_000 + n, [Batch((Deposit(f"dep-{n}", "alice", 10),))])


def test_the_tick_thread_keeps_ticking_while_an_entry_is_being_applied(single_node):
    raft, machine, ticks = single_node
    outcomes = []
    with machine.lock:  # an entry's apply holds this for the whole entry
        for n in range(3):
            raft.apply_entry(deposit_entry(n), callback=lambda result, error: outcomes.append(result))
        until(lambda: raft.commit_index >= raft.raftLastApplied and len(outcomes) == 3, "the entries were handed over")
        held_at = ticks[0]
        until(lambda: ticks[0] >= held_at + TICKS_WHILE_HELD, "the tick thread ticked on while the entry was held")
        assert not any(outcome.done() for outcome in outcomes)
    until(lambda: all(outcome.done() for outcome in outcomes), "the entries were applied")
    assert machine.state.accounts["alice"].collateral == 30


def test_committed_entries_wait_in_the_log_while_the_apply_thread_has_no_room(single_node):
    raft, machine, _ = single_node
    handed_over = []
    extra = 5
    with machine.lock:
        for n in range(apply_queue_entries_max + extra):
            raft.apply_entry(deposit_entry(n), callback=lambda result, error: handed_over.append(result))
        until(lambda: raft.commit_index >= raft.raftLastApplied + extra, "the rest committed and waiting")
        assert len(handed_over) == apply_queue_entries_max
    until(lambda: len(handed_over) == apply_queue_entries_max + extra, "the rest handed over once there was room")
    until(lambda: all(outcome.done() for outcome in handed_over), "every entry applied")


@pytest.mark.parametrize(("deadline", "listened_at", "now", "expected"), [
    (10.5, 10.0, 11.0, 11.002),  # passed after the node last listened: moved past the next poll
    (9.5, 10.0, 11.0, 9.5),  # passed before it last listened: the leader was silent, it stands
    (12.0, 10.0, 11.0, 12.0),  # not passed: it stands
    (10.5, 9.0, 11.0, 11.002),  # the first tick after a slow start (listened_at: the start)
])
def test_an_election_deadline_that_passed_while_the_node_was_not_listening_waits_for_one_poll(
        deadline, listened_at, now, expected):
    assert election_deadline_after_deafness(deadline, listened_at, now, 0.002) == pytest.approx(expected)



def test_a_node_last_listened_when_its_poll_returned_not_after_it_handled_what_it_read(single_node):
    # A message whose handling takes long (a received snapshot synced on the tick thread): what
    # arrives meanwhile waits unread, so at the next tick's election check the node last listened
    # when the poll that handed the message over returned, before the handling.
    raft, _, _ = single_node
    reader, writer = socket.socketpair()
    handled: dict[str, float] = {}

    def slow_handler(descr, event_mask):
        reader.recv(16)
        handled["started"] = time.monotonic()
        time.sleep(0.3)
        handled["ended"] = time.monotonic()

    def next_tick():
        if "ended" in handled and "listened_at_next_tick" not in handled:
            handled["listened_at_next_tick"] = raft.listened_at

    raft.addOnTickCallback(next_tick)
    raft._poller.subscribe(reader.fileno(), slow_handler, 1)  # pysyncobj's POLL_EVENT_TYPE.READ
    try:
        writer.send(b"x")
        until(lambda: "listened_at_next_tick" in handled, "a tick after the slow message")
        assert handled["listened_at_next_tick"] <= handled["started"]
    finally:
        raft._poller.unsubscribe(reader.fileno())
        reader.close()
        writer.close()
