"""Settlement price: an expiring market settles at the time-weighted average of its VALID marks over
the settlement window before expiry, or waits SETTLING until it has one
(docs/design.md#settlement-price)."""

from node.ledger.commands import ActionKind, MarketKind
from node.ledger.events import Liquidation, MarketSettled, MarketStatusChanged
from node.ledger.limits import settlement_window_ms_default, settlement_window_ms_max
from node.ledger.records import MarketStatus, SettlementMethod, StatusReason
from node.ledger.results import ResultCode

from .driver import MARKET, SOURCE, LedgerDriver, create_market, oracle_source, signed_price
from .governance import ALL_KEYS, Governed, genesis_payload
from node.identity.quorum import signed_action

FUTURE = "BTC-MAR"
WINDOW_MS = 600_000  # ten minutes: half of it (300 s) of VALID time settles
STALE_AFTER_MS = 60_000
PRINT_EVERY_MS = 30_000
TO_EXPIRY_MS = 3_600_000


def listed_future(window_ms: int = WINDOW_MS, **overrides) -> tuple[LedgerDriver, int]:
    """A future expiring in an hour; alice long 10 and bob short 10 at 50,000."""
    driver = LedgerDriver()
    expiry = driver.time_ms + TO_EXPIRY_MS
    listing = dict(market=FUTURE, kind=MarketKind.FUTURE, expiry_ms=expiry, band_bps=0,
                   settlement_window_ms=window_ms, stale_after_ms=STALE_AFTER_MS)
    assert driver.one(create_market(**{**listing, **overrides})).ok
    driver.deposit("alice", 10_000_000)
    driver.deposit("bob", 10_000_000)
    driver.price(50_000, market=FUTURE)
    driver.trade("alice", "bob", 50_000, 10, market=FUTURE)
    return driver, expiry


def quote(driver: LedgerDriver, price: int, at_ms: int, source: str = SOURCE):
    """One signed print, source time = ledger time = at_ms, in its own entry."""
    (result,) = driver.run(signed_price(driver.next_id("px"), FUTURE, source, price, at_ms), time_ms=at_ms)
    return result


def hold(driver: LedgerDriver, price: int, from_ms: int, to_ms: int) -> None:
    """The oracle prints `price` every 30 s from from_ms, up to (not at) to_ms."""
    for at_ms in range(from_ms, to_ms, PRINT_EVERY_MS):
        assert quote(driver, price, at_ms).ok


def market(driver: LedgerDriver):
    return driver.state.markets[FUTURE]


def status(driver: LedgerDriver) -> tuple[MarketStatus, StatusReason]:
    return market(driver).status, market(driver).status_reason


def expire(driver: LedgerDriver, expiry: int) -> None:
    driver.run(time_ms=expiry)


def settling_future() -> tuple[LedgerDriver, int]:
    """A future whose oracle fell silent 150 s before expiry, after a VALID mark for 270 s of its
    window's 600 (half is 300): SETTLING at expiry, and its last mark STALE by then."""
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - 360_000, expiry - 120_000)
    expire(driver, expiry)
    assert status(driver) == (MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE)
    return driver, expiry


# -- the average -----------------------------------------------------------------------------------


def test_a_future_settles_at_its_windows_time_weighted_average_not_at_its_last_mark():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 60_000)
    hold(driver, 53_000, expiry - 60_000, expiry)
    expire(driver, expiry)
    # (50,000 x 540 s + 53,000 x 60 s) / 600 s
    assert (market(driver).mark_price, market(driver).settlement_price) == (53_000, 50_300)
    assert status(driver) == (MarketStatus.SETTLED, StatusReason.EXPIRED)


def test_marks_before_the_window_do_not_count():
    driver, expiry = listed_future()
    hold(driver, 60_000, expiry - 2 * WINDOW_MS, expiry - WINDOW_MS)
    hold(driver, 50_000, expiry - WINDOW_MS, expiry)
    expire(driver, expiry)
    assert market(driver).settlement_price == 50_000


def test_a_last_minute_print_moves_the_settlement_by_at_most_its_time_share():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 10_000)
    quote(driver, 100_000, expiry - 10_000)  # a manipulated print holds the last 10 s of 600
    expire(driver, expiry)
    share_bound = (100_000 - 50_000) * 10_000 // WINDOW_MS  # 833: its deviation times its time share
    assert market(driver).settlement_price - 50_000 <= share_bound
    assert market(driver).settlement_price == 50_833


def test_a_price_that_trips_the_band_breaker_contributes_no_time():
    driver, expiry = listed_future(band_bps=2_000, band_window_ms=60_000, cooldown_ms=120_000)
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 300_000)
    quote(driver, 65_000, expiry - 300_000)  # +30%: HALTED until expiry - 180 s
    assert status(driver) == (MarketStatus.HALTED, StatusReason.PRICE_BAND)
    hold(driver, 50_000, expiry - 270_000, expiry)  # marks during the halt do not count either
    expire(driver, expiry)
    assert market(driver).settlement_valid_ms == 300_000 + 180_000
    assert market(driver).settlement_price == 50_000


