"""EmergencyAction: quorum-signed, single-use, short-lived, epoch-bound; each failure its own code."""

from node.identity.keys import private_key_from_seed
from node.identity.quorum import emergency_action, sign_action, signed_action
from node.ledger.action_payload import action_bytes
from node.ledger.commands import ActionKind, EmergencyAction, Signature
from node.ledger.events import ActionTaken
from node.ledger.records import GlobalMode, MarketStatus, StatusReason
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, create_market, listed_market_with_traders
from .governance import ALL_KEYS, CLUSTER, GUARDIANS, NODES, genesis_payload, governed_market

HALT = ActionKind.HALT_MARKET


def status(governed) -> tuple[MarketStatus, StatusReason]:
    market = governed.driver.state.markets[MARKET]
    return market.status, market.status_reason


# -- genesis --------------------------------------------------------------------------------


def test_without_a_signer_set_no_action_can_gather_a_quorum():
    driver = listed_market_with_traders()
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET)
    assert driver.one(signed_action("h", payload, ALL_KEYS)).code == ResultCode.NO_SIGNER_SET


def test_the_genesis_signer_set_needs_every_listed_key():
    driver = listed_market_with_traders()
    some = {k: v for k, v in ALL_KEYS.items() if k != "guardian-3"}
    assert driver.one(signed_action("g", genesis_payload(), some)).code == ResultCode.BELOW_THRESHOLD
    assert driver.state.governance == {}


def test_the_genesis_signer_set_is_installed_once():
    governed = governed_market()
    again = signed_action("g2", genesis_payload(nonce=2, not_after_ms=governed.driver.time_ms + 100_000), ALL_KEYS)
    assert governed.driver.one(again).code == ResultCode.WRONG_ROLE  # now a resume-class change: guardians only
    assert governed.driver.state.governance["policy"]["cluster"] == CLUSTER


# -- halting is easy, and takes effect at once ---------------------------------------------------


def test_two_node_keys_halt_a_market():
    governed = governed_market()
    assert governed.act(governed.payload(HALT, market=MARKET), "node-1", "node-2").ok
    assert status(governed) == (MarketStatus.HALTED, StatusReason.GUARDIAN_HALT)
    assert governed.driver.trade("alice", "bob", 50_000, 1).code == ResultCode.MARKET_NOT_ACTIVE


def test_one_node_alone_cannot_halt():
    governed = governed_market()
    result = governed.act(governed.payload(HALT, market=MARKET), "node-1")
    assert result.code == ResultCode.BELOW_THRESHOLD
    assert status(governed) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_the_same_signer_twice_counts_once():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET)
    signature = sign_action(payload, NODES["node-1"])
    result = governed.driver.one(emergency_action("h", payload, [("node-1", signature), ("node-1", signature)]))
    assert result.code == ResultCode.BELOW_THRESHOLD


def test_a_global_halt_stops_trades_withdrawals_and_liquidations():
    governed = governed_market()
    driver = governed.driver
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    assert governed.act(governed.payload(ActionKind.GLOBAL_HALT), "guardian-1", "node-3").ok
    assert driver.state.global_mode == GlobalMode.HALTED
    assert driver.trade("alice", "bob", 50_000, 1).code == ResultCode.MARKET_NOT_ACTIVE
    assert driver.withdraw("alice", 1).code == ResultCode.STALE_PRICE
    driver.price(40_000)  # thin is far below maintenance, but nothing moves while halted
    assert driver.size("thin") == 100


# -- resuming is hard: guardians only ------------------------------------------------------------


def halted() -> "object":
    governed = governed_market()
    assert governed.act(governed.payload(HALT, market=MARKET), "node-1", "node-2").ok
    return governed


def test_two_guardians_resume_a_halted_market():
    governed = halted()
    assert governed.act(governed.payload(ActionKind.RESUME_MARKET, market=MARKET), "guardian-1", "guardian-2").ok
    assert status(governed) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_node_keys_never_approve_a_resume():
    governed = halted()
    result = governed.act(governed.payload(ActionKind.RESUME_MARKET, market=MARKET), "guardian-1", "node-1")
    assert result.code == ResultCode.WRONG_ROLE
    assert status(governed) == (MarketStatus.HALTED, StatusReason.GUARDIAN_HALT)


