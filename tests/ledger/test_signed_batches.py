"""Signed batches: once a signer set is installed, every batch carries its submitter's proof of
intent, checked by every replica in apply. A rogue leader can delay or reorder batches, but a
forged, altered or replayed one is refused as a whole and changes nothing."""

from dataclasses import replace

from node.identity.keys import private_key_from_seed
from node.ledger.commands import ActionKind, Deposit, LogEntry, SettleTrade, Withdraw
from node.ledger.limits import batch_sequence_window
from node.ledger.results import ResultCode
from node.ledger.signed_batches import ROLE_COMMANDS
from node.ledger.state import META_NEWEST_SIGNED_MS

from .driver import MARKET, LedgerDriver, listed_market_with_traders
from .governance import CLUSTER, genesis_payload, governed_market


def business(driver: LedgerDriver) -> tuple:
    """What a forged batch must not touch: balances, positions, applied command ids."""
    state = driver.state
    return (
        {k: a.collateral for k, a in state.accounts.items()},
        {k: p.size for k, p in state.positions.items()} if hasattr(state, "positions") else None,
        frozenset(state.dedup),
    )


def entry(driver: LedgerDriver, commands: tuple, batches: tuple, time_ms: int | None = None) -> LogEntry:
    driver.index += 1
    driver.time_ms = time_ms if time_ms is not None else driver.time_ms + 1_000
    return LogEntry(driver.index, driver.time_ms, commands, batches)


def rogue(driver: LedgerDriver, commands: tuple, batches: tuple, time_ms: int | None = None):
    return driver.apply_entry(entry(driver, commands, batches, time_ms))


def signed(driver: LedgerDriver, commands: tuple, **options):
    return driver.signed_batch(list(commands), CLUSTER, **options)


# -- before and after genesis ----------------------------------------------------------------


def test_before_a_signer_set_exists_unsigned_batches_apply():
    driver = listed_market_with_traders()
    assert driver.deposit("early", 5).ok


def test_after_genesis_an_unsigned_batch_is_refused_and_changes_nothing():
    driver = governed_market().driver
    before = business(driver)
    (result,) = rogue(driver, (Deposit("forged-1", "mallory", 10**9),), ())
    assert result.code == ResultCode.UNSIGNED_BATCH
    assert business(driver) == before


def test_a_properly_signed_batch_applies():
    driver = governed_market().driver
    assert driver.deposit("zed", 7).ok


# -- forged, altered, misrouted -------------------------------------------------------------


def test_a_withdraw_signed_by_a_key_outside_the_signer_set_is_refused():
    driver = governed_market().driver
    before = business(driver)
    withdraw = (Withdraw("steal-1", "buyer", 1_000),)
    batch = replace(signed(driver, withdraw), key_id="custodian-9")
    assert rogue(driver, withdraw, (batch,))[0].code == ResultCode.UNKNOWN_SIGNER
    assert business(driver) == before


def test_a_forged_signature_under_a_real_key_id_is_refused():
    driver = governed_market().driver
    before = business(driver)
    withdraw = (Withdraw("steal-2", "buyer", 1_000),)
    batch = signed(driver, withdraw)
    forged = replace(batch, signature=private_key_from_seed("mallory").sign(b"anything"))
    assert rogue(driver, withdraw, (forged,))[0].code == ResultCode.INVALID_SIGNATURE
    assert business(driver) == before


def test_a_trade_altered_under_its_signature_is_refused():
    driver = governed_market().driver
    before = business(driver)
    honest = (SettleTrade("fill-1", MARKET, "buyer", "seller", 50_000, 1),)
    batch = signed(driver, honest)
    altered = (replace(honest[0], quantity=50),)
    # Every replica computes the digest from the commands it was given: the leader's swap shows.
    from node.codec.batch import commands_digest, encode_commands
    batch = replace(batch, commands_digest=commands_digest(encode_commands(altered)))
    assert rogue(driver, altered, (batch,))[0].code == ResultCode.INVALID_SIGNATURE
    assert business(driver) == before


def test_a_key_may_submit_only_the_command_kinds_of_its_role():
    driver = governed_market().driver
    trade = (SettleTrade("fill-2", MARKET, "buyer", "seller", 50_000, 1),)
    by_custodian = signed(driver, trade, role="custodian")
    (result,) = rogue(driver, trade, (by_custodian,))
    assert result.code == ResultCode.WRONG_ROLE
    deposit = (Deposit("dep-by-settler", "buyer", 1),)
    assert rogue(driver, deposit, (signed(driver, deposit, role="settler"),))[0].code == ResultCode.WRONG_ROLE


def test_the_role_table_names_the_issue_s_roles():
    assert {role: sorted(t.__name__ for t in kinds) for role, kinds in ROLE_COMMANDS.items()} == {
        "settler": ["SettleTrade"],
        "custodian": ["Deposit", "EmergencyAction", "Withdraw"],  # issue 18: a CUSTODY_WITHDRAW its quorum signed
        "oracle": ["PriceUpdate"],
        "operator": ["CreateMarket"],
        "guardian": ["EmergencyAction"],
        "node": ["CheckpointVote", "EmergencyAction"],
    }