def test_a_stale_interval_contributes_no_time():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 400_000)  # last print at -420 s: fresh until -360 s
    hold(driver, 52_000, expiry - 200_000, expiry)  # STALE from -360 s to -200 s
    expire(driver, expiry)
    valid_50, valid_52 = 240_001, 200_000  # fresh through source time + stale_after_ms, inclusive
    assert market(driver).settlement_valid_ms == valid_50 + valid_52
    total = 50_000 * valid_50 + 52_000 * valid_52
    assert market(driver).settlement_price == (2 * total + valid_50 + valid_52) // (2 * (valid_50 + valid_52))


def test_an_outlier_print_does_not_move_the_settlement():
    sources = tuple(oracle_source(name) for name in ("a", "b", "c"))
    driver, expiry = listed_future(sources=sources, min_sources=2, outlier_bps=1_000)
    for at_ms in range(expiry - WINDOW_MS, expiry, PRINT_EVERY_MS):
        for name in ("a", "b"):
            driver.run(signed_price(driver.next_id("px"), FUTURE, name, 50_000, at_ms), time_ms=at_ms)
    assert quote(driver, 500_000, expiry - 1_000, source="c").code == ResultCode.PRICE_OUTLIER
    expire(driver, expiry)
    assert market(driver).settlement_price == 50_000


def test_the_settlement_price_is_rounded_to_the_nearest_tick_half_up():
    driver, expiry = listed_future(tick_size=100)
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 300_000)
    hold(driver, 50_100, expiry - 300_000, expiry)
    expire(driver, expiry)
    assert market(driver).settlement_price == 50_100  # exactly 50,050: half a tick rounds up


def test_the_settlement_says_how_its_price_was_formed():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry)
    expire(driver, expiry)
    assert MarketSettled(FUTURE, 50_000, SettlementMethod.TWAP, WINDOW_MS, WINDOW_MS, expiry) in driver.events


def test_settlement_conserves_money_and_leaves_no_position():
    driver, expiry = listed_future()
    driver.deposit("carol", 5_000_000)
    driver.trade("carol", "alice", 50_000, 4, market=FUTURE)
    before = sum(a.collateral for a in driver.state.accounts.values())
    hold(driver, 51_000, expiry - WINDOW_MS, expiry)
    expire(driver, expiry)
    assert sum(a.collateral for a in driver.state.accounts.values()) == before
    assert [driver.size(a, FUTURE) for a in ("alice", "bob", "carol")] == [0, 0, 0]
    assert driver.state.open_interest[FUTURE] == 0
    assert (driver.collateral("alice"), driver.collateral("bob"), driver.collateral("carol")) == (
        10_000_000 + 6 * 1_000, 10_000_000 - 10 * 1_000, 5_000_000 + 4 * 1_000)


# -- SETTLING ---------------------------------------------------------------------------------------


def test_too_little_valid_time_in_the_window_makes_the_market_settling():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - 240_000, expiry)  # VALID at expiry, but 270 s of the 300 needed
    expire(driver, expiry)
    assert MarketStatusChanged(FUTURE, MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE, expiry) in driver.events
    assert (driver.size("alice", FUTURE), market(driver).settlement_price) == (10, 0)
    assert not [e for e in driver.events if isinstance(e, MarketSettled)]


def test_a_market_whose_oracle_is_not_valid_at_expiry_is_settling():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 100_000)  # 9 of 10 minutes, then the oracle goes quiet
    expire(driver, expiry)
    assert status(driver) == (MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE)


def test_a_settling_market_refuses_every_trade_even_one_that_reduces():
    driver, _ = settling_future()
    driver.deposit("carol", 1_000_000)
    assert driver.trade("bob", "alice", 50_000, 10, market=FUTURE).code == ResultCode.MARKET_SETTLING  # closes both
    assert driver.trade("carol", "bob", 50_000, 1, market=FUTURE).code == ResultCode.MARKET_SETTLING
    assert driver.size("alice", FUTURE) == 10


def test_a_settling_market_liquidates_nobody():
    driver, expiry = listed_future(initial_margin_bps=1_000, maintenance_margin_bps=500)
    driver.deposit("thin", 60_000)
    driver.trade("thin", "bob", 50_000, 10, market=FUTURE)
    hold(driver, 50_000, expiry - 240_000, expiry)
    expire(driver, expiry)
    assert status(driver)[0] == MarketStatus.SETTLING
    quote(driver, 45_000, expiry + 1_000)  # thin: equity 10,000 < maintenance 22,500
    assert driver.size("thin", FUTURE) == 10
    assert not [e for e in driver.events if isinstance(e, Liquidation)]


def test_a_settling_market_holds_its_holders_withdrawals_even_at_a_valid_mark():
    driver, expiry = settling_future()
    quote(driver, 50_000, expiry + 1_000)
    assert driver.withdraw("alice", 1).code == ResultCode.STALE_PRICE


def test_a_settling_market_is_never_halted_by_its_band():
    driver, expiry = listed_future(band_bps=2_000, band_window_ms=60_000, cooldown_ms=120_000)
    hold(driver, 50_000, expiry - 240_000, expiry)
    expire(driver, expiry)
    quote(driver, 65_000, expiry + 1_000)  # +30% after expiry: it counts, and trips nothing
    assert status(driver) == (MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE)
    assert market(driver).mark_price == 65_000