def test_resuming_a_market_guardians_did_not_halt_is_refused_and_keeps_its_nonce_free():
    governed = governed_market()
    payload = governed.payload(ActionKind.RESUME_MARKET, market=MARKET)
    assert governed.act(payload, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION
    assert f"nonce/{payload['nonce']:020d}" not in governed.driver.state.governance


def test_a_global_resume_returns_the_venue_to_normal():
    governed = governed_market()
    governed.act(governed.payload(ActionKind.GLOBAL_HALT), "node-1", "node-2")
    assert governed.act(governed.payload(ActionKind.GLOBAL_RESUME), "guardian-2", "guardian-3").ok
    assert governed.driver.state.global_mode == GlobalMode.NORMAL


# -- each failure has its own code and changes nothing -----------------------------------------------


def test_an_unknown_key_is_refused():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET)
    forged = sign_action(payload, private_key_from_seed("mallory"))
    result = governed.driver.one(emergency_action("h", payload, [("mallory", forged), ("node-1", sign_action(payload, NODES["node-1"]))]))
    assert result.code == ResultCode.UNKNOWN_SIGNER
    assert status(governed) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_a_listed_key_with_a_wrong_signature_is_refused():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET)
    wrong = sign_action(payload, private_key_from_seed("mallory"))
    result = governed.driver.one(emergency_action("h", payload, [("node-1", wrong), ("node-2", sign_action(payload, NODES["node-2"]))]))
    assert result.code == ResultCode.INVALID_SIGNATURE


def test_a_replayed_action_is_refused_by_its_nonce():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET)
    first = signed_action("h1", payload, {k: NODES[k] for k in ("node-1", "node-2")})
    assert governed.driver.one(first).ok
    governed.act(governed.payload(ActionKind.RESUME_MARKET, market=MARKET), "guardian-1", "guardian-2")
    replay = EmergencyAction("h2", first.kind, first.canonical_bytes, first.nonce, first.not_after_ms, first.signatures, first.market)
    assert governed.driver.one(replay).code == ResultCode.NONCE_REUSED
    assert status(governed) == (MarketStatus.ACTIVE, StatusReason.NONE)


def test_an_expired_action_is_refused():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET, ttl_ms=-1)
    assert governed.act(payload, "node-1", "node-2").code == ResultCode.ACTION_EXPIRED


def test_an_approval_valid_for_longer_than_fifteen_minutes_is_refused():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET, ttl_ms=900_001)
    assert governed.act(payload, "node-1", "node-2").code == ResultCode.ACTION_EXPIRED


def test_an_action_signed_for_a_future_epoch_is_refused():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET, epoch=1)
    assert governed.act(payload, "node-1", "node-2").code == ResultCode.STALE_EPOCH


def test_an_action_for_another_cluster_is_refused():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET)
    payload["cluster"] = "other-cluster"
    assert governed.act(payload, "node-1", "node-2").code == ResultCode.INVALID_ACTION


def test_bytes_that_are_not_canonical_json_are_refused():
    governed = governed_market()
    payload = governed.payload(HALT, market=MARKET)
    command = signed_action("h", payload, {k: NODES[k] for k in ("node-1", "node-2")})
    spaced = action_bytes(payload).replace(b",", b", ")
    tampered = EmergencyAction("h", command.kind, spaced, command.nonce, command.not_after_ms, command.signatures, command.market)
    assert governed.driver.one(tampered).code == ResultCode.INVALID_ACTION


def test_command_fields_that_differ_from_the_signed_bytes_are_refused():
    governed = governed_market()
    governed.driver.one(create_market(market="ETH-PERP"))
    command = signed_action("h", governed.payload(HALT, market=MARKET), {k: NODES[k] for k in ("node-1", "node-2")})
    other = EmergencyAction("h", command.kind, command.canonical_bytes, command.nonce, command.not_after_ms, command.signatures, "ETH-PERP")
    assert governed.driver.one(other).code == ResultCode.INVALID_ACTION
    assert governed.driver.state.markets["ETH-PERP"].status == MarketStatus.ACTIVE


def test_action_without_signatures_is_invalid():
    command = EmergencyAction("h", HALT, b"{}", 1, 1, (), MARKET)
    assert LedgerDriver().one(command).code == ResultCode.INVALID_ACTION


def test_unknown_action_kind_is_invalid():
    command = EmergencyAction("h", 99, b"{}", 1, 1, (Signature("node-1", b"\x01" * 64),), MARKET)
    assert LedgerDriver().one(command).code == ResultCode.INVALID_ACTION


