"""Exactly-once in bounded memory (node/ledger/retention.py): dedup records and replay windows are
forgotten `dedup_retention_ms` after the entry that last wrote them (or after the signed clock of
the batch behind them, if that is later), and no batch signed before ledger time minus the
retention is applied, so a forgotten id can never be applied twice."""

from __future__ import annotations

from node.identity.quorum import signed_action
from node.ledger.commands import ActionKind, Deposit, SettleTrade
from node.ledger.limits import retention_prune_dedup_entries_max, retention_prune_windows_max
from node.ledger.records import TABLE_DEDUP
from node.ledger.results import ResultCode
from node.ledger.state import WINDOW_PREFIX, state_from_records
from node.ledger.governance import signer_set_problem

from .driver import MARKET, LedgerDriver, listed_market_with_traders
from .governance import ALL_KEYS, CLUSTER, POLICY, SIGNERS, Governed, genesis_payload
from .test_signed_batches import business, rogue, signed

RETENTION_MS = 60_000
LEAD_MS = 10_000
FORGET_AFTER_MS = RETENTION_MS


def short_retention_market() -> Governed:
    """A listed market under a signer set whose policy keeps dedup records a minute."""
    driver = listed_market_with_traders()
    payload = dict(genesis_payload(), policy=dict(POLICY, dedup_retention_ms=RETENTION_MS, clock_lead_max_ms=LEAD_MS))
    assert driver.one(signed_action("genesis", payload, ALL_KEYS)).ok
    return Governed(driver)


def advance(driver: LedgerDriver, ms: int) -> None:
    """Moves ledger time `ms` on: a batch a submitter signed then, and an entry after it (ledger
    time never runs further ahead of the newest submitter clock than clock_lead_max_ms)."""
    driver.run(Deposit(driver.next_id("tick"), "clock", 1), time_ms=driver.time_ms + ms)
    driver.run(time_ms=driver.time_ms)
    assert driver.state.ledger_time_ms == driver.time_ms