def test_a_settling_market_settles_itself_once_its_oracle_is_valid_for_half_a_window():
    driver, expiry = settling_future()
    start = expiry + 1_000
    hold(driver, 51_000, start, start + 300_000)  # 300 s from start: half the window
    driver.run(time_ms=start + 300_000 - 1)
    assert status(driver)[0] == MarketStatus.SETTLING
    driver.run(time_ms=start + 300_000)
    assert status(driver) == (MarketStatus.SETTLED, StatusReason.EXPIRED)
    assert market(driver).settlement_price == 51_000  # what it saw after expiry, not before
    assert MarketSettled(FUTURE, 51_000, SettlementMethod.TWAP, 300_000, WINDOW_MS, start + 300_000) in driver.events
    assert (driver.collateral("alice"), driver.collateral("bob")) == (10_010_000, 9_990_000)


def test_a_settling_market_does_not_settle_on_stale_time():
    driver, expiry = settling_future()
    quote(driver, 51_000, expiry + 1_000)  # fresh for 60 s (through source time + 60 s), then nothing
    driver.run(time_ms=expiry + 1_000 + 400_000)
    assert status(driver)[0] == MarketStatus.SETTLING
    assert market(driver).settlement_valid_ms == STALE_AFTER_MS + 1


def _governed_settling() -> tuple[Governed, int]:
    driver, expiry = settling_future()
    assert driver.one(signed_action("genesis", genesis_payload(), ALL_KEYS)).ok
    return Governed(driver), expiry


def test_a_guardian_quorum_settles_a_settling_market_at_its_signed_price():
    governed, _ = _governed_settling()
    driver = governed.driver
    payload = governed.payload(ActionKind.EMERGENCY_SETTLE, market=FUTURE, price=49_000)
    assert governed.act(payload, "guardian-1", "guardian-2").ok
    assert status(driver) == (MarketStatus.SETTLED, StatusReason.EMERGENCY_SETTLED)
    assert (driver.collateral("alice"), driver.collateral("bob")) == (9_990_000, 10_010_000)
    settled = [e for e in driver.events if isinstance(e, MarketSettled)]
    assert [(e.price, e.method) for e in settled] == [(49_000, SettlementMethod.GUARDIAN)]


def test_nodes_cannot_settle_a_settling_market():
    governed, _ = _governed_settling()
    payload = governed.payload(ActionKind.EMERGENCY_SETTLE, market=FUTURE, price=49_000)
    assert governed.act(payload, "node-1", "node-2", "node-3").code == ResultCode.WRONG_ROLE
    assert status(governed.driver)[0] == MarketStatus.SETTLING


def test_a_settling_market_cannot_be_halted_or_have_its_parameters_changed():
    governed, _ = _governed_settling()
    halt = governed.payload(ActionKind.HALT_MARKET, market=FUTURE)
    assert governed.act(halt, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION
    tighten = governed.payload(ActionKind.SET_MARKET_PARAMS, market=FUTURE, params={"position_cap": 5})
    assert governed.act(tighten, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION
    assert status(governed.driver)[0] == MarketStatus.SETTLING


# -- the parameter ------------------------------------------------------------------------------------


def test_the_default_window_is_30_minutes():
    driver, _ = listed_future(window_ms=0)
    assert market(driver).settlement_window_ms == settlement_window_ms_default == 1_800_000


def test_the_default_window_shortens_to_the_time_left_to_expiry():
    driver = LedgerDriver()
    driver.one(create_market(market=FUTURE, kind=MarketKind.FUTURE, expiry_ms=driver.time_ms + 600_000))
    assert market(driver).settlement_window_ms == 600_000 - 1_000  # listed in the next entry, 1 s later


def _refused(**overrides) -> str:
    driver = LedgerDriver()
    listing = dict(market=FUTURE, kind=MarketKind.FUTURE, expiry_ms=driver.time_ms + TO_EXPIRY_MS)
    result = driver.one(create_market(**{**listing, **overrides}))
    assert result.code == ResultCode.INVALID_MARKET_PARAMS
    assert FUTURE not in driver.state.markets and driver.state.markets == {}
    return result.message


def test_a_negative_window_is_refused():
    assert "settlement_window_ms must be within" in _refused(settlement_window_ms=-1)


def test_a_window_beyond_the_maximum_is_refused():
    assert "settlement_window_ms must be within" in _refused(settlement_window_ms=settlement_window_ms_max + 1,
                                                              expiry_ms=LedgerDriver().time_ms + 2 * settlement_window_ms_max)


def test_a_window_longer_than_the_time_to_expiry_is_refused():
    assert "longer than" in _refused(settlement_window_ms=TO_EXPIRY_MS + 1)


def test_a_perpetual_has_no_settlement_window():
    assert "perpetual" in _refused(market=MARKET, kind=MarketKind.PERPETUAL, expiry_ms=0, settlement_window_ms=WINDOW_MS)
