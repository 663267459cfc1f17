"""When a node's own view backs a halt: the co-signing rule on the pure ledger, no processes."""

from __future__ import annotations

import pytest

from node.identity.keys import private_key_from_seed, raw_public_key
from node.ledger.commands import ActionKind, Deposit
from node.ledger.limits import action_lifetime_max_ms
from node.server.cosign_policy import cosign_verdict
from tests.ledger.driver import MARKET
from tests.ledger.governance import NODES, governed_market

NODE = "node-1"
NODE_PUBLIC = raw_public_key(NODES[NODE])


def verdict(governed, payload, key_id=NODE, public_key=NODE_PUBLIC, now_ms=None):
    driver = governed.driver
    return cosign_verdict(driver.state, payload, key_id, public_key, driver.time_ms if now_ms is None else now_ms)


def stale(governed):
    """Ledger time moves past the mark's freshness (stale_after_ms 60 s): the market is STALE."""
    driver = governed.driver
    driver.run(Deposit(driver.next_id("dep"), "carol", 1), time_ms=driver.time_ms + 61_000)
    assert driver.state.markets[MARKET].oracle_verdict.name == "STALE"
    return governed


def test_a_node_backs_halting_a_market_whose_oracle_is_stale():
    governed = stale(governed_market())
    answer = verdict(governed, governed.payload(ActionKind.HALT_MARKET, market=MARKET))
    assert answer.agrees and answer.reason == f"{MARKET}'s oracle verdict is STALE"


def test_a_node_refuses_to_halt_a_market_whose_oracle_is_valid():
    governed = governed_market()
    answer = verdict(governed, governed.payload(ActionKind.HALT_MARKET, market=MARKET))
    assert not answer.agrees and "VALID" in answer.reason


def test_a_node_backs_halting_a_market_a_breaker_already_holds():
    governed = governed_market()
    driver = governed.driver
    driver.price(70_000)  # +40% within the band window: the price-band breaker halts the market
    market = driver.state.markets[MARKET]
    assert (market.status.name, market.status_reason.name, market.oracle_verdict.name) == ("HALTED", "PRICE_BAND", "VALID")
    answer = verdict(governed, governed.payload(ActionKind.HALT_MARKET, market=MARKET))
    assert answer.agrees and answer.reason == f"{MARKET} is HALTED by its PRICE_BAND breaker"


@pytest.mark.parametrize("kind", [ActionKind.RESUME_MARKET, ActionKind.SET_MARKET_PARAMS, ActionKind.EMERGENCY_SETTLE, ActionKind.GLOBAL_RESUME])
def test_a_node_never_backs_anything_but_a_halt(kind):
    governed = stale(governed_market())
    fields = {
        ActionKind.RESUME_MARKET: {"market": MARKET},
        ActionKind.SET_MARKET_PARAMS: {"market": MARKET, "params": {"initial_margin_bps": 2_000}},  # even tightening
        ActionKind.EMERGENCY_SETTLE: {"market": MARKET, "price": 50_000},
        ActionKind.GLOBAL_RESUME: {},
    }[kind]
    answer = verdict(governed, governed.payload(kind, **fields))
    assert not answer.agrees and answer.reason.startswith("a node co-signs only HALT_MARKET and GLOBAL_HALT")


def test_a_global_halt_is_backed_when_some_market_is_stale_and_refused_otherwise():
    governed = governed_market()
    assert not verdict(governed, governed.payload(ActionKind.GLOBAL_HALT)).agrees
    stale(governed)
    answer = verdict(governed, governed.payload(ActionKind.GLOBAL_HALT))
    assert answer.agrees and answer.reason == f"{MARKET}'s oracle is STALE"


def test_a_market_guardians_already_halted_is_not_halted_again():
    governed = stale(governed_market())
    assert governed.act(governed.payload(ActionKind.HALT_MARKET, market=MARKET), "guardian-1", "guardian-2").ok
    answer = verdict(governed, governed.payload(ActionKind.HALT_MARKET, market=MARKET))
    assert not answer.agrees and "already halted by guardians" in answer.reason


def test_a_node_signs_nothing_its_ledger_would_not_take_now():
    governed = stale(governed_market())
    halt = governed.payload(ActionKind.HALT_MARKET, market=MARKET)
    assert "not a node key" in verdict(governed, halt, key_id="guardian-1").reason
    assert "not a node key" in verdict(governed, halt, public_key=raw_public_key(private_key_from_seed("mallory"))).reason
    assert "cluster" in verdict(governed, {**halt, "cluster": "other"}).reason
    assert "expired" in verdict(governed, halt, now_ms=halt["not_after_ms"] + 1).reason
    too_long = {**halt, "not_after_ms": governed.driver.time_ms + action_lifetime_max_ms + 1}
    assert "could be held" in verdict(governed, too_long).reason
    assert "epoch" in verdict(governed, {**halt, "epoch": 1}).reason
    assert governed.act(halt, "guardian-1", "guardian-2").ok
    governed.act(governed.payload(ActionKind.RESUME_MARKET, market=MARKET), "guardian-1", "guardian-2")
    assert "nonce" in verdict(governed, halt).reason


def test_an_unknown_market_is_refused():
    governed = governed_market()
    answer = verdict(governed, governed.payload(ActionKind.HALT_MARKET, market="ETH-PERP"))
    assert not answer.agrees and answer.reason == "no market ETH-PERP"


def test_a_settling_market_is_no_reason_to_halt_it_or_the_venue():
    from node.ledger.records import MarketStatus
    from node.identity.quorum import signed_action
    from tests.ledger.governance import ALL_KEYS, Governed, genesis_payload
    from tests.ledger.test_settlement_price import FUTURE, settling_future

    driver, _ = settling_future()  # its oracle is STALE: that is why it waits
    assert driver.one(signed_action("genesis", genesis_payload(), ALL_KEYS)).ok
    governed = Governed(driver)
    assert driver.state.markets[FUTURE].status == MarketStatus.SETTLING
    answer = verdict(governed, governed.payload(ActionKind.HALT_MARKET, market=FUTURE))
    assert not answer.agrees and "SETTLING" in answer.reason
    assert not verdict(governed, governed.payload(ActionKind.GLOBAL_HALT)).agrees
