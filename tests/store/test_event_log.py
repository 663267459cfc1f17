"""The event log: every entry's events kept by log index in the entry's own commit, pruned by a
retention window of entries, a bounded number per entry, dropped when a snapshot is installed."""

from __future__ import annotations

import typing

import pytest

from node.ledger import LedgerState, LogEntry, apply
from node.ledger import events as ledger_events
from node.ledger.commands import ActionKind
from node.ledger.records import GlobalMode, GlobalReason, MarketStatus, OracleVerdict, SettlementMethod, StatusReason
from node.store import LedgerStore, StoreCorruptError
from node.store import ledger_store
from node.store.layout import (
    EVENTS_DB,
    KEY_EVENTS_KEPT_FROM,
    STORE_DB,
    encode_applied_index,
    events_pruned_per_entry_max,
)

from .helpers import raw_environment, raw_put, trading_session

ONE_OF_EACH = (
    ledger_events.Liquidation("thin", "BTC-PERP", 100, 47_000, 47_000, 0, 0, 40, 60, 0),
    ledger_events.Deleveraged("bob", "thin", "BTC-PERP", -60, 47_000),
    ledger_events.BreakerTripped("BTC-PERP", 70_000, 50_000, 61_000),
    ledger_events.MarketStatusChanged("BTC-PERP", MarketStatus.HALTED, StatusReason.PRICE_BAND, 990),
    ledger_events.OracleVerdictChanged("BTC-PERP", OracleVerdict.STALE, 0, 50_000),
    ledger_events.GlobalModeChanged(GlobalMode.REDUCE_ONLY, GlobalReason.FUND_BELOW_FLOOR),
    ledger_events.ActionTaken(ActionKind.HALT_MARKET, 7, "BTC-PERP", "applied", 1_000),
    ledger_events.CheckpointDue(12),
    ledger_events.CheckpointCertified(12, bytes(range(32)), 3, ("node1", "node2")),
    ledger_events.FundAuctionStarted("BTC-PERP", -60, 47_000, 86_401_000),
    ledger_events.FundSliceSold("BTC-PERP", "desk", -20, 47_470, 100),
    ledger_events.FundDeadlineDeleveraged("BTC-PERP", -40, 48_000),
    ledger_events.FundAuctionEnded("BTC-PERP"),
    ledger_events.FundingPaid("BTC-PERP", -1_250_000, 50_000, 3, 2**70, 3_600_000),  # a 128-bit index
    ledger_events.MarginCall("alice", 700, 752, 1_000),
    ledger_events.MarginCallLifted("alice", 940, 940, 2_000),
    ledger_events.BandChanged("BTC-PERP", 1_600, 40_000, 3_000),
    ledger_events.SourceOutlier("BTC-PERP", "src-c", 1_000_000, 50_100, 3),
    ledger_events.SourceClamped("BTC-PERP", "src-a", 1, 999_000),
    ledger_events.MarketSettled("BTC-MAR", 50_300, SettlementMethod.TWAP, 600_000, 600_000, 4_000),
)


def liquidation(n: int) -> ledger_events.Liquidation:
    return ledger_events.Liquidation(f"acct-{n}", "BTC-PERP", n, 50_000, 1, 0, 0)


def commit_entry(store: LedgerStore, state: LedgerState, events: tuple = ()) -> int:
    """Applies an empty entry (the ledger's index and time move on) and commits it with `events`."""
    index = state.applied_index + 1
    apply(state, LogEntry(index, 1_000 * index, ()))
    store.commit(state, events)
    return index


def kept(store: LedgerStore, from_index: int = 1) -> list[tuple[int, int, object]]:
    """(index, position, event) of every kept event from `from_index` on."""
    read = store.read_events(from_index, 10_000)
    return [(entry.index, position, event) for entry in read.entries for position, event in enumerate(entry.events)]


