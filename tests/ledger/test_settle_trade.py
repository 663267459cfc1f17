"""SettleTrade: both sides or neither, and every reason a fill is refused."""

from dataclasses import replace

from node.ledger.commands import MarketKind, SettleTrade
from node.ledger.records import MarketStatus
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, create_market, listed_market_with_traders


def snapshot(driver: LedgerDriver):
    state = driver.state
    return (dict(state.accounts), {a: dict(p) for a, p in state.positions.items()}, dict(state.open_interest), dict(state.meta))


def assert_refused_without_change(driver: LedgerDriver, code: ResultCode, *args, **kwargs):
    before = snapshot(driver)
    result = driver.trade(*args, **kwargs)
    assert result.code == code, result
    after = snapshot(driver)
    assert (after[0], after[1], after[2]) == (before[0], before[1], before[2])


def test_trade_opens_opposite_positions_at_the_trade_price():
    driver = listed_market_with_traders()
    result = driver.trade("alice", "bob", 50_000, 10)
    assert result.code == ResultCode.OK
    assert driver.state.position("alice", MARKET).cost_basis == 500_000
    assert driver.state.position("bob", MARKET).cost_basis == -500_000
    assert (driver.size("alice"), driver.size("bob")) == (10, -10)
    assert driver.state.open_interest[MARKET] == 10


def test_fees_move_from_both_sides_to_fees_collected():
    driver = listed_market_with_traders(collateral=1_000_000)
    result = driver.trade("alice", "bob", 50_000, 10, buyer_fee=30, seller_fee=20)
    assert (result.collateral, result.counterparty_collateral) == (999_970, 999_980)
    assert driver.state.meta["fees_collected"] == 50


def test_closing_a_position_realizes_its_pnl_into_collateral():
    driver = listed_market_with_traders(collateral=1_000_000)
    driver.trade("alice", "bob", 50_000, 10)
    driver.price(51_000)
    result = driver.trade("bob", "alice", 51_000, 10)  # alice sells back 10 at 51,000
    assert result.code == ResultCode.OK
    assert driver.collateral("alice") == 1_010_000
    assert driver.collateral("bob") == 990_000
    assert driver.state.open_interest[MARKET] == 0


def test_partial_reduction_keeps_its_pnl_in_the_cost_basis():
    driver = listed_market_with_traders(collateral=1_000_000)
    driver.trade("alice", "bob", 50_000, 10)
    driver.price(51_000)
    driver.deposit("carol", 1_000_000)
    driver.trade("carol", "alice", 51_000, 4)
    position = driver.state.position("alice", MARKET)
    assert (position.size, position.cost_basis) == (6, 500_000 - 204_000)
    assert driver.collateral("alice") == 1_000_000


def test_flipping_side_realizes_the_old_position_and_opens_the_rest_at_the_price():
    driver = listed_market_with_traders(collateral=1_000_000)
    driver.trade("alice", "bob", 50_000, 10)
    driver.price(49_000)
    driver.deposit("carol", 1_000_000)
    assert driver.trade("carol", "alice", 49_000, 15).code == ResultCode.OK
    position = driver.state.position("alice", MARKET)
    assert (position.size, position.cost_basis) == (-5, -245_000)
    assert driver.collateral("alice") == 990_000


def test_unknown_market_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.UNKNOWN_MARKET, "alice", "bob", 50_000, 1, market="ETH-PERP")


def test_unknown_account_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.UNKNOWN_ACCOUNT, "alice", "carol", 50_000, 1)


def test_malformed_account_id_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.INVALID_ACCOUNT, "alice", "b o b", 50_000, 1)


def test_insurance_fund_cannot_trade():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.INVALID_ACCOUNT, "alice", "sys:insurance", 50_000, 1)


def test_self_trade_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.SELF_TRADE, "alice", "alice", 50_000, 1)


def test_non_positive_price_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.INVALID_PRICE, "alice", "bob", 0, 1)


def test_off_tick_price_is_refused():
    driver = LedgerDriver()
    driver.one(create_market(tick_size=5))
    driver.price(50_000)
    driver.deposit("alice", 10**7)
    driver.deposit("bob", 10**7)
    assert_refused_without_change(driver, ResultCode.INVALID_PRICE, "alice", "bob", 50_001, 1)


def test_non_positive_quantity_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.INVALID_QUANTITY, "alice", "bob", 50_000, 0)
    assert_refused_without_change(driver, ResultCode.INVALID_QUANTITY, "alice", "bob", 50_000, -3)


def test_off_lot_quantity_is_refused():
    driver = LedgerDriver()
    driver.one(create_market(lot_size=10))
    driver.price(50_000)
    driver.deposit("alice", 10**8)
    driver.deposit("bob", 10**8)
    assert_refused_without_change(driver, ResultCode.INVALID_QUANTITY, "alice", "bob", 50_000, 15)


def test_notional_beyond_int64_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.INVALID_QUANTITY, "alice", "bob", 50_000, 2**62)


def test_negative_fee_is_refused():
    driver = listed_market_with_traders()
    assert_refused_without_change(driver, ResultCode.INVALID_FEE, "alice", "bob", 50_000, 1, buyer_fee=-1)


def test_trade_before_any_mark_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    driver.deposit("alice", 10**7)
    driver.deposit("bob", 10**7)
    assert_refused_without_change(driver, ResultCode.NO_MARK_PRICE, "alice", "bob", 50_000, 1)


