"""Bounded governance (docs/design.md#bounded-governance, #custody-quorum, #governed-policy-parameters):
node keys only halt; guardians raise margins and fees a bounded step at a time, and a maintenance
raise phases in behind margin calls; a temporary tightening reverts by itself; the halt quorum
cancels a pending change without halting; limits are governed policy; large withdrawals need a
quorum of custodian keys."""

from node.identity.quorum import signed_action
from node.ledger.commands import ActionKind
from node.ledger.events import ActionTaken, Liquidation, MarginCall, MarginCallLifted
from node.ledger.records import AccountStatus, GlobalMode, MarketStatus
from node.ledger.results import ResultCode

from .driver import MARKET
from .governance import CUSTODIANS, governed_market

PARAMS = ActionKind.SET_MARKET_PARAMS
POLICY = ActionKind.SET_POLICY_PARAMS
CUSTODY = ActionKind.CUSTODY_WITHDRAW
CANCEL = ActionKind.CANCEL_PENDING
GRACE_MS = 3_600_000  # limits.margin_raise_grace_ms


def market(governed):
    return governed.driver.state.markets[MARKET]


def set_params(governed, *signers, **params):
    return governed.act(governed.payload(PARAMS, market=MARKET, params=params), *signers)


def set_policy(governed, *signers, **params):
    return governed.act(governed.payload(POLICY, params=params), *signers)


# -- node keys only halt --------------------------------------------------------------------------


def test_node_keys_cannot_raise_a_margin_even_within_its_step():
    governed = governed_market()
    result = set_params(governed, "node-1", "node-2", initial_margin_bps=1_200)
    assert result.code == ResultCode.WRONG_ROLE
    assert market(governed).initial_margin_bps == 1_000


def test_node_keys_cannot_set_policy_parameters():
    governed = governed_market()
    assert set_policy(governed, "node-1", "node-2", custody_quorum_threshold=1).code == ResultCode.WRONG_ROLE


# -- a raise is bounded per action ------------------------------------------------------------------


def test_guardians_raise_a_margin_within_its_step_at_once():
    governed = governed_market()
    assert set_params(governed, "guardian-1", "guardian-2", initial_margin_bps=1_500).ok  # +50% of 1,000
    assert market(governed).initial_margin_bps == 1_500


def test_a_raise_beyond_its_step_is_refused_and_changes_nothing():
    governed = governed_market()
    payload = governed.payload(PARAMS, market=MARKET, params={"initial_margin_bps": 10_000, "liquidation_fee_bps": 1_000})
    result = governed.act(payload, "guardian-1", "guardian-2")
    assert result.code == ResultCode.RAISE_STEP_TOO_LARGE
    assert (market(governed).initial_margin_bps, market(governed).liquidation_fee_bps) == (1_000, 100)
    assert f"nonce/{payload['nonce']:020d}" not in governed.driver.state.governance


def test_a_fee_raise_is_bounded_too_even_behind_the_timelock():
    governed = governed_market()
    assert set_params(governed, "guardian-1", "guardian-2", liquidation_fee_bps=160).code == ResultCode.RAISE_STEP_TOO_LARGE
    assert set_params(governed, "guardian-1", "guardian-2", taker_fee_bps=51).code == ResultCode.RAISE_STEP_TOO_LARGE
    assert set_params(governed, "guardian-1", "guardian-2", taker_fee_bps=50).ok  # from 0: the floor's 50 bps


# -- the halt quorum cancels a pending change without halting ----------------------------------------


def test_the_halt_quorum_cancels_a_pending_loosening_without_halting():
    governed = governed_market()
    driver = governed.driver
    loosen = governed.payload(PARAMS, market=MARKET, params={"open_interest_cap": 2_000_000})
    assert governed.act(loosen, "guardian-1", "guardian-2").ok
    assert governed.act(governed.payload(CANCEL, pending_nonce=loosen["nonce"]), "node-1", "node-2").ok
    assert ActionTaken(PARAMS, loosen["nonce"], MARKET, "cancelled", 0) in driver.events
    driver.run(time_ms=driver.time_ms + 120_000)
    assert market(governed).open_interest_cap == 1_000_000
    assert market(governed).status != MarketStatus.HALTED


