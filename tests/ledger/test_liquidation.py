"""Liquidation: slices at the mark into the market's fund, the funds paying, auto-deleveraging."""

from node.ledger import INSURANCE_FUND
from node.ledger.events import Deleveraged, Liquidation
from node.ledger.records import AccountStatus
from node.ledger.results import ResultCode
from node.ledger.state import META_WITHDRAWALS_GATED_UNTIL, market_fund

from .driver import MARKET, LedgerDriver, create_market, oracle_source

FUND = market_fund(MARKET)


def thin_long(**market_params) -> LedgerDriver:
    """'thin' is long 100 @ 50,000 with 500,000 of collateral against bob (10% IM, 5% MM, 1% fee)."""
    driver = LedgerDriver()
    driver.one(create_market(**market_params))
    driver.price(50_000)
    for name, amount in (("alice", 10_000_000), ("bob", 10_000_000), ("thin", 500_000)):
        driver.deposit(name, amount)
    assert driver.trade("thin", "bob", 50_000, 100).ok
    return driver


def liquidations(driver: LedgerDriver) -> list[Liquidation]:
    return [e for e in driver.events if isinstance(e, Liquidation)]


def status(driver: LedgerDriver, account: str) -> AccountStatus:
    return driver.state.accounts[account].status


# -- the sweep --------------------------------------------------------------------------------


def test_account_at_exactly_maintenance_is_not_liquidated():
    driver = thin_long()
    # equity 500,000 - 100 x (50,000 - p) = 5% x 100 x p  <=>  p = 45,000/0.95 ~ 47,368.4
    driver.price(47_369)  # equity 236,900 >= maintenance 236,845
    assert driver.size("thin") == 100
    assert liquidations(driver) == []


def test_account_below_maintenance_is_closed_into_the_markets_fund_at_the_mark():
    driver = thin_long()
    driver.price(47_000)  # equity 200,000 < maintenance 235,000
    assert driver.size("thin") == 0
    assert driver.size(FUND) == 100
    assert driver.state.position(FUND, MARKET).cost_basis == 4_700_000
    # realized -300,000, fee 1% of 4,700,000 = 47,000 to the market's fund
    assert driver.collateral("thin") == 153_000
    assert driver.collateral(FUND) == 47_000
    assert liquidations(driver) == [Liquidation("thin", MARKET, 100, 47_000, 47_000, 0, 0, fund_size=100)]
    assert driver.state.open_interest[MARKET] == 100
    assert status(driver, "thin") == AccountStatus.ACTIVE


def test_short_side_is_liquidated_when_the_price_rises():
    driver = thin_long()
    driver.deposit("short", 500_000)
    driver.trade("alice", "short", 50_000, 100)
    driver.price(53_000)  # short's equity 200,000 < maintenance 265,000
    assert driver.size("short") == 0
    assert driver.size(FUND) == -100
    assert liquidations(driver)[0].size == -100


def test_liquidations_run_in_account_id_order():
    driver = thin_long()
    driver.deposit("amy", 500_000)
    driver.trade("amy", "alice", 50_000, 100)
    driver.price(47_000)
    assert [e.account for e in liquidations(driver)] == ["amy", "thin"]


def test_the_fee_is_never_taken_from_a_loss():
    driver = thin_long()
    driver.price(45_200)  # realized -480,000: 20,000 left, the fee would be 45,200
    assert driver.collateral("thin") == 0
    assert driver.collateral(FUND) == 20_000
    assert status(driver, "thin") == AccountStatus.ACTIVE


# -- slices and the window cap ------------------------------------------------------------------


def test_a_slice_closes_at_most_slice_bps_of_the_position():
    driver = thin_long(liquidation_slice_bps=2_000)
    driver.price(46_000)
    (event,) = liquidations(driver)
    assert (event.size, event.remaining, event.fee) == (20, 80, 9_200)
    assert driver.collateral("thin") == 490_800  # a partial close realizes nothing; the fee is paid
    assert status(driver, "thin") == AccountStatus.LIQUIDATING


def test_a_liquidating_account_loses_one_slice_per_entry():
    driver = thin_long(liquidation_slice_bps=2_000)
    driver.price(46_000)
    driver.deposit("alice", 1)  # any entry
    driver.deposit("alice", 1)
    assert [e.remaining for e in liquidations(driver)] == [80, 64, 51]


def test_a_liquidating_account_cannot_trade():
    driver = thin_long(liquidation_slice_bps=2_000)
    driver.price(46_000)
    assert driver.trade("thin", "bob", 46_000, 1).code == ResultCode.ACCOUNT_NOT_ACTIVE


def test_a_slice_that_restores_maintenance_ends_the_liquidation():
    driver = thin_long(liquidation_slice_bps=2_000)
    driver.price(47_000)
    # after 20 at 47,000 and a 9,400 fee: equity 190,600 >= maintenance 188,000 on the 80 left
    assert driver.size("thin") == 80
    assert status(driver, "thin") == AccountStatus.ACTIVE
    driver.deposit("alice", 1)
    assert driver.size("thin") == 80


def test_the_window_cap_limits_the_notional_liquidated_per_window():
    driver = thin_long(liquidation_cap_notional=1_000_000, liquidation_window_ms=60_000)
    driver.price(46_000)  # room for 21 contracts (966,000)
    assert driver.size("thin") == 79
    driver.deposit("alice", 1)  # 1 s later, same window: 34,000 left, not one contract
    assert driver.size("thin") == 79
    driver.run(time_ms=driver.time_ms + 58_000)
    driver.price(46_000)  # 60 s after the first slice: a new window
    assert driver.size("thin") == 58


