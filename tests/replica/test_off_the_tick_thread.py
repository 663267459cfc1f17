"""pysyncobj's tick thread hands work over and never waits for it (docs/design.md#pauses-of-the-tick-thread).

What the tick thread calls on the state machine (the applier, the snapshot hooks, may_apply) must
return while an entry is being applied, a snapshot copied or a peer's snapshot installed. Each
test plays the tick thread on a thread of its own and waits for it with a bound: a call that
waits for the work would still be blocked when the bound runs out. No timing is asserted.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from node.codec import Batch, log_entry_to_bytes
from node.ledger.commands import Deposit
from node.ledger.state_hash import hash_bytes
from node.metrics import NodeMetrics
from node.replica import snapshot
from node.replica.apply_thread import apply_queue_entries_max
from node.replica.snapshot_writer import SnapshotProgress
from node.replica.state_machine import LedgerStateMachine
from node.store import LedgerStore
from node.store.readers import StoreReader

BOUND_S = 30.0  # how long a call the tick thread makes may take before the test calls it blocked
RAFT_ADDRESS = "127.0.0.1:1"
CLUSTER = frozenset()


class Member:  # what pysyncobj hands the serializer as the cluster: nodes with an address
    def __init__(self, address: str) -> None:
        self.address = address


def machine(tmp_path: Path, name: str) -> LedgerStateMachine:
    data_dir = tmp_path / name
    data_dir.mkdir()
    return LedgerStateMachine(LedgerStore(data_dir / "ledger"), data_dir, RAFT_ADDRESS, NodeMetrics(), data_dir / "raft.dump")


def entry(n: int) -> bytes:
    return log_entry_to_bytes(1_700_000_000_000 + n, [Batch((Deposit(f"dep-{n}", f"acct-{n % 3}", 100 + n),))])


def raft_data(index: int) -> tuple:
    return (b"\x01", index, 1), (b"\x01", index - 1, 1), [Member(RAFT_ADDRESS)]


def as_tick_thread(call, *args):
    """Runs call(*args) on a thread of its own, as pysyncobj's tick thread would; returns its result,
    or fails if it is still blocked after BOUND_S."""
    done: list = []
    caller = threading.Thread(target=lambda: done.append(call(*args)), daemon=True)
    caller.start()
    caller.join(BOUND_S)
    assert not caller.is_alive(), f"the tick thread would still be waiting in {call.__name__}"
    return done[0]


def until(condition, what: str):
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    pytest.fail(f"not within {BOUND_S} s: {what}")


def written(state_machine: LedgerStateMachine) -> SnapshotProgress:
    """Polls snapshot_progress as pysyncobj does, every tick, until the snapshot ends."""
    outcome: list[SnapshotProgress] = []

    def ended() -> bool:
        progress = state_machine.snapshot_progress()
        if progress in (SnapshotProgress.WRITTEN, SnapshotProgress.FAILED):
            outcome.append(progress)
        return bool(outcome)

    until(ended, "the snapshot ended")
    return outcome[0]


@pytest.fixture
def held_copy(monkeypatch):
    """Holds every snapshot copy until the test sets the event (then it copies as usual)."""
    release = threading.Event()
    original = StoreReader.copy_compact

    def held(reader, fd):
        release.wait(BOUND_S)
        original(reader, fd)

    monkeypatch.setattr(StoreReader, "copy_compact", held)
    yield release
    release.set()


def test_an_entry_is_handed_over_without_waiting_for_the_entry_before_it(tmp_path):
    node = machine(tmp_path, "node")
    with node.lock:  # an entry being applied holds the lock for its whole apply
        futures = [as_tick_thread(node.apply_in_order, n, entry(n)) for n in (1, 2, 3)]
        assert as_tick_thread(node.may_apply)
        assert not any(f.done() for f in futures)
    until(lambda: all(f.done() for f in futures), "the entries were applied")
    assert [f.result().applied_index for f in futures] == [1, 2, 3]
    assert node.state.applied_index == 3
    node.close()


def test_the_tick_thread_stops_handing_entries_over_while_the_apply_thread_has_no_room(tmp_path):
    node = machine(tmp_path, "node")
    with node.lock:
        futures = [node.apply_in_order(n, entry(n)) for n in range(1, apply_queue_entries_max + 1)]
        assert not node.may_apply()
    until(lambda: all(f.done() for f in futures), "the queue drained")
    assert node.may_apply()
    node.close()


def test_a_snapshot_is_copied_while_the_tick_thread_goes_on_and_later_entries_apply(tmp_path, held_copy):
    node = machine(tmp_path, "node")
    for n in (1, 2, 3):
        node.apply_in_order(n, entry(n))
    at_three: Future = node.applying.submit(lambda: hash_bytes(node.state.state_hash))
    as_tick_thread(node.snapshot, str(node.dump_file), raft_data(3))
    later = [node.apply_in_order(n, entry(n)) for n in (4, 5, 6)]
    until(lambda: all(f.done() for f in later), "entries after the snapshot applied while it is copied")
    assert as_tick_thread(node.snapshot_progress) is SnapshotProgress.WRITING
    assert not node.dump_file.exists()  # nothing is published before it is written
    held_copy.set()
    assert written(node) is SnapshotProgress.WRITTEN
    header, _ = snapshot.read_header(node.dump_file)
    assert (header.applied_index, header.state_hash, header.last_entry[1]) == (3, at_three.result(), 3)
    assert node.state.applied_index == 6
    node.close()


def test_a_peers_snapshot_is_installed_behind_the_entries_before_it_and_the_node_is_not_ready_meanwhile(tmp_path):
    leader = machine(tmp_path, "leader")
    for n in (1, 2, 3, 4):
        leader.apply_in_order(n, entry(n))
    leader.snapshot(str(leader.dump_file), raft_data(4))
    assert written(leader) is SnapshotProgress.WRITTEN
    follower = machine(tmp_path, "follower")
    follower.apply_in_order(1, entry(1)).result()
    with follower.lock:  # an entry before the snapshot is still being applied
        follower.apply_in_order(2, entry(2))
        last, previous, others = as_tick_thread(follower.restore, str(leader.dump_file))
        assert (last[1], previous[1], others) == (4, 3, ())
        assert follower.installing
    until(lambda: not follower.installing, "the snapshot was installed")
    assert follower.state.applied_index == 4
    assert follower.state.state_hash == leader.state.state_hash
    assert follower.store.applied_index == 4
    leader.close()
    follower.close()


def test_a_restart_keeps_its_own_store_when_its_dump_is_not_newer(tmp_path):
    node = machine(tmp_path, "node")
    for n in (1, 2):
        node.apply_in_order(n, entry(n))
    node.snapshot(str(node.dump_file), raft_data(2))
    assert written(node) is SnapshotProgress.WRITTEN
    node.apply_in_order(3, entry(3)).result()
    node.restore(str(node.dump_file))
    assert not node.installing
    assert node.state.applied_index == 3
    node.close()


def test_a_peers_snapshot_cut_short_in_transit_is_refused_while_pysyncobj_can_ask_again(tmp_path):
    leader = machine(tmp_path, "leader")
    for n in (1, 2, 3):
        leader.apply_in_order(n, entry(n))
    leader.snapshot(str(leader.dump_file), raft_data(3))
    assert written(leader) is SnapshotProgress.WRITTEN
    received = tmp_path / "received.dump"
    whole = leader.dump_file.read_bytes()
    received.write_bytes(whole[:len(whole) - 4096])  # the last page never arrived
    follower = machine(tmp_path, "follower")
    with pytest.raises(snapshot.SnapshotError, match="cut short"):
        follower.restore(str(received))  # raised to pysyncobj, which logs it and is sent the snapshot again
    assert not follower.installing
    assert follower.state.applied_index == 0
    leader.close()
    follower.close()


def test_a_peers_snapshot_is_synced_before_pysyncobj_acknowledges_it(tmp_path, monkeypatch):
    """pysyncobj renames a received snapshot over the dump without a sync and acknowledges it when
    the hook returns: the hook syncs the file and its directory first (a power cut must not leave an
    acknowledged snapshot unreadable, as the chaos drills found)."""
    leader = machine(tmp_path, "leader")
    for n in (1, 2, 3):
        leader.apply_in_order(n, entry(n))
    leader.snapshot(str(leader.dump_file), raft_data(3))
    assert written(leader) is SnapshotProgress.WRITTEN
    follower = machine(tmp_path, "follower")
    received = follower.dump_file
    received.write_bytes(leader.dump_file.read_bytes())
    synced: list[str] = []
    original = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        original(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    follower.restore(str(received))
    monkeypatch.setattr(os, "fsync", original)
    assert str(received) in synced and str(received.parent) in synced
    until(lambda: not follower.installing, "the snapshot was installed")
    leader.close()
    follower.close()


def test_an_unreadable_dump_refuses_the_start_with_restore_instructions(tmp_path):
    from node.config import NodeConfig
    from node.replica.log_coverage import JournalBehindStore, check_log_covers_store

    config = NodeConfig(node_id="node1", cluster_id="c", grpc_address="127.0.0.1:1", raft_address=RAFT_ADDRESS,
                        data_dir=tmp_path, raft_password="p" * 16)
    config.dump_file.write_bytes(b"\0" * 8192)  # renamed into place, its blocks lost in a power cut
    with pytest.raises(JournalBehindStore, match="dump is unreadable.*one node at a time"):
        check_log_covers_store(config, 0)