def test_cancelling_a_nonce_with_no_pending_change_is_refused():
    governed = governed_market()
    assert governed.act(governed.payload(CANCEL, pending_nonce=12345), "node-1", "node-2").code == ResultCode.NOT_CANCELLABLE


def test_a_phase_in_is_not_a_cancellable_change():
    governed = governed_market()
    raise_ = governed.payload(PARAMS, market=MARKET, params={"maintenance_margin_bps": 750})
    assert governed.act(raise_, "guardian-1", "guardian-2").ok
    assert governed.act(governed.payload(CANCEL, pending_nonce=raise_["nonce"]), "node-1", "node-2").code == ResultCode.NOT_CANCELLABLE


# -- a maintenance raise phases in behind margin calls ------------------------------------------------


def thin_long_after_a_drop():
    """thin is long 100 at 50,000 with 600,000 and the mark drops to 47,500: equity 350,000, above
    maintenance at 5% (237,500) but below it at 7.5% (356,250)."""
    governed = governed_market()
    driver = governed.driver
    driver.deposit("thin", 600_000)
    assert driver.trade("thin", "bob", 50_000, 100).ok
    driver.price(47_500)
    return governed


def test_a_maintenance_raise_calls_the_accounts_it_puts_below_maintenance():
    governed = thin_long_after_a_drop()
    assert set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=750).ok
    assert market(governed).maintenance_margin_bps == 500  # not yet
    assert MarginCall("thin", 350_000, 356_250, governed.driver.time_ms) in governed.driver.events
    assert "bob" not in governed.driver.state.margin_calls


def test_within_the_grace_the_raise_liquidates_no_one():
    governed = thin_long_after_a_drop()
    driver = governed.driver
    set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=750)
    driver.run(time_ms=driver.time_ms + GRACE_MS - 10_000)
    assert driver.price(47_490).ok  # a fresh valid mark (a repeated price would be a clamp)
    assert (driver.state.accounts["thin"].status, driver.size("thin")) == (AccountStatus.ACTIVE, 100)


def test_after_the_grace_the_raise_applies_and_an_uncured_account_is_liquidated():
    governed = thin_long_after_a_drop()
    driver = governed.driver
    set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=750)
    driver.run(time_ms=driver.time_ms + GRACE_MS)
    assert market(governed).maintenance_margin_bps == 750
    assert driver.price(47_490).ok
    assert any(isinstance(e, Liquidation) and e.account == "thin" for e in driver.events)


def test_an_account_cured_within_the_grace_is_not_liquidated():
    governed = thin_long_after_a_drop()
    driver = governed.driver
    set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=750)
    driver.deposit("thin", 200_000)  # equity 550,000: above initial margin (475,000), the call lifts
    assert any(isinstance(e, MarginCallLifted) and e.account == "thin" for e in driver.events)
    driver.run(time_ms=driver.time_ms + GRACE_MS)
    assert driver.price(47_490).ok
    assert not any(isinstance(e, Liquidation) and e.account == "thin" for e in driver.events)
    assert driver.size("thin") == 100


def test_a_later_decision_on_maintenance_replaces_a_pending_phase_in():
    governed = governed_market()
    driver = governed.driver
    assert set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=750).ok  # phases in in an hour
    assert set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=450).ok  # a cut: in 60 s
    driver.run(time_ms=driver.time_ms + 60_000)
    driver.run(time_ms=driver.time_ms + GRACE_MS)
    assert market(governed).maintenance_margin_bps == 450


def test_changes_due_in_one_entry_apply_in_the_order_they_fell_due():
    governed = governed_market()
    driver = governed.driver
    first = dict(governed.payload(PARAMS, market=MARKET, params={"open_interest_cap": 2_000_000}), nonce=900)
    assert governed.act(first, "guardian-1", "guardian-2").ok  # due in 60 s
    second = dict(governed.payload(PARAMS, market=MARKET, params={"open_interest_cap": 3_000_000}), nonce=800)
    assert governed.act(second, "guardian-1", "guardian-2").ok  # due 1 s later, though its nonce sorts first
    driver.run(time_ms=driver.time_ms + 120_000)
    assert market(governed).open_interest_cap == 3_000_000