def test_an_entry_s_events_are_read_back_by_index_in_their_order(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        state = LedgerState()
        commit_entry(store, state, (liquidation(1), liquidation(2)))
        commit_entry(store, state)  # no events: no record
        commit_entry(store, state, (liquidation(3),))
        read = store.read_events(1, 100)
    assert [(e.index, e.time_ms, e.events) for e in read.entries] == [
        (1, 1_000, (liquidation(1), liquidation(2))),
        (3, 3_000, (liquidation(3),)),
    ]
    assert (read.through_index, read.applied_index, read.kept_from) == (3, 3, 1)


def test_every_ledger_event_type_round_trips_through_the_store(tmp_path):
    assert {type(e) for e in ONE_OF_EACH} == set(typing.get_args(ledger_events.Event))
    with LedgerStore(tmp_path / "node") as store:
        commit_entry(store, LedgerState(), ONE_OF_EACH)
    with LedgerStore(tmp_path / "node") as reopened:
        assert tuple(event for _, _, event in kept(reopened)) == ONE_OF_EACH


def test_events_are_committed_in_the_entry_s_own_transaction(tmp_path, monkeypatch):
    """A failure after the events were written aborts the entry too: neither is stored."""
    with LedgerStore(tmp_path / "node") as store:
        state = LedgerState()
        commit_entry(store, state, (liquidation(1),))
        real_writer = ledger_store.write_entry_events

        def write_then_fail(*args, **kwargs):
            real_writer(*args, **kwargs)
            raise RuntimeError("power cut inside the transaction")

        monkeypatch.setattr(ledger_store, "write_entry_events", write_then_fail)
        with pytest.raises(RuntimeError):
            commit_entry(store, state, (liquidation(2),))
        assert store.applied_index == 1
        assert [event for _, _, event in kept(store)] == [liquidation(1)]


def test_a_read_stops_after_entries_max_entries_and_says_how_far_it_got(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        state = LedgerState()
        for n in range(1, 6):
            commit_entry(store, state, (liquidation(n),))
        first = store.read_events(2, 2)
        rest = store.read_events(first.through_index + 1, 2)
        last = store.read_events(rest.through_index + 1, 2)
    assert [e.index for e in first.entries] == [2, 3] and first.through_index == 3
    assert [e.index for e in rest.entries] == [4, 5] and rest.through_index == 5
    assert last.entries == () and last.through_index == last.applied_index == 5


def test_events_beyond_the_retention_window_are_pruned_as_entries_commit(tmp_path):
    with LedgerStore(tmp_path / "node", events_retention_entries=3) as store:
        state = LedgerState()
        for n in range(1, 8):
            commit_entry(store, state, (liquidation(n),))
        read = store.read_events(1, 100)
    # After entry 7, entries at or below 7 - 3 are gone.
    assert [e.index for e in read.entries] == [5, 6, 7]
    assert read.kept_from == 5


def test_pruning_removes_a_bounded_number_of_records_per_entry(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        state = LedgerState()
        for n in range(1, 11):
            commit_entry(store, state, (liquidation(n),))
    # A retention lowered to 1 entry: the backlog goes a few records per entry, oldest first.
    with LedgerStore(tmp_path / "node", events_retention_entries=1) as store:
        state = store.load()
        commit_entry(store, state)
        read = store.read_events(1, 100)
    assert [e.index for e in read.entries] == list(range(1 + events_pruned_per_entry_max, 11))
    assert read.kept_from == 1 + events_pruned_per_entry_max


def test_kept_from_stays_put_while_nothing_was_pruned(tmp_path):
    """Entries without events leave nothing to prune: replaying from index 1 is still complete."""
    with LedgerStore(tmp_path / "node", events_retention_entries=2) as store:
        state = LedgerState()
        for _ in range(5):
            commit_entry(store, state)
        commit_entry(store, state, (liquidation(6),))
        read = store.read_events(1, 100)
    assert read.kept_from == 1 and [e.index for e in read.entries] == [6]


def forget_ever_keeping_events(path) -> None:
    """Makes a closed store look like one an older node wrote: no events, no kept-from index."""
    env = raw_environment(path)
    try:
        with env.begin(write=True) as txn:
            txn.drop(env.open_db(EVENTS_DB, txn=txn), delete=True)
            txn.delete(KEY_EVENTS_KEPT_FROM, db=env.open_db(STORE_DB, txn=txn))
    finally:
        env.close()


def test_a_store_that_never_kept_events_keeps_them_from_its_next_entry(tmp_path):
    """A store written before events were kept holds none of its past: it keeps them from its
    next entry on, and says so."""
    with LedgerStore(tmp_path / "node") as store:
        driver = trading_session(store)
    forget_ever_keeping_events(tmp_path / "node")
    with LedgerStore(tmp_path / "node") as store:
        assert store.read_events(1, 10).kept_from == driver.state.applied_index + 1
        state = store.load()
        index = commit_entry(store, state, (liquidation(1),))
        read = store.read_events(1, 10)
    assert read.kept_from == driver.state.applied_index + 1 == index


def test_installing_a_snapshot_drops_its_events_and_keeps_them_from_after_its_index(tmp_path):
    with LedgerStore(tmp_path / "leader") as leader:
        state = LedgerState()
        for n in range(1, 4):
            commit_entry(leader, state, (liquidation(n),))
        leader.copy_to(tmp_path / "snapshot")
    with LedgerStore(tmp_path / "follower") as follower:
        installed = follower.install(tmp_path / "snapshot")
        assert follower.read_events(1, 10).entries == ()
        assert follower.read_events(1, 10).kept_from == 4
        commit_entry(follower, installed, (liquidation(4),))
        assert [event for _, _, event in kept(follower, 4)] == [liquidation(4)]
    with LedgerStore(tmp_path / "follower") as reopened:
        assert reopened.read_events(1, 10).kept_from == 4


def test_a_damaged_event_record_is_refused_as_corrupt(tmp_path):
    with LedgerStore(tmp_path / "node") as store:
        commit_entry(store, LedgerState(), (liquidation(1),))
    raw_put(tmp_path / "node", EVENTS_DB, encode_applied_index(1), b"\x01{not json")
    with LedgerStore(tmp_path / "node") as store, pytest.raises(StoreCorruptError, match="events stored at index 1"):
        store.read_events(1, 10)
