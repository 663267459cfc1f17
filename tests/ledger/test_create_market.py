"""CreateMarket: listing markets, and every way a listing is refused."""

from node.ledger.commands import MarketKind, OptionType
from node.ledger.records import MarketStatus
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, create_market


def test_perpetual_is_listed_active_without_a_mark():
    driver = LedgerDriver()
    assert driver.one(create_market()).code == ResultCode.OK
    market = driver.state.markets[MARKET]
    assert market.status == MarketStatus.ACTIVE
    assert market.mark_price == 0
    assert driver.state.open_interest[MARKET] == 0


def test_future_with_expiry_after_ledger_time_is_listed():
    driver = LedgerDriver()
    cmd = create_market(market="BTC-DEC", kind=MarketKind.FUTURE, expiry_ms=10**12)
    assert driver.one(cmd).code == ResultCode.OK
    assert driver.state.markets["BTC-DEC"].expiry_ms == 10**12


def test_future_already_expired_is_refused():
    driver = LedgerDriver()
    cmd = create_market(market="BTC-OLD", kind=MarketKind.FUTURE, expiry_ms=5)
    assert driver.one(cmd).code == ResultCode.INVALID_MARKET_PARAMS
    assert "BTC-OLD" not in driver.state.markets


def test_perpetual_with_expiry_is_refused():
    assert LedgerDriver().one(create_market(expiry_ms=10**12)).code == ResultCode.INVALID_MARKET_PARAMS


def test_option_is_listed_only_on_a_listed_underlying():
    # The listing rules of options are specified in test_options.py.
    cmd = create_market(kind=MarketKind.OPTION, expiry_ms=10**12, strike_price=50_000, option_type=OptionType.CALL)
    driver = LedgerDriver()
    assert driver.one(cmd).code == ResultCode.UNKNOWN_UNDERLYING
    assert cmd.market not in driver.state.markets


def test_same_market_twice_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    assert driver.one(create_market(id="again")).code == ResultCode.MARKET_EXISTS


def test_malformed_market_id_is_refused():
    for bad in ("", "BTC PERP", "x" * 33, "BTC/PERP"):
        assert LedgerDriver().one(create_market(market=bad, id="c")).code == ResultCode.INVALID_MARKET


def test_maintenance_above_initial_margin_is_refused():
    cmd = create_market(initial_margin_bps=500, maintenance_margin_bps=600)
    assert LedgerDriver().one(cmd).code == ResultCode.INVALID_MARKET_PARAMS


def test_zero_tick_is_refused():
    assert LedgerDriver().one(create_market(tick_size=0)).code == ResultCode.INVALID_MARKET_PARAMS


def test_parameter_beyond_int64_is_refused():
    assert LedgerDriver().one(create_market(open_interest_cap=2**63)).code == ResultCode.INVALID_MARKET_PARAMS


def test_refused_listing_changes_nothing_but_the_dedup_record():
    driver = LedgerDriver()
    before = dict(driver.state.markets)
    driver.one(create_market(tick_size=-1))
    assert driver.state.markets == before