def test_an_initial_margin_cut_below_a_pending_phase_in_is_refused():
    governed = governed_market()
    assert set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=750).ok
    assert set_params(governed, "guardian-1", "guardian-2", initial_margin_bps=700).code == ResultCode.INVALID_ACTION


def test_a_timelocked_change_a_phase_in_made_inconsistent_is_cancelled_when_due():
    governed = governed_market()
    driver = governed.driver
    assert set_policy(governed, "guardian-1", "guardian-2", margin_raise_grace_ms=30_000).ok  # shorter: the timelock
    driver.run(time_ms=driver.time_ms + 60_000)
    lower = governed.payload(PARAMS, market=MARKET, params={"initial_margin_bps": 700})
    assert governed.act(lower, "guardian-1", "guardian-2").ok  # consistent with maintenance 500, due in 60 s
    assert set_params(governed, "guardian-1", "guardian-2", maintenance_margin_bps=750).ok  # consistent with 1,000; in 30 s
    driver.run(time_ms=driver.time_ms + 30_000)
    driver.run(time_ms=driver.time_ms + 30_000)
    assert (market(governed).initial_margin_bps, market(governed).maintenance_margin_bps) == (1_000, 750)
    assert ActionTaken(PARAMS, lower["nonce"], MARKET, "cancelled", 0) in driver.events


# -- a temporary tightening reverts by itself --------------------------------------------------------


def test_a_temporary_tightening_reverts_at_its_ledger_time():
    governed = governed_market()
    driver = governed.driver
    payload = governed.payload(PARAMS, market=MARKET, params={"initial_margin_bps": 1_500}, revert_after_ms=600_000)
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    applied_at = driver.time_ms
    driver.run(time_ms=applied_at + 599_999)
    assert market(governed).initial_margin_bps == 1_500
    driver.run(time_ms=applied_at + 600_000)
    assert market(governed).initial_margin_bps == 1_000
    assert ActionTaken(PARAMS, payload["nonce"], MARKET, "reverted", applied_at + 600_000) in driver.events


def test_a_halt_does_not_cancel_a_revert():
    governed = governed_market()
    driver = governed.driver
    payload = governed.payload(PARAMS, market=MARKET, params={"initial_margin_bps": 1_500}, revert_after_ms=600_000)
    governed.act(payload, "guardian-1", "guardian-2")
    assert governed.act(governed.payload(ActionKind.HALT_MARKET, market=MARKET), "node-1", "node-2").ok
    driver.run(time_ms=driver.time_ms + 600_000)
    assert market(governed).initial_margin_bps == 1_000


def test_a_revert_before_the_grace_ends_also_drops_the_phase_in():
    governed = governed_market()
    driver = governed.driver
    payload = governed.payload(PARAMS, market=MARKET, params={"maintenance_margin_bps": 750}, revert_after_ms=600_000)
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    driver.run(time_ms=driver.time_ms + GRACE_MS)
    assert market(governed).maintenance_margin_bps == 500