def test_a_refused_batch_does_not_stop_the_other_batches_of_its_entry():
    driver = governed_market().driver
    forged = (Deposit("forged-3", "mallory", 10**9),)
    honest = (Deposit("honest-3", "zed", 9),)
    results = rogue(driver, forged + honest, (replace(signed(driver, forged), key_id="nobody"), signed(driver, honest)))
    assert [r.code for r in results] == [ResultCode.UNKNOWN_SIGNER, ResultCode.OK]
    assert "mallory" not in driver.state.accounts and driver.collateral("zed") == 9


# -- replays and the sequence window ----------------------------------------------------------


def test_a_replayed_batch_is_answered_by_dedup_and_changes_nothing():
    driver = governed_market().driver
    deposit = (Deposit("dep-once", "zed", 100),)
    batch = signed(driver, deposit)
    assert rogue(driver, deposit, (batch,))[0].ok
    before = business(driver)
    (again,) = rogue(driver, deposit, (batch,))
    assert again.code == ResultCode.DUPLICATE and again.original_code == ResultCode.OK
    assert business(driver) == before and driver.collateral("zed") == 100


def test_a_used_sequence_with_other_commands_is_a_replay():
    driver = governed_market().driver
    first = (Deposit("dep-a", "zed", 1),)
    batch = signed(driver, first)
    assert rogue(driver, first, (batch,))[0].ok
    other = (Deposit("dep-b", "zed", 1),)
    reuse = signed(driver, other, sequence=batch.sequence)
    assert rogue(driver, other, (reuse,))[0].code == ResultCode.SEQUENCE_REPLAYED
    assert driver.collateral("zed") == 1


def test_batches_may_arrive_out_of_order_within_the_window():
    driver = governed_market().driver
    stream = 7 << 32
    late, early = (Deposit("late", "zed", 1),), (Deposit("early", "zed", 2),)
    assert rogue(driver, early, (signed(driver, early, sequence=stream | 50),))[0].ok
    assert rogue(driver, late, (signed(driver, late, sequence=stream | 10),))[0].ok
    assert driver.collateral("zed") == 3


def test_a_sequence_below_the_window_is_too_old_and_not_applied():
    driver = governed_market().driver
    stream = 9 << 32
    newest = (Deposit("newest", "zed", 1),)
    assert rogue(driver, newest, (signed(driver, newest, sequence=stream | (batch_sequence_window + 10)),))[0].ok
    old = (Deposit("old", "zed", 5),)
    assert rogue(driver, old, (signed(driver, old, sequence=stream | 5),))[0].code == ResultCode.SEQUENCE_TOO_OLD
    assert driver.collateral("zed") == 1


def test_streams_of_one_key_are_independent():
    driver = governed_market().driver
    a, b = (Deposit("s-a", "zed", 1),), (Deposit("s-b", "zed", 1),)
    assert rogue(driver, a, (signed(driver, a, sequence=(1 << 32) | 1),))[0].ok
    assert rogue(driver, b, (signed(driver, b, sequence=(2 << 32) | 1),))[0].ok


# -- revocation --------------------------------------------------------------------------------


def test_a_revoked_key_s_batches_are_refused_from_the_change_on():
    governed = governed_market()
    driver = governed.driver
    without_custodian = [e for e in genesis_payload()["signers"] if e["key_id"] != "custodian-1"]
    payload = governed.payload(ActionKind.SET_SIGNERS, signers=without_custodian, policy=genesis_payload()["policy"])
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    assert driver.deposit("zed", 1).ok  # still listed during the timelock
    driver.run(time_ms=driver.time_ms + 60_000)
    assert driver.deposit("zed", 1).code == ResultCode.UNKNOWN_SIGNER


# -- the leader's clock ------------------------------------------------------------------------


def test_a_far_future_leader_stamp_is_held_to_the_submitters_clock():
    driver = governed_market().driver
    driver.deposit("zed", 1)
    newest = driver.state.meta[META_NEWEST_SIGNED_MS]
    lead = genesis_payload()["policy"]["clock_lead_max_ms"]
    rogue(driver, (), (), time_ms=newest + 10 * lead)
    assert driver.state.ledger_time_ms == newest + lead


def test_a_rogue_leader_cannot_fast_forward_a_timelock():
    governed = governed_market()
    driver = governed.driver
    policy = dict(genesis_payload()["policy"], clock_lead_max_ms=10_000)
    payload = governed.payload(ActionKind.SET_SIGNERS, signers=genesis_payload()["signers"], policy=policy)
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    driver.run(time_ms=driver.time_ms + 60_000)  # honest submitters' clocks move: it takes effect
    assert driver.state.governance["policy"]["clock_lead_max_ms"] == 10_000
    fewer = [e for e in genesis_payload()["signers"] if e["key_id"] != "guardian-3"]
    pending = governed.payload(ActionKind.SET_SIGNERS, signers=fewer, policy=policy)
    assert governed.act(pending, "guardian-1", "guardian-2").ok
    for _ in range(5):  # empty entries stamped an hour ahead each: no signed clock backs them
        rogue(driver, (), (), time_ms=driver.time_ms + 3_600_000)
    assert "signer/guardian-3" in driver.state.governance  # the 60 s timelock has not run out


def test_a_submitter_clock_ahead_of_the_leader_does_not_lift_the_bound():
    driver = governed_market().driver
    deposit = (Deposit("fast-clock", "zed", 1),)
    batch = signed(driver, deposit, signed_at_ms=driver.time_ms + 10**9)
    rogue(driver, deposit, (batch,))
    assert driver.state.meta[META_NEWEST_SIGNED_MS] == driver.time_ms