def test_trade_in_a_market_that_is_not_active_is_refused():
    driver = listed_market_with_traders()
    market = driver.state.markets[MARKET]
    driver.state.put_market(MARKET, replace(market, status=MarketStatus.HALTED))
    assert_refused_without_change(driver, ResultCode.MARKET_NOT_ACTIVE, "alice", "bob", 50_000, 1)


def test_trade_after_expiry_is_refused():
    driver = LedgerDriver()
    expiry = driver.time_ms + 5_000
    driver.one(create_market(market="BTC-DEC", kind=MarketKind.FUTURE, expiry_ms=expiry))
    driver.price(50_000, market="BTC-DEC")
    driver.deposit("alice", 10**7)
    driver.deposit("bob", 10**7)
    driver.run(time_ms=expiry)
    assert_refused_without_change(driver, ResultCode.MARKET_EXPIRED, "alice", "bob", 50_000, 1, market="BTC-DEC")


def test_opening_below_initial_margin_is_refused_for_the_buyer():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("poor", 499_999)
    # 100 contracts at 50,000: notional 5,000,000, initial margin 500,000
    assert_refused_without_change(driver, ResultCode.INSUFFICIENT_MARGIN, "poor", "bob", 50_000, 100)


def test_opening_below_initial_margin_is_refused_for_the_seller():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("poor", 499_999)
    assert_refused_without_change(driver, ResultCode.INSUFFICIENT_MARGIN, "alice", "poor", 50_000, 100)


def test_opening_at_exactly_initial_margin_is_accepted():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("exact", 500_000)
    assert driver.trade("exact", "bob", 50_000, 100).code == ResultCode.OK


def test_reducing_trade_is_accepted_below_initial_margin():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("thin", 600_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(49_000)  # thin: equity 500,000 < initial margin 490,000? no: still above
    driver.price(48_500)  # equity 450,000, initial 485,000, maintenance 242,500: below IM, not liquidated
    assert driver.trade("bob", "thin", 48_500, 10).code == ResultCode.OK
    assert driver.size("thin") == 90


def test_trade_that_would_drive_collateral_negative_is_refused():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("thin", 600_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(47_000)  # equity 300,000 above maintenance 235,000: not liquidated
    # Closing all 100 at 43,000 (within the 10% band) would realize -700,000 against 600,000.
    assert_refused_without_change(driver, ResultCode.INSUFFICIENT_MARGIN, "bob", "thin", 43_000, 100)


def test_open_interest_cap_refuses_new_exposure():
    driver = LedgerDriver()
    driver.one(create_market(open_interest_cap=10))
    driver.price(50_000)
    driver.deposit("alice", 10**8)
    driver.deposit("bob", 10**8)
    assert driver.trade("alice", "bob", 50_000, 10).code == ResultCode.OK
    assert_refused_without_change(driver, ResultCode.OPEN_INTEREST_CAP, "alice", "bob", 50_000, 1)


def test_open_interest_cap_allows_reducing_trades():
    driver = LedgerDriver()
    driver.one(create_market(open_interest_cap=10))
    driver.price(50_000)
    driver.deposit("alice", 10**8)
    driver.deposit("bob", 10**8)
    driver.trade("alice", "bob", 50_000, 10)
    assert driver.trade("bob", "alice", 50_000, 4).code == ResultCode.OK
    assert driver.state.open_interest[MARKET] == 6


def test_trades_in_one_batch_apply_in_order():
    driver = listed_market_with_traders(collateral=1_000_000)
    results = driver.run(
        SettleTrade("t1", MARKET, "alice", "bob", 50_000, 10),
        SettleTrade("t2", MARKET, "bob", "alice", 50_000, 10),
        SettleTrade("t3", MARKET, "alice", "alice", 50_000, 10),
    )
    assert [r.code for r in results] == [ResultCode.OK, ResultCode.OK, ResultCode.SELF_TRADE]
    assert driver.size("alice") == 0


def test_fill_further_from_the_mark_than_the_trade_band_is_refused():
    driver = listed_market_with_traders(mark=50_000)  # trade band 1,000 bps: 45,000..55,000
    assert_refused_without_change(driver, ResultCode.PRICE_OUTSIDE_BAND, "alice", "bob", 55_001, 1)
    assert_refused_without_change(driver, ResultCode.PRICE_OUTSIDE_BAND, "alice", "bob", 44_999, 1)


def test_fill_at_the_edge_of_the_trade_band_is_accepted():
    driver = listed_market_with_traders(mark=50_000)
    assert driver.trade("alice", "bob", 55_000, 1).code == ResultCode.OK
    assert driver.trade("alice", "bob", 45_000, 1).code == ResultCode.OK


def _reduce_only(driver: LedgerDriver) -> None:
    market = driver.state.markets[MARKET]
    driver.state.put_market(MARKET, replace(market, status=MarketStatus.REDUCE_ONLY))


def test_reduce_only_market_accepts_a_fill_that_reduces_both_sides():
    driver = listed_market_with_traders()
    driver.trade("alice", "bob", 50_000, 10)
    _reduce_only(driver)
    assert driver.trade("bob", "alice", 50_000, 4).code == ResultCode.OK
    assert (driver.size("alice"), driver.size("bob")) == (6, -6)


def test_reduce_only_market_refuses_a_fill_that_adds_to_either_side():
    driver = listed_market_with_traders()
    driver.deposit("carol", 10_000_000)
    driver.trade("alice", "bob", 50_000, 10)
    _reduce_only(driver)
    assert_refused_without_change(driver, ResultCode.REDUCE_ONLY, "carol", "alice", 50_000, 4)  # carol opens
    assert_refused_without_change(driver, ResultCode.REDUCE_ONLY, "alice", "bob", 50_000, 1)  # both add