def test_a_loosening_cannot_be_temporary():
    governed = governed_market()
    payload = governed.payload(PARAMS, market=MARKET, params={"open_interest_cap": 2_000_000}, revert_after_ms=600_000)
    assert governed.act(payload, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION


# -- governed policy parameters --------------------------------------------------------------------------


def test_guardians_tighten_a_withdrawal_limit_at_once():
    governed = governed_market()
    assert set_policy(governed, "guardian-1", "guardian-2", withdrawal_account_max_per_window=1_000).ok
    assert governed.driver.withdraw("alice", 1_001).code == ResultCode.WITHDRAWAL_LIMIT
    assert governed.driver.withdraw("alice", 1_000).ok


def test_loosening_a_policy_parameter_waits_the_timelock():
    governed = governed_market()
    driver = governed.driver
    set_policy(governed, "guardian-1", "guardian-2", withdrawal_account_max_per_window=1_000)
    assert set_policy(governed, "guardian-1", "guardian-2", withdrawal_account_max_per_window=5_000).ok
    assert driver.withdraw("alice", 2_000).code == ResultCode.WITHDRAWAL_LIMIT
    driver.run(time_ms=driver.time_ms + 60_000)
    assert driver.withdraw("alice", 2_000).ok


def test_raising_the_fund_floor_puts_the_venue_reduce_only():
    governed = governed_market()
    assert set_policy(governed, "guardian-1", "guardian-2", insurance_fund_floor=1).ok
    assert governed.driver.state.global_mode == GlobalMode.REDUCE_ONLY


# -- k-of-n custody for large withdrawals ------------------------------------------------------------------


def custody_threshold_1m():
    governed = governed_market()
    assert set_policy(governed, "guardian-1", "guardian-2", custody_quorum_threshold=1_000_000).ok
    return governed


def custody(governed, account, amount, *signers, ttl_ms=300_000):
    return governed.act(governed.payload(CUSTODY, account=account, amount=amount, ttl_ms=ttl_ms), *signers)


def test_below_the_threshold_one_custodian_key_withdraws_as_before():
    governed = custody_threshold_1m()
    assert governed.driver.withdraw("alice", 1_000_000).ok


def test_above_the_threshold_one_custodian_key_is_refused():
    governed = custody_threshold_1m()
    result = governed.driver.withdraw("alice", 1_000_001)
    assert result.code == ResultCode.CUSTODY_QUORUM_REQUIRED
    assert governed.driver.collateral("alice") == 10_000_000


def test_one_key_cannot_split_a_large_withdrawal_into_small_ones():
    governed = custody_threshold_1m()
    driver = governed.driver
    assert driver.withdraw("alice", 600_000).ok
    assert driver.withdraw("alice", 600_000).code == ResultCode.CUSTODY_QUORUM_REQUIRED  # 1.2M in the window
    driver.run(time_ms=driver.time_ms + 3_600_000)  # limits.withdrawal_window_ms later
    assert driver.withdraw("alice", 600_000).ok


def test_a_quorum_of_custodian_keys_withdraws_a_large_amount():
    governed = custody_threshold_1m()
    result = custody(governed, "alice", 2_000_000, "custodian-1", "custodian-3")
    assert result.ok and result.collateral == 8_000_000
    assert governed.driver.collateral("alice") == 8_000_000


def test_one_custodian_signature_is_below_the_quorum():
    governed = custody_threshold_1m()
    assert custody(governed, "alice", 2_000_000, "custodian-2").code == ResultCode.BELOW_THRESHOLD
    assert governed.driver.collateral("alice") == 10_000_000


def test_guardian_signatures_do_not_count_for_custody():
    governed = custody_threshold_1m()
    assert custody(governed, "alice", 2_000_000, "guardian-1", "guardian-2").code == ResultCode.WRONG_ROLE


def test_an_expired_custody_withdrawal_is_refused():
    governed = custody_threshold_1m()
    payload = governed.payload(CUSTODY, account="alice", amount=2_000_000, ttl_ms=500)
    governed.driver.run()
    assert governed.act(payload, "custodian-1", "custodian-2").code == ResultCode.ACTION_EXPIRED


def test_a_replayed_custody_withdrawal_is_refused():
    governed = custody_threshold_1m()
    payload = governed.payload(CUSTODY, account="alice", amount=2_000_000)
    keys = {k: CUSTODIANS[k] for k in ("custodian-1", "custodian-2")}
    assert governed.driver.one(signed_action("c1", payload, keys)).ok
    assert governed.driver.one(signed_action("c2", payload, keys)).code == ResultCode.NONCE_REUSED
    assert governed.driver.collateral("alice") == 8_000_000


def test_a_custody_withdrawal_obeys_the_withdrawal_limits_and_spends_no_nonce_when_refused():
    governed = custody_threshold_1m()
    set_policy(governed, "guardian-1", "guardian-2", withdrawal_account_max_per_window=1_500_000)
    payload = governed.payload(CUSTODY, account="alice", amount=2_000_000)
    assert governed.act(payload, "custodian-1", "custodian-2").code == ResultCode.WITHDRAWAL_LIMIT
    assert f"nonce/{payload['nonce']:020d}" not in governed.driver.state.governance
