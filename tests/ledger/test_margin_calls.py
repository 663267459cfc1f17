"""Margin calls (node/ledger/margin_calls.py): below a level between maintenance and initial
margin an account is called and reduce-only until back at initial margin; below maintenance it is
liquidated as before, call or no call."""

from __future__ import annotations

from node.ledger.events import Liquidation, MarginCall, MarginCallLifted
from node.ledger.records import AccountStatus
from node.ledger.results import ResultCode

from .driver import LedgerDriver, create_market


def called_market(alice: int = 1_300) -> LedgerDriver:
    """10% initial, 5% maintenance, a call at 8%; alice long 10 at 1,000 with `alice`."""
    driver = LedgerDriver()
    assert driver.one(create_market(margin_call_bps=800, band_bps=0)).ok
    driver.price(1_000)
    driver.deposit("alice", alice)
    driver.deposit("bob", 100_000)
    driver.deposit("carol", 100_000)
    assert driver.trade("alice", "bob", 1_000, 10).ok
    return driver


def calls(driver: LedgerDriver) -> list:
    return [e for e in driver.events if isinstance(e, (MarginCall, MarginCallLifted))]


def test_an_account_below_its_call_level_is_called():
    driver = called_market()
    driver.price(960)  # equity 1,300 - 400 = 900 < call ceil(9,600 x 8%) = 768? no: 900 >= 768
    assert calls(driver) == []
    driver.price(940)  # equity 700 < call 752, >= maintenance 470
    assert calls(driver) == [MarginCall("alice", 700, 752, driver.time_ms)]
    record = driver.state.margin_calls["alice"]
    assert (record.equity, record.level) == (700, 752)
    assert driver.state.accounts["alice"].status == AccountStatus.ACTIVE


def test_a_called_account_is_reduce_only():
    driver = called_market()
    driver.price(940)
    assert driver.trade("alice", "carol", 940, 1).code == ResultCode.MARGIN_CALLED
    assert driver.trade("carol", "alice", 940, 1).ok  # reducing is allowed


def test_the_call_is_lifted_at_initial_margin_not_before():
    driver = called_market()
    driver.price(940)  # equity 700; initial ceil(9,400 x 10%) = 940
    driver.deposit("alice", 239)  # 939: still below initial
    assert "alice" in driver.state.margin_calls
    driver.deposit("alice", 1)  # 940: at initial margin
    assert "alice" not in driver.state.margin_calls
    assert calls(driver)[-1] == MarginCallLifted("alice", 940, 940, driver.time_ms)
    # No longer reduce-only: adding risk is judged by initial margin again, as for anyone.
    assert driver.trade("alice", "carol", 940, 1).code == ResultCode.INSUFFICIENT_MARGIN
    driver.deposit("alice", 94)
    assert driver.trade("alice", "carol", 940, 1).ok


def test_a_better_mark_lifts_the_call():
    driver = called_market()
    driver.price(940)
    driver.price(1_000)  # equity 1,300 >= initial 1,000
    assert "alice" not in driver.state.margin_calls


def test_below_maintenance_the_account_is_liquidated_call_or_no_call():
    driver = called_market()
    driver.price(880)  # equity 100 < maintenance 440: liquidated without a call first
    assert [e.account for e in driver.events if isinstance(e, Liquidation)] == ["alice"]
    assert [e for e in driver.events if isinstance(e, MarginCall)] == []


def test_a_called_account_is_still_liquidated_below_maintenance():
    driver = called_market()
    driver.price(940)
    driver.price(880)
    assert [e.account for e in driver.events if isinstance(e, Liquidation)] == ["alice"]


def test_the_call_level_must_lie_between_maintenance_and_initial_margin():
    driver = LedgerDriver()
    for n, bps in enumerate((500, 1_000, 400, 1_100, -1)):
        assert driver.one(create_market(id=f"c{n}", margin_call_bps=bps)).code == ResultCode.INVALID_MARKET_PARAMS, bps
    assert driver.one(create_market(margin_call_bps=501)).ok


def test_an_account_in_a_market_without_a_call_level_is_never_called():
    driver = LedgerDriver()
    assert driver.one(create_market(band_bps=0)).ok
    driver.price(1_000)
    driver.deposit("alice", 1_300)
    driver.deposit("bob", 100_000)
    assert driver.trade("alice", "bob", 1_000, 10).ok
    driver.price(940)
    assert calls(driver) == [] and driver.state.margin_calls == {}


def test_funding_can_bring_a_margin_call_without_a_price_change():
    hour = 3_600_000
    driver = LedgerDriver()
    assert driver.one(create_market(margin_call_bps=800, band_bps=0, funding_interval_ms=hour, funding_rate_cap_bps=1_000,
                                    stale_after_ms=10 * hour)).ok
    driver.price(1_000)
    driver.deposit("alice", 1_500)
    driver.deposit("bob", 100_000)
    driver.deposit("carol", 100_000)
    assert driver.trade("alice", "bob", 1_000, 10).ok
    assert driver.trade("carol", "bob", 1_100, 1).ok  # a 10% premium: the cap
    # At the mark alice has 1,500 against a call level of 800: funding of ~10% of her notional
    # (~1,000) takes her equity to ~500, below the call and at maintenance's edge.
    driver.run(time_ms=hour)
    assert [e.account for e in driver.events if isinstance(e, MarginCall)] == ["alice"]
    assert "alice" in driver.state.margin_calls


def test_a_quorum_can_set_the_call_level_and_the_fee_schedule():
    from node.ledger.commands import ActionKind

    from .driver import MARKET
    from .governance import governed_market

    governed = governed_market()
    terms = lambda: governed.driver.state.market_terms.get(MARKET)  # noqa: E731
    # Switching a call level on tightens: at once (issue 18: guardians, no longer node keys).
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"margin_call_bps": 800}),
                        "guardian-1", "guardian-2").ok
    assert terms().margin_call_bps == 800
    # Out of range, or not adjustable: refused, nothing changes.
    for params in ({"margin_call_bps": 1_000}, {"funding_interval_ms": 3_600_000}, {"maker_fee_bps": -1}):
        result = governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params=params), "guardian-1", "guardian-2")
        assert result.code == ResultCode.INVALID_ACTION, params
    # A fee schedule is not a safety limit: guardians only, and it waits the timelock.
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"taker_fee_bps": 5}),
                        "node-1", "node-2").code == ResultCode.WRONG_ROLE
    assert governed.act(governed.payload(ActionKind.SET_MARKET_PARAMS, market=MARKET, params={"taker_fee_bps": 5}),
                        "guardian-1", "guardian-2").ok
    assert terms().taker_fee_bps == 0
    governed.driver.run(time_ms=governed.driver.time_ms + 61_000)
    assert terms().taker_fee_bps == 5