def test_an_insolvent_account_closes_at_once_whatever_the_slice():
    driver = thin_long(liquidation_slice_bps=2_000)
    driver.deposit(INSURANCE_FUND, 1_000_000)
    driver.price(44_000)  # equity -100,000
    assert driver.size("thin") == 0
    assert driver.collateral("thin") == 0


# -- the funds ----------------------------------------------------------------------------------


def test_the_global_fund_pays_a_loss_the_market_fund_cannot():
    driver = thin_long()
    driver.deposit(INSURANCE_FUND, 1_000_000)
    driver.price(44_000)  # realized -600,000: 100,000 beyond collateral
    assert driver.collateral("thin") == 0
    assert driver.state.insurance_fund == 900_000
    assert liquidations(driver)[-1].fund_paid == 100_000
    assert status(driver, "thin") == AccountStatus.ACTIVE


def test_the_markets_fund_pays_before_the_global_fund():
    driver = thin_long()
    driver.deposit(FUND, 60_000)
    driver.deposit(INSURANCE_FUND, 1_000_000)
    driver.price(44_000)
    assert driver.collateral(FUND) == 0
    assert driver.state.insurance_fund == 960_000


def test_an_account_going_negative_gates_withdrawals():
    driver = thin_long()
    driver.deposit(INSURANCE_FUND, 1_000_000)
    driver.price(44_000)
    assert driver.state.meta[META_WITHDRAWALS_GATED_UNTIL] == driver.time_ms + 3_600_000
    assert driver.withdraw("alice", 1).code == ResultCode.WITHDRAWALS_GATED


def test_a_fund_losing_more_than_it_holds_runs_a_deficit_instead_of_halting():
    driver = thin_long()
    driver.price(47_000)  # the fund takes 100 long at 47,000 and 47,000 of fees
    driver.deposit("short", 500_000)
    driver.deposit(INSURANCE_FUND, 1_000_000)  # so the funds' equity stays above the floor at 40,000
    driver.price(40_000)
    assert driver.trade("alice", "short", 40_000, 100).ok
    driver.price(44_500)  # short is liquidated: the fund sells 100 at 44,500, realizing -250,000
    assert driver.size(FUND) == 0
    assert driver.collateral(FUND) == 47_000 + 44_500 - 250_000
    assert status(driver, FUND) == AccountStatus.ACTIVE


# -- auto-deleveraging --------------------------------------------------------------------------


def test_what_the_funds_cannot_pay_is_deleveraged_at_the_bankruptcy_price():
    driver = thin_long()
    driver.deposit(INSURANCE_FUND, 30_000)
    driver.price(44_000)  # deficit 100,000, the funds have 30,000: 70,000 is 700 per contract
    assert Deleveraged("bob", "thin", MARKET, -100, 44_700) in driver.events
    assert liquidations(driver) == [Liquidation("thin", MARKET, 100, 44_700, 0, 30_000, 0, deleveraged_size=100)]
    assert driver.collateral("thin") == 0
    assert status(driver, "thin") == AccountStatus.ACTIVE  # not bankrupt: the winners paid
    assert driver.collateral("bob") == 10_000_000 + 530_000  # 700 x 100 less than at the mark
    assert driver.state.insurance_fund == 0


def test_a_full_fund_hands_the_rest_of_a_slice_to_deleveraging_at_the_mark():
    driver = thin_long(fund_position_cap=30)
    driver.price(47_000)
    assert driver.size(FUND) == 30
    assert Deleveraged("bob", "thin", MARKET, -70, 47_000) in driver.events
    assert liquidations(driver) == [
        Liquidation("thin", MARKET, 100, 47_000, 47_000, 0, 0, fund_size=30, deleveraged_size=70),
    ]
    assert driver.size("bob") == -30


def test_deleveraging_takes_the_highest_pnl_times_leverage_first():
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(50_000)
    for name, amount in (("bob", 10_000_000), ("carol", 1_000_000), ("thin", 500_000)):
        driver.deposit(name, amount)
    driver.trade("thin", "bob", 50_000, 60)
    driver.trade("thin", "carol", 50_000, 40)
    driver.price(44_000)  # deficit 100,000, no fund money: bankruptcy price 45,000
    # carol: pnl 240,000 x notional 1,760,000 / equity 1,240,000; bob: 360,000 x 2,640,000 / 10,360,000
    adl = [e for e in driver.events if isinstance(e, Deleveraged)]
    assert adl == [Deleveraged("carol", "thin", MARKET, -40, 45_000), Deleveraged("bob", "thin", MARKET, -60, 45_000)]


def test_deleveraging_ties_are_broken_by_account_id():
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(50_000)
    for name, amount in (("zoe", 1_000_000), ("amy", 1_000_000), ("thin", 500_000)):
        driver.deposit(name, amount)
    driver.trade("thin", "zoe", 50_000, 50)
    driver.trade("thin", "amy", 50_000, 50)
    driver.price(44_000)
    adl = [e.account for e in driver.events if isinstance(e, Deleveraged)]
    assert adl == ["amy", "zoe"]


def test_liquidation_finds_a_multi_market_account_through_either_market():
    driver = thin_long()
    driver.one(create_market(market="ETH-PERP", sources=(oracle_source("src-a"),)))
    driver.price(3_000, market="ETH-PERP")
    driver.deposit("spread", 600_000)
    driver.trade("spread", "alice", 50_000, 100)
    driver.trade("alice", "spread", 3_000, 10)
    driver.price(2_900, market="ETH-PERP")  # ETH moves: spread is valued across both markets
    assert driver.size("spread") == 100
    driver.price(46_000)
    assert driver.size("spread") == 0 and driver.size("spread", "ETH-PERP") == 0