# -- parameters: guardians tighten at once, loosening waits a timelock a halt cancels ------------
# (Issue 18: tightening used to be halt class, so two node keys could raise margins to 100%; every
# parameter change now needs guardians: tests/ledger/test_bounded_governance.py.)


def test_guardians_tighten_a_parameter_at_once():
    governed = governed_market()
    payload = governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"initial_margin_bps": 1_500})
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    assert governed.driver.state.markets[MARKET].initial_margin_bps == 1_500


def test_loosening_needs_guardians():
    governed = governed_market()
    payload = governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"open_interest_cap": 2_000_000})
    assert governed.act(payload, "node-1", "node-2").code == ResultCode.WRONG_ROLE


def test_loosening_waits_out_the_timelock():
    governed = governed_market()
    driver = governed.driver
    payload = governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"open_interest_cap": 2_000_000})
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    scheduled_at = driver.time_ms
    assert ActionTaken(ActionKind.SET_MARKET_PARAMS, payload["nonce"], MARKET, "scheduled", scheduled_at + 60_000) in driver.events
    driver.run(time_ms=scheduled_at + 59_999)
    assert driver.state.markets[MARKET].open_interest_cap == 1_000_000
    driver.run(time_ms=scheduled_at + 60_000)
    assert driver.state.markets[MARKET].open_interest_cap == 2_000_000


def test_a_halt_during_the_timelock_cancels_the_loosening():
    governed = governed_market()
    driver = governed.driver
    payload = governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"open_interest_cap": 2_000_000})
    governed.act(payload, "guardian-1", "guardian-2")
    assert governed.act(governed.payload(HALT, market=MARKET), "node-1", "node-3").ok
    assert ActionTaken(ActionKind.SET_MARKET_PARAMS, payload["nonce"], MARKET, "cancelled", 0) in driver.events
    driver.run(time_ms=driver.time_ms + 120_000)
    assert driver.state.markets[MARKET].open_interest_cap == 1_000_000


def test_a_parameter_outside_its_range_is_refused():
    governed = governed_market()
    payload = governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"maintenance_margin_bps": 20_000})
    assert governed.act(payload, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION  # (issue 18: guardians, not nodes)


def test_a_parameter_that_is_not_adjustable_is_refused():
    governed = governed_market()
    payload = governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"tick_size": 5})
    assert governed.act(payload, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION


# -- emergency settlement -------------------------------------------------------------------------


def test_an_emergency_settlement_closes_every_position_at_its_price():
    governed = governed_market()
    driver = governed.driver
    driver.trade("alice", "bob", 50_000, 10)
    payload = governed.payload(ActionKind.EMERGENCY_SETTLE, market=MARKET, price=48_000)
    assert governed.act(payload, "guardian-1", "guardian-3").ok
    assert (driver.size("alice"), driver.size("bob")) == (0, 0)
    assert (driver.collateral("alice"), driver.collateral("bob")) == (10_000_000 - 20_000, 10_000_000 + 20_000)
    assert status(governed) == (MarketStatus.SETTLED, StatusReason.EMERGENCY_SETTLED)


def test_nodes_cannot_settle_a_market():
    governed = governed_market()
    payload = governed.payload(ActionKind.EMERGENCY_SETTLE, market=MARKET, price=48_000)
    assert governed.act(payload, "node-1", "node-2", "node-3").code == ResultCode.WRONG_ROLE


# -- the signer set -----------------------------------------------------------------------------


def test_guardians_replace_the_signer_set_after_the_timelock():
    governed = governed_market()
    driver = governed.driver
    fewer = [e for e in genesis_payload()["signers"] if e["key_id"] != "guardian-3"]
    payload = governed.payload(ActionKind.SET_SIGNERS, signers=fewer, policy=genesis_payload()["policy"])
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    assert "signer/guardian-3" in driver.state.governance
    driver.run(time_ms=driver.time_ms + 60_000)
    assert "signer/guardian-3" not in driver.state.governance


def test_a_signer_set_whose_thresholds_cannot_be_met_is_refused():
    governed = governed_market()
    policy = dict(genesis_payload()["policy"], resume_threshold=4)  # only three guardians
    payload = governed.payload(ActionKind.SET_SIGNERS, signers=genesis_payload()["signers"], policy=policy)
    assert governed.act(payload, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION


def test_guardian_keys_are_distinct_from_node_keys():
    assert not set(GUARDIANS) & set(NODES)
