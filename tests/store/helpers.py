"""Shared helpers for the store tests: a ledger driver that commits every entry, like the
replica does, and raw LMDB access for tampering with a store behind its back."""

from __future__ import annotations

from pathlib import Path

import lmdb

from node.ledger import LedgerState
from node.ledger.results import Result
from node.store import LedgerStore
from node.store.layout import sub_databases_max
from tests.ledger.driver import LedgerDriver, create_market


class CommittingDriver(LedgerDriver):
    """Applies one entry per call and commits it to the store, as the replica does."""

    def __init__(self, store: LedgerStore) -> None:
        super().__init__()
        self.store = store

    def run(self, *commands, time_ms: int | None = None) -> tuple[Result, ...]:
        results = super().run(*commands, time_ms=time_ms)
        self.store.commit(self.state)
        return results


def trading_session(store: LedgerStore) -> CommittingDriver:
    """A listed market, three funded accounts, trades both ways, a price move and a withdrawal,
    every entry committed."""
    driver = CommittingDriver(store)
    driver.one(create_market())
    driver.price(50_000)
    driver.deposit("alice", 10_000_000)
    driver.deposit("bob", 10_000_000)
    driver.deposit("carol", 7_654_321)  # never touched again: a value to find in the file
    driver.trade("alice", "bob", 50_000, 10, buyer_fee=5, seller_fee=5)
    driver.price(49_000)
    driver.trade("bob", "alice", 49_000, 4)
    driver.withdraw("alice", 1_000)
    return driver


def state_fields(state: LedgerState) -> dict:
    """Everything a state holds, stored or derived, for exact comparisons."""
    return {
        "applied_index": state.applied_index,
        "state_hash": state.state_hash,
        "accounts": state.accounts,
        "positions": state.positions,
        "holders": {m: sorted(h) for m, h in state.holders.items()},
        "markets": state.markets,
        "open_interest": state.open_interest,
        "dedup": state.dedup,
        "meta": state.meta,
        "total_collateral": state.total_collateral,
        "total_cost_basis": state.total_cost_basis,
        "net_size": state.net_size,
        "oracle_sources": state.oracle_sources,
        "withdrawal_windows": state.withdrawal_windows,
        "funds_total": state.funds_total,
        "liquidating": state.liquidating,
        "guard_deadlines": state.guard_deadlines,
        "next_guard_deadline_ms": state.next_guard_deadline_ms,
    }


def raw_environment(path: Path) -> lmdb.Environment:
    """The store's environment opened directly, bypassing LedgerStore (the store must be closed)."""
    return lmdb.open(str(path), max_dbs=sub_databases_max)


def raw_table(path: Path, table: bytes) -> dict[bytes, bytes]:
    env = raw_environment(path)
    try:
        db = env.open_db(table, create=False)
        with env.begin() as txn:
            return dict(txn.cursor(db=db))
    finally:
        env.close()


def raw_put(path: Path, table: bytes, key: bytes, value: bytes) -> None:
    env = raw_environment(path)
    try:
        db = env.open_db(table, create=False)
        with env.begin(write=True) as txn:
            txn.put(key, value, db=db)
    finally:
        env.close()