def forget_past(driver: LedgerDriver, ms: int) -> None:
    """Moves ledger time `ms` on and gives pruning, a few records per entry, the entries it needs
    to forget everything retained since before then."""
    advance(driver, ms)
    for _ in range(len(driver.state.dedup_expiry) // retention_prune_dedup_entries_max + 1):
        driver.run(time_ms=driver.time_ms)


def windows(driver: LedgerDriver) -> list[str]:
    return sorted(k for k in driver.state.governance if k.startswith(WINDOW_PREFIX))


def test_a_command_id_is_remembered_for_the_retention_and_then_forgotten():
    driver = short_retention_market().driver
    assert driver.one(Deposit("dep-early", "alice", 5)).ok
    advance(driver, FORGET_AFTER_MS - 1_000)
    assert "dep-early" in driver.state.dedup
    advance(driver, 2_000)
    assert "dep-early" not in driver.state.dedup


def test_forgotten_dedup_records_leave_the_stored_state_and_the_hash():
    driver = short_retention_market().driver
    driver.one(Deposit("dep-early", "alice", 5))
    forget_past(driver, FORGET_AFTER_MS + 1_000)
    stored = state_from_records(iter(sorted(driver.state.records())), driver.state.applied_index)
    assert "dep-early" not in stored.dedup and stored.state_hash == driver.state.state_hash
    assert all(not table == TABLE_DEDUP or key in driver.state.dedup_batches for table, key, _ in driver.state.records())


def test_a_retry_within_the_retention_is_answered_by_dedup():
    driver = short_retention_market().driver
    deposit = (Deposit("retried-deposit", "alice", 5),)
    batch = signed(driver, deposit)
    assert rogue(driver, deposit, (batch,))[0].ok
    (retry,) = rogue(driver, deposit, (batch,), time_ms=driver.time_ms + RETENTION_MS - 1_000)
    assert retry.code == ResultCode.DUPLICATE and retry.original_code == ResultCode.OK


def test_a_batch_signed_before_the_retention_is_refused_and_changes_nothing():
    driver = short_retention_market().driver
    deposit = (Deposit("dep-late", "alice", 5),)
    batch = signed(driver, deposit)  # signed now, logged after the retention
    forget_past(driver, RETENTION_MS + 1_000)
    before = business(driver)
    (result,) = rogue(driver, deposit, (batch,))
    assert result.code == ResultCode.BATCH_EXPIRED
    assert business(driver) == before


def test_a_resent_batch_whose_records_are_forgotten_is_never_applied_again():
    driver = short_retention_market().driver
    deposit = (Deposit("dep-once", "alice", 5),)
    batch = signed(driver, deposit)
    assert rogue(driver, deposit, (batch,))[0].ok
    collateral = driver.state.accounts["alice"].collateral
    forget_past(driver, FORGET_AFTER_MS + 1_000)
    assert "dep-once" not in driver.state.dedup
    (result,) = rogue(driver, deposit, (batch,))
    assert result.code == ResultCode.BATCH_EXPIRED
    assert driver.state.accounts["alice"].collateral == collateral


def test_an_expired_batch_whose_commands_are_remembered_is_answered_by_dedup():
    driver = short_retention_market().driver
    deposit = (Deposit("remembered-deposit", "alice", 5),)
    batch = signed(driver, deposit, signed_at_ms=driver.time_ms - 30_000)  # signed, then delayed
    assert rogue(driver, deposit, (batch,))[0].ok  # its records are retained from now
    advance(driver, RETENTION_MS - 20_000)  # the batch is expired, its records are not
    (retry,) = rogue(driver, deposit, (batch,))
    assert retry.code == ResultCode.DUPLICATE and retry.original_code == ResultCode.OK


def test_records_of_a_batch_signed_ahead_of_the_ledger_are_kept_until_its_own_clock_expires():
    driver = short_retention_market().driver
    deposit = (Deposit("ahead-deposit", "alice", 5),)
    batch = signed(driver, deposit, signed_at_ms=driver.time_ms + LEAD_MS)  # a submitter clock 10 s fast
    assert rogue(driver, deposit, (batch,))[0].ok
    collateral = driver.state.accounts["alice"].collateral
    forget_past(driver, RETENTION_MS + 5_000)  # past the entry's time, not past the batch's clock
    (resent,) = rogue(driver, deposit, (batch,))
    assert resent.code == ResultCode.DUPLICATE
    assert driver.state.accounts["alice"].collateral == collateral


def test_a_batch_signed_further_ahead_than_the_clock_lead_is_refused():
    driver = short_retention_market().driver
    deposit = (Deposit("dep-ahead", "alice", 5),)
    before = business(driver)
    (result,) = rogue(driver, deposit, (signed(driver, deposit, signed_at_ms=driver.time_ms + 1_000 + LEAD_MS + 1),))
    # (rogue() stamps the entry 1 s after the previous one: the bound is that stamp plus the lead)
    assert result.code == ResultCode.BATCH_SIGNED_AHEAD
    assert business(driver) == before


def test_a_replay_window_is_forgotten_after_the_retention_and_its_old_batches_stay_refused():
    driver = short_retention_market().driver
    trade = (SettleTrade("window-trade", MARKET, "alice", "bob", 50_000, 1),)
    batch = signed(driver, trade)
    assert rogue(driver, trade, (batch,))[0].ok
    used = [key for key in windows(driver) if "settler" in key]
    assert used
    forget_past(driver, FORGET_AFTER_MS + 1_000)  # (the ticks are the custodian's, another stream)
    assert not set(used) & set(windows(driver))
    (replayed,) = rogue(driver, trade, (batch,))
    assert replayed.code == ResultCode.BATCH_EXPIRED


def test_a_window_in_use_is_kept():
    driver = short_retention_market().driver
    driver.deposit("alice", 1)
    used = windows(driver)
    for _ in range(10):  # the stream is used every 20 s, for longer than the retention
        advance(driver, 20_000)
    assert set(used) <= set(windows(driver))


def test_pruning_is_bounded_per_entry_and_catches_up_over_the_next_entries():
    driver = short_retention_market().driver
    entries = 3 * retention_prune_dedup_entries_max
    for _ in range(entries):
        driver.deposit("alice", 1)
    remembered = len(driver.state.dedup_batches)
    advance(driver, FORGET_AFTER_MS + entries * 1_000)  # every one of them is past the retention now
    assert len(driver.state.dedup_batches) == remembered - retention_prune_dedup_entries_max + 1
    for _ in range(2):
        driver.run()
    assert len(driver.state.dedup_batches) == remembered - 3 * retention_prune_dedup_entries_max + 1


def test_nothing_is_forgotten_before_a_signer_set_exists():
    driver = listed_market_with_traders()
    driver.one(Deposit("bootstrap-deposit", "alice", 1))
    advance(driver, 365 * 86_400_000)
    assert "bootstrap-deposit" in driver.state.dedup


def test_a_replica_rebuilt_from_its_records_prunes_exactly_as_one_that_never_stopped():
    driver = short_retention_market().driver
    for i in range(2 * retention_prune_windows_max // 8):
        driver.run(*(Deposit(f"d{i}-{j}", "alice", 1) for j in range(3)))
    rebuilt = LedgerDriver()
    rebuilt.state = state_from_records(iter(sorted(driver.state.records())), driver.state.applied_index)
    rebuilt.index, rebuilt.time_ms, rebuilt._sequences = driver.index, driver.time_ms, dict(driver._sequences)
    for step in range(8):
        at = driver.time_ms + (FORGET_AFTER_MS if step == 0 else 1_000)
        for replica in (driver, rebuilt):
            replica.run(Deposit(f"tick-{step}", "clock", 1), time_ms=at)
        assert rebuilt.state.state_hash == driver.state.state_hash
        assert list(rebuilt.state.dedup_batches) == list(driver.state.dedup_batches)
    assert len(driver.state.dedup_batches) < 2 * retention_prune_windows_max // 8


def test_memory_stays_bounded_under_steady_load():
    driver = short_retention_market().driver
    held = []
    for i in range(400):  # 400 s of one deposit a second, with a 70 s memory
        driver.deposit("alice", 1)
        held.append(len(driver.state.dedup))
    assert max(held[200:]) <= FORGET_AFTER_MS // 1_000 + 2 * retention_prune_dedup_entries_max


def test_a_retention_below_the_minimum_is_not_a_policy():
    assert signer_set_problem(CLUSTER, SIGNERS, dict(POLICY, dedup_retention_ms=10)) is not None
    assert signer_set_problem(CLUSTER, SIGNERS, POLICY) is None


def test_genesis_sets_the_retention_every_replica_applies():
    governed = short_retention_market()
    assert governed.driver.state.governance["policy"]["dedup_retention_ms"] == RETENTION_MS
    assert genesis_payload()["kind"] == ActionKind.SET_SIGNERS.name


def test_raising_the_retention_does_not_bring_back_a_batch_whose_records_are_forgotten():
    # Right after a raise, ledger time minus the new retention lies before records already
    # forgotten: a batch signed then must stay expired, or its commands would apply twice (its
    # dedup record and its stream's replay window are both gone).
    governed = short_retention_market()
    driver = governed.driver
    trade = (SettleTrade("raised-trade", MARKET, "alice", "bob", 50_000, 1),)
    batch = signed(driver, trade)
    assert rogue(driver, trade, (batch,))[0].ok
    position = driver.state.positions["alice"][MARKET].size
    forget_past(driver, FORGET_AFTER_MS + 1_000)  # (the ticks are the custodian's, another stream)
    assert "raised-trade" not in driver.state.dedup and not [k for k in windows(driver) if "settler" in k]
    policy = dict(POLICY, dedup_retention_ms=100 * RETENTION_MS, clock_lead_max_ms=LEAD_MS)
    raise_retention = governed.payload(ActionKind.SET_SIGNERS, signers=genesis_payload()["signers"], policy=policy)
    assert governed.act(raise_retention, "guardian-1", "guardian-2").ok
    advance(driver, 61_000)  # the signer set's timelock
    assert driver.state.governance["policy"]["dedup_retention_ms"] == 100 * RETENTION_MS
    (replayed,) = rogue(driver, trade, (batch,))
    assert replayed.code == ResultCode.BATCH_EXPIRED
    assert driver.state.positions["alice"][MARKET].size == position
