"""The venue's global mode: a fund below its floor makes every market reduce-only."""

from node.ledger import INSURANCE_FUND
from node.ledger.events import GlobalModeChanged
from node.ledger.records import GlobalMode, GlobalReason
from node.ledger.results import ResultCode

from .driver import listed_market_with_traders


def fund_in_deficit():
    """The market's fund takes a long over at 47,000 and closes it against a short at 44,500:
    -250,000 against 91,500 of fees."""
    driver = listed_market_with_traders(mark=50_000, collateral=10_000_000)
    driver.deposit("long", 500_000)
    driver.trade("long", "bob", 50_000, 100)
    driver.price(47_000)  # the fund takes 100 long at 47,000
    driver.deposit("short", 500_000)
    driver.price(40_000)
    driver.trade("alice", "short", 40_000, 100)
    driver.price(44_500)  # short liquidated: the fund sells 100 at 44,500, realizing -250,000
    assert driver.state.funds_total == 47_000 + 44_500 - 250_000
    return driver


def test_a_new_venue_is_normal():
    driver = listed_market_with_traders()
    assert driver.state.global_mode == GlobalMode.NORMAL


def test_a_fund_below_its_floor_makes_the_venue_reduce_only():
    driver = fund_in_deficit()
    assert driver.state.global_mode == GlobalMode.REDUCE_ONLY
    assert GlobalModeChanged(GlobalMode.REDUCE_ONLY, GlobalReason.FUND_BELOW_FLOOR) in driver.events


def test_while_reduce_only_a_fill_adding_risk_is_refused_and_one_reducing_it_accepted():
    driver = fund_in_deficit()
    driver.deposit("carol", 10_000_000)
    assert driver.trade("carol", "bob", 44_500, 1).code == ResultCode.REDUCE_ONLY
    assert driver.trade("bob", "alice", 44_500, 10).code == ResultCode.OK  # bob short, alice long: both reduce


def test_topping_the_fund_up_returns_the_venue_to_normal():
    driver = fund_in_deficit()
    driver.deposit(INSURANCE_FUND, -driver.state.funds_total)
    assert driver.state.global_mode == GlobalMode.NORMAL
    assert GlobalModeChanged(GlobalMode.NORMAL, GlobalReason.NONE) in driver.events
    driver.deposit("carol", 10_000_000)
    assert driver.trade("carol", "bob", 44_500, 1).code == ResultCode.OK
