"""A large ledger state, built fast, for the benchmarks that measure a node at scale.

    build_scale_state(accounts, dedup_records) -> LedgerState

The state is built through the pure ledger (`node.ledger.apply`), entry after entry of the
largest size an entry may have, exactly as a replica would apply them, and then written to a
store in ONE transaction (`write_scale_store`): far faster than committing every entry, and the
records, applied index and state hash are the same. What it holds:

- the benchmark market (cluster/bench/cluster.py's MARKET, its demo oracle source, one mark);
- `accounts` funded accounts `a0`, `a1`, ... (the cluster benchmark's load names accounts so);
- one open position per account: `a<2k>` bought one contract from `a<2k+1>`;
- `dedup_records` dedup records in all: every command above leaves one, and refused zero-amount
  withdrawals (a record each, nothing else) make up the rest.

No signer set is installed: a cluster started on it installs its own genesis (cluster/local.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from cluster.bench.cluster import MARKET, PRICE, STALE_AFTER_MS
from cluster.demo.oracle import demo_price, demo_source
from node.identity.keys import verify_ed25519
from node.ledger import LedgerState, apply
from node.ledger.commands import Command, CreateMarket, Deposit, LogEntry, MarketKind, PriceUpdate, SettleTrade, Withdraw
from node.ledger.limits import entry_commands_max
from node.store import LedgerStore

collateral_per_account = 10**15  # as cluster/bench/cluster.py funds its accounts: margin never binds
# Ledger time of the first entry: an hour ago, so the cluster's own entries (stamped now) follow.
history_before_now_ms = 3_600_000


def account_name(i: int) -> str:
    return f"a{i}"


def _commands(accounts: int, dedup_records: int, start_ms: int) -> Iterator[Command]:
    yield CreateMarket("scale-list", MARKET, MarketKind.PERPETUAL, 1_000, 1, 1_000, 500, 100, 10**12, 1_000, 2_000,
                       60_000, 60_000, sources=(demo_source(),), stale_after_ms=STALE_AFTER_MS)
    yield demo_price("scale-px", MARKET, PRICE, start_ms)
    for i in range(accounts):
        yield Deposit(f"scale-dep-{i}", account_name(i), collateral_per_account)
    for k in range(accounts // 2):
        yield SettleTrade(f"scale-fill-{k}", MARKET, account_name(2 * k), account_name(2 * k + 1), PRICE, 1)
    made = 2 + accounts + accounts // 2
    for n in range(max(0, dedup_records - made)):
        yield Withdraw(f"scale-w-{n}", account_name(n % max(1, accounts)), 0)  # INVALID_AMOUNT: a record only


def build_scale_state(accounts: int, dedup_records: int, progress=None) -> LedgerState:
    """The state described in the module doc, applied in entries of `entry_commands_max`."""
    start_ms = int(time.time() * 1000) - history_before_now_ms
    state = LedgerState()
    batch: list[Command] = []
    index = 0

    def flush() -> None:
        nonlocal index, batch
        index += 1
        apply(state, LogEntry(index, start_ms + index, tuple(batch)), verify_ed25519)
        batch = []
        if progress is not None and index % 100 == 0:
            progress(index)

    for command in _commands(accounts, dedup_records, start_ms):
        batch.append(command)
        # The price ends its entry: an entry's prices make its mark at its end, and the fills
        # after it need that mark.
        if len(batch) == entry_commands_max or isinstance(command, PriceUpdate):
            flush()
    if batch:
        flush()
    state.touched.clear()
    return state


def write_scale_store(state: LedgerState, store_dir: Path, map_size_bytes: int) -> None:
    """Every record of `state`, its applied index and hash, in one synced transaction of a new
    store (a store's first commit writes every record: node/store/writing.py)."""
    with LedgerStore(store_dir, map_size_bytes=map_size_bytes) as store:
        assert store.applied_index == 0, f"{store_dir} is not empty"
        store.commit(state)
