"""Entries found waiting together are written in one synced commit (docs/design.md#durability-contract).

A follower catching up on a long log, or a leader whose entries arrive faster than one synced
commit each, applies the run of entries waiting behind each other and writes them at once. What
must still hold: no outcome is answered before its entry is in the store; an entry that emitted
events is in the store before the checkpoint keeper or a watcher hears of it; a snapshot step
sees every entry before it written; after a restart, the store holds a whole run or none of it.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from node.ledger.events import MarginCallLifted
from node.replica import state_machine as state_machine_module
from node.replica.apply_thread import apply_group_entries_max
from node.replica.state_machine import AppliedEntryHooks, LedgerStateMachine
from node.store import LedgerStore

from .test_off_the_tick_thread import BOUND_S, entry, machine, until


class CountingStore(LedgerStore):
    """A LedgerStore that remembers the entries of each commit, in order."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commits: list[list[int]] = []

    def commit_entries(self, state, unwritten) -> None:
        super().commit_entries(state, unwritten)
        self.commits.append([e.index for e in unwritten.entries])


def counting_machine(tmp_path: Path) -> tuple[LedgerStateMachine, CountingStore]:
    node = machine(tmp_path, "node")
    store = CountingStore(tmp_path / "counted")
    node.store.close()
    node.store = store
    return node, store


def held_apply_thread(node: LedgerStateMachine) -> threading.Event:
    """Keeps the apply thread busy with a step until the returned event is set, so that the
    entries submitted meanwhile wait together."""
    release = threading.Event()
    node.applying.submit(release.wait, BOUND_S)
    return release


def test_entries_waiting_together_are_written_in_one_commit(tmp_path):
    node, store = counting_machine(tmp_path)
    release = held_apply_thread(node)
    futures = [node.apply_in_order(n, entry(n)) for n in range(1, 11)]
    release.set()
    until(lambda: all(f.done() for f in futures), "the entries were applied")
    assert store.commits == [list(range(1, 11))]
    assert [f.result().applied_index for f in futures] == list(range(1, 11))
    assert store.applied_index == node.state.applied_index == 10
    assert store.load().state_hash == node.state.state_hash
    node.close()


def test_an_entry_that_arrives_alone_is_written_alone_without_waiting_for_more(tmp_path):
    node, store = counting_machine(tmp_path)
    first = node.apply_in_order(1, entry(1))
    until(first.done, "entry 1 was applied")
    second = node.apply_in_order(2, entry(2))
    until(second.done, "entry 2 was applied")
    assert store.commits == [[1], [2]]
    node.close()


def test_a_run_is_at_most_the_group_bound(tmp_path):
    node, store = counting_machine(tmp_path)
    release = held_apply_thread(node)
    count = apply_group_entries_max + 3
    futures = []
    for n in range(1, count + 1):
        until(node.may_apply, "room in the apply queue")  # as the tick thread would
        futures.append(node.apply_in_order(n, entry(n)))
        if n == apply_group_entries_max - 1:
            release.set()
    until(lambda: all(f.done() for f in futures), "the entries were applied")
    assert max(len(c) for c in store.commits) <= apply_group_entries_max
    assert [i for c in store.commits for i in c] == list(range(1, count + 1))
    node.close()


def test_no_outcome_is_answered_before_its_entry_is_in_the_store(tmp_path):
    node, store = counting_machine(tmp_path)
    stored_when_answered: dict[int, int] = {}
    release = held_apply_thread(node)

    def answered(future: Future) -> None:  # runs as the outcome is handed back
        stored_when_answered[future.result().applied_index] = store.applied_index

    for n in range(1, 6):
        node.apply_in_order(n, entry(n)).add_done_callback(answered)
    release.set()
    until(lambda: len(stored_when_answered) == 5, "every outcome was answered")
    assert all(stored >= index for index, stored in stored_when_answered.items()), stored_when_answered
    node.close()


@pytest.fixture
def events_at(monkeypatch):
    """Makes the entries at the given indexes emit an event, as a margin call lifted would."""
    at: set[int] = set()
    real = state_machine_module.apply_logged_entry

    def with_event(state, index, data):
        applied = real(state, index, data)
        if index not in at:
            return applied
        outcome = dataclasses.replace(applied.outcome, events=(MarginCallLifted("acct-0", 0, 0, 0),))
        return dataclasses.replace(applied, outcome=outcome)

    monkeypatch.setattr(state_machine_module, "apply_logged_entry", with_event)
    return at


def test_an_entry_with_events_is_in_the_store_before_its_hooks_hear_of_it(tmp_path, events_at):
    node, store = counting_machine(tmp_path)
    events_at.add(4)
    heard: list[tuple[str, int, int]] = []
    node.hooks = AppliedEntryHooks(
        after_commit=lambda state, events: heard.append(("keeper", state.applied_index, store.applied_index)),
        publish=lambda index, time_ms, events: heard.append(("watchers", index, store.applied_index)),
        after_restore=lambda state: None,
    )
    release = held_apply_thread(node)
    futures = [node.apply_in_order(n, entry(n)) for n in range(1, 8)]
    release.set()
    until(lambda: all(f.done() for f in futures), "the entries were applied")
    assert heard == [("keeper", 4, 4), ("watchers", 4, 4)]
    assert store.commits == [[1, 2, 3, 4], [5, 6, 7]]
    node.close()


def test_a_snapshot_step_sees_every_entry_before_it_written(tmp_path):
    node, store = counting_machine(tmp_path)
    release = held_apply_thread(node)
    futures = [node.apply_in_order(n, entry(n)) for n in (1, 2, 3)]
    stored_at_step = node.applying.submit(lambda: store.applied_index)
    futures += [node.apply_in_order(n, entry(n)) for n in (4, 5)]
    release.set()
    until(lambda: all(f.done() for f in futures) and stored_at_step.done(), "the entries were applied")
    assert stored_at_step.result() == 3
    assert store.commits == [[1, 2, 3], [4, 5]]
    node.close()


def test_a_run_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    node, store = counting_machine(tmp_path)
    node.apply(1, entry(1))

    def crash(*args, **kwargs):
        raise SystemExit("power cut in the middle of the run's transaction")

    # Entries 2-4 are applied, then their transaction fails before it commits.
    monkeypatch.setattr(state_machine_module, "stop_loudly", crash)
    monkeypatch.setattr("node.store.ledger_store.write_entry_events", crash)
    with pytest.raises(SystemExit):
        node.apply_entries([(n, entry(n)) for n in (2, 3, 4)])
    monkeypatch.undo()
    assert store.applied_index == 1
    reopened = store.load()
    assert reopened.applied_index == 1
    node.close()
