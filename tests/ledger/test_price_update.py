"""PriceUpdate: marks, and the liquidation they trigger."""

from node.ledger import INSURANCE_FUND
from node.ledger.commands import PriceUpdate
from node.ledger.events import Liquidation
from node.ledger.records import AccountStatus
from node.ledger.results import ResultCode

from .driver import MARKET, LedgerDriver, create_market, listed_market_with_traders


def test_price_update_sets_mark_and_its_source_time():
    driver = LedgerDriver()
    driver.one(create_market())
    assert driver.one(PriceUpdate("p1", MARKET, "src-a", 50_000, 123)).code == ResultCode.OK
    market = driver.state.markets[MARKET]
    assert (market.mark_price, market.mark_time_ms) == (50_000, 123)


def test_price_for_unknown_market_is_refused():
    assert LedgerDriver().one(PriceUpdate("p1", "ETH-PERP", "src-a", 1, 1)).code == ResultCode.UNKNOWN_MARKET


def test_non_positive_price_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    assert driver.one(PriceUpdate("p1", MARKET, "src-a", 0, 1)).code == ResultCode.INVALID_PRICE
    assert driver.state.markets[MARKET].mark_price == 0


def test_price_not_newer_than_the_mark_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    driver.one(PriceUpdate("p1", MARKET, "src-a", 50_000, 100))
    assert driver.one(PriceUpdate("p2", MARKET, "src-a", 40_000, 100)).code == ResultCode.STALE_PRICE
    assert driver.state.markets[MARKET].mark_price == 50_000


def test_malformed_source_is_refused():
    driver = LedgerDriver()
    driver.one(create_market())
    assert driver.one(PriceUpdate("p1", MARKET, "", 50_000, 1)).code == ResultCode.INVALID_SOURCE


def test_account_at_exactly_maintenance_is_not_liquidated():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    # equity 500,000 - 100 x (50,000 - p) = 5% x 100 x p  <=>  p = 45,000/0.95 ~ 47,368.4
    driver.price(47_369)  # equity 236,900 >= maintenance 236,845
    assert driver.size("thin") == 100
    assert driver.events == []


def test_account_below_maintenance_is_closed_into_the_fund_at_the_mark():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(47_000)  # equity 200,000 < maintenance 235,000
    assert driver.size("thin") == 0
    assert driver.size(INSURANCE_FUND) == 100
    assert driver.state.position(INSURANCE_FUND, MARKET).cost_basis == 4_700_000
    # realized -300,000, fee 1% of 4,700,000 = 47,000 to the fund
    assert driver.collateral("thin") == 153_000
    assert driver.state.insurance_fund == 47_000
    assert driver.events == [Liquidation("thin", MARKET, 100, 47_000, 47_000, 0, 0)]
    assert driver.state.open_interest[MARKET] == 100


def test_fee_is_capped_by_what_the_account_has_left():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(45_200)  # realized -480,000: 20,000 left, fee would be 45,200
    assert driver.collateral("thin") == 0
    assert driver.state.insurance_fund == 20_000
    assert driver.state.accounts["thin"].status == AccountStatus.ACTIVE


def test_fund_pays_a_loss_beyond_collateral():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit(INSURANCE_FUND, 1_000_000)
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(44_000)  # realized -600,000: 100,000 beyond collateral
    assert driver.collateral("thin") == 0
    assert driver.state.insurance_fund == 900_000
    assert driver.events[-1].fund_paid == 100_000
    assert driver.state.accounts["thin"].status == AccountStatus.ACTIVE


def test_loss_beyond_the_fund_leaves_the_account_bankrupt():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit(INSURANCE_FUND, 30_000)
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(44_000)  # 100,000 beyond collateral, fund has 30,000
    assert driver.state.insurance_fund == 0
    assert driver.collateral("thin") == -70_000
    assert driver.state.accounts["thin"].status == AccountStatus.BANKRUPT
    assert driver.events[-1].uncovered == 70_000


def test_bankrupt_account_cannot_trade():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("thin", 500_000)
    driver.trade("thin", "bob", 50_000, 100)
    driver.price(44_000)
    assert driver.trade("thin", "bob", 44_000, 1).code == ResultCode.ACCOUNT_NOT_ACTIVE


def test_short_side_is_liquidated_when_the_price_rises():
    driver = listed_market_with_traders(collateral=10_000_000)
    driver.deposit("short", 500_000)
    driver.trade("bob", "short", 50_000, 100)
    driver.price(53_000)  # equity 200,000 < maintenance 265,000
    assert driver.size("short") == 0
    assert driver.size(INSURANCE_FUND) == -100
    assert driver.events[0].size == -100


def test_liquidations_run_in_account_id_order():
    driver = listed_market_with_traders(collateral=10_000_000)
    for name in ("zed", "amy"):
        driver.deposit(name, 500_000)
        driver.trade(name, "bob", 50_000, 100)
    driver.price(47_000)
    assert [e.account for e in driver.events] == ["amy", "zed"]


def test_fund_losing_more_than_it_holds_runs_a_deficit_instead_of_halting():
    driver = listed_market_with_traders(mark=50_000, collateral=10_000_000)
    driver.deposit("long", 500_000)
    driver.trade("long", "bob", 50_000, 100)
    driver.price(47_000)  # the fund takes 100 long at 47,000
    driver.deposit("short", 500_000)
    driver.price(40_000)
    driver.trade("alice", "short", 40_000, 100)
    driver.price(44_500)  # short is liquidated: the fund sells 100 at 44,500, realizing -250,000
    assert driver.size(INSURANCE_FUND) == 0
    assert driver.state.insurance_fund == 47_000 + 44_500 - 250_000
    assert driver.state.accounts[INSURANCE_FUND].status == AccountStatus.ACTIVE
