"""The venue's global mode: the funds' equity below their floor makes every market reduce-only.

A fund is judged by its equity at the mark (cash plus the unrealized result of the positions it
took over, fund_equity.py), never by its cash alone (issue 17)."""

from node.ledger import INSURANCE_FUND
from node.ledger.events import GlobalModeChanged
from node.ledger.fund_equity import fund_equity, funds_equity_total
from node.ledger.records import GlobalMode, GlobalReason
from node.ledger.results import ResultCode
from node.ledger.state import market_fund

from .driver import MARKET, listed_market_with_traders

FUND = market_fund(MARKET)


def fund_holding_a_loss():
    """The market's fund takes a long over at 47,000 (and its 47,000 fee); at a mark of 44,500 it
    holds -250,000 of unrealized loss against 47,000 of cash."""
    driver = listed_market_with_traders(mark=50_000, collateral=10_000_000)
    driver.deposit("carol", 10_000_000)
    driver.trade("alice", "carol", 50_000, 10)
    driver.deposit("long", 500_000)
    driver.trade("long", "bob", 50_000, 100)
    driver.price(47_000)  # the fund takes 100 long at 47,000
    assert driver.size(FUND) == 100 and driver.state.global_mode == GlobalMode.NORMAL
    driver.price(44_500)
    assert driver.collateral(FUND) == 47_000
    assert fund_equity(driver.state, FUND) == 47_000 - 250_000
    assert funds_equity_total(driver.state) == 47_000 - 250_000
    return driver


def test_a_new_venue_is_normal():
    driver = listed_market_with_traders()
    assert driver.state.global_mode == GlobalMode.NORMAL


def test_a_fund_whose_equity_is_below_the_floor_makes_the_venue_reduce_only_although_its_cash_is_positive():
    driver = fund_holding_a_loss()
    assert driver.state.funds_total > 0
    assert driver.state.global_mode == GlobalMode.REDUCE_ONLY
    assert GlobalModeChanged(GlobalMode.REDUCE_ONLY, GlobalReason.FUND_BELOW_FLOOR) in driver.events


def test_a_better_mark_lifts_the_funds_equity_and_the_venue_back_to_normal():
    driver = fund_holding_a_loss()
    driver.price(47_000)  # the fund's long is worth what it paid: equity = its 47,000 of cash
    assert fund_equity(driver.state, FUND) == 47_000
    assert driver.state.global_mode == GlobalMode.NORMAL


def test_while_reduce_only_a_fill_adding_risk_is_refused_and_one_reducing_it_accepted():
    driver = fund_holding_a_loss()
    driver.deposit("dave", 10_000_000)
    assert driver.trade("dave", "bob", 44_500, 1).code == ResultCode.REDUCE_ONLY
    assert driver.trade("carol", "alice", 44_500, 5).code == ResultCode.OK  # carol short, alice long: both reduce


def test_topping_the_fund_up_to_its_equity_returns_the_venue_to_normal():
    driver = fund_holding_a_loss()
    driver.deposit(INSURANCE_FUND, 250_000 - 47_000 - 1)
    assert driver.state.global_mode == GlobalMode.REDUCE_ONLY  # one unit short of the floor
    driver.deposit(INSURANCE_FUND, 1)
    assert driver.state.global_mode == GlobalMode.NORMAL
    assert GlobalModeChanged(GlobalMode.NORMAL, GlobalReason.NONE) in driver.events
    driver.deposit("dave", 10_000_000)
    assert driver.trade("dave", "bob", 44_500, 1).code == ResultCode.OK
