"""Deposit: collateral in."""

from node.ledger import INSURANCE_FUND
from node.ledger.commands import Deposit
from node.ledger.results import ResultCode

from .driver import LedgerDriver


def test_deposit_creates_the_account_and_reports_its_collateral():
    driver = LedgerDriver()
    result = driver.deposit("alice", 500)
    assert result.code == ResultCode.OK and result.collateral == 500
    assert driver.collateral("alice") == 500


def test_deposits_add_up():
    driver = LedgerDriver()
    driver.deposit("alice", 500)
    assert driver.deposit("alice", 250).collateral == 750


def test_non_positive_amount_is_refused():
    driver = LedgerDriver()
    assert driver.deposit("alice", 0).code == ResultCode.INVALID_AMOUNT
    assert driver.deposit("alice", -5).code == ResultCode.INVALID_AMOUNT
    assert "alice" not in driver.state.accounts


def test_amount_beyond_int64_is_refused():
    assert LedgerDriver().deposit("alice", 2**63).code == ResultCode.INVALID_AMOUNT


def test_deposit_that_would_overflow_collateral_is_refused():
    driver = LedgerDriver()
    driver.deposit("alice", 2**63 - 10)
    assert driver.deposit("alice", 11).code == ResultCode.INVALID_AMOUNT
    assert driver.collateral("alice") == 2**63 - 10


def test_malformed_account_id_is_refused():
    for bad in ("", "a b", "x" * 65, "ünïcode"):
        assert LedgerDriver().deposit(bad, 5).code == ResultCode.INVALID_ACCOUNT


def test_reserved_account_id_is_refused():
    assert LedgerDriver().deposit("sys:other", 5).code == ResultCode.INVALID_ACCOUNT


def test_insurance_fund_can_be_topped_up():
    driver = LedgerDriver()
    assert driver.deposit(INSURANCE_FUND, 1_000).code == ResultCode.OK
    assert driver.state.insurance_fund == 1_000


def test_non_integer_amount_is_refused():
    driver = LedgerDriver()
    assert driver.one(Deposit("d-float", "alice", 1.5)).code == ResultCode.INVALID_AMOUNT
