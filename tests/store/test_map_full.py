"""A full map stops writes cleanly: the entry is not written, the previous one still loads."""

from __future__ import annotations

import pytest

from node.ledger import LedgerState, LogEntry, apply
from node.ledger.commands import Deposit
from node.store import LedgerStore, StoreFullError

tiny_map_size_bytes = 64 * 1024
deposits_per_entry = 50
entries_max = 100  # far more than 64 KiB can hold


def deposit_entry(index: int) -> LogEntry:
    commands = tuple(Deposit(f"dep-{index}-{k}", f"acct-{index}-{k}", 1_000 + k) for k in range(deposits_per_entry))
    return LogEntry(index, 1_000 * index, commands)


def fill_until_full(store: LedgerStore) -> tuple[int, int]:
    """Commits deposit entries until the map is full; returns the last committed (index, hash)."""
    state = LedgerState()
    committed = (0, state.state_hash)
    for index in range(1, entries_max + 1):
        apply(state, deposit_entry(index))
        try:
            store.commit(state)
        except StoreFullError:
            return committed
        committed = (state.applied_index, state.state_hash)
    pytest.fail(f"{entries_max} entries fit in {tiny_map_size_bytes} bytes")


def test_a_full_map_raises_store_full_and_keeps_the_last_committed_state(tmp_path):
    with LedgerStore(tmp_path / "node", map_size_bytes=tiny_map_size_bytes) as store:
        last_index, last_hash = fill_until_full(store)
        assert last_index > 0
        loaded = store.load()
        assert (loaded.applied_index, loaded.state_hash) == (last_index, last_hash)


def test_a_store_that_filled_up_reopens_intact(tmp_path):
    with LedgerStore(tmp_path / "node", map_size_bytes=tiny_map_size_bytes) as store:
        last_index, last_hash = fill_until_full(store)
    with LedgerStore(tmp_path / "node", map_size_bytes=tiny_map_size_bytes) as reopened:
        loaded = reopened.load()
    assert (loaded.applied_index, loaded.state_hash) == (last_index, last_hash)


def test_a_store_that_filled_up_accepts_the_entry_after_a_restart_with_a_larger_map(tmp_path):
    with LedgerStore(tmp_path / "node", map_size_bytes=tiny_map_size_bytes) as store:
        last_index, _ = fill_until_full(store)
    with LedgerStore(tmp_path / "node", map_size_bytes=16 * tiny_map_size_bytes) as grown:
        state = grown.load()
        apply(state, deposit_entry(last_index + 1))
        grown.commit(state)
        assert grown.load().state_hash == state.state_hash
