"""Fees as money (node/ledger/fees.py): a schedule per market, a rebate paid out of the taker's
fee, a share to the market's fund, the rest held by the ledger's fee account and paid out only
by a quorum-signed WITHDRAW_FEES."""

from __future__ import annotations

from node.ledger.commands import ActionKind, Deposit, MakerSide, SettleTrade, Withdraw
from node.ledger.results import ResultCode
from node.ledger.state import FEE_ACCOUNT, market_fund

from .driver import MARKET, LedgerDriver, create_market
from .governance import governed_market

BUYER, SELLER = MakerSide.BUYER, MakerSide.SELLER
SCHEDULE = dict(maker_fee_bps=-2, taker_fee_bps=10, fee_fund_share_bps=2_000)


def scheduled(**terms) -> LedgerDriver:
    driver = LedgerDriver()
    assert driver.one(create_market(**{**SCHEDULE, **terms})).ok
    driver.price(1_000)
    driver.deposit("alice", 100_000)
    driver.deposit("bob", 100_000)
    return driver


def fee_account(driver: LedgerDriver) -> int:
    held = driver.state.accounts.get(FEE_ACCOUNT)
    return held.collateral if held else 0


def test_the_taker_pays_the_schedule_and_the_maker_gets_its_rebate_out_of_it():
    driver = scheduled()
    # Notional 10 x 1,000 = 10,000: the taker (buyer) pays ceil(10 bps) = 10, the maker (seller)
    # receives floor(2 bps) = 2; the net 8 is split: floor(20%) = 1 to the fund, 7 held as fees.
    result = driver.trade("alice", "bob", 1_000, 10, maker_side=SELLER)
    assert (result.code, result.collateral, result.counterparty_collateral) == (ResultCode.OK, 99_990, 100_002)
    assert (fee_account(driver), driver.collateral(market_fund(MARKET))) == (7, 1)
    assert driver.state.meta["fees_collected"] == 8


def test_the_maker_side_decides_who_pays_the_taker_fee():
    driver = scheduled()
    result = driver.trade("alice", "bob", 1_000, 10, maker_side=BUYER)
    assert (result.collateral, result.counterparty_collateral) == (100_002, 99_990)


def test_fees_round_in_the_ledgers_favour():
    driver = scheduled(maker_fee_bps=-10)
    # Notional 999: the taker's 10 bps round up to 1, the maker's 10 bps rebate rounds down to 0.
    assert driver.one(SettleTrade("t", MARKET, "alice", "bob", 999, 1, maker_side=SELLER)).counterparty_collateral == 100_000
    assert fee_account(driver) + driver.collateral(market_fund(MARKET)) == 1


def test_a_positive_maker_fee_is_charged_too():
    driver = scheduled(maker_fee_bps=5)
    result = driver.trade("alice", "bob", 1_000, 10, maker_side=SELLER)
    assert (result.collateral, result.counterparty_collateral) == (99_990, 99_995)
    assert fee_account(driver) + driver.collateral(market_fund(MARKET)) == 15


def test_a_fill_carrying_its_own_fees_pays_them_into_the_fee_account():
    driver = LedgerDriver()
    assert driver.one(create_market(fee_fund_share_bps=5_000)).ok
    driver.price(1_000)
    driver.deposit("alice", 100_000)
    driver.deposit("bob", 100_000)
    assert driver.trade("alice", "bob", 1_000, 10, buyer_fee=5, seller_fee=8).ok
    assert (fee_account(driver), driver.collateral(market_fund(MARKET))) == (7, 6)


def test_a_market_with_a_schedule_refuses_a_fill_without_a_maker_side():
    driver = scheduled()
    assert driver.trade("alice", "bob", 1_000, 10).code == ResultCode.INVALID_MAKER_SIDE
    assert driver.trade("alice", "bob", 1_000, 10, buyer_fee=1, seller_fee=1).code == ResultCode.INVALID_MAKER_SIDE


def test_a_fill_naming_its_maker_may_not_carry_fees_of_its_own():
    driver = scheduled()
    assert driver.trade("alice", "bob", 1_000, 10, maker_side=SELLER, buyer_fee=1).code == ResultCode.INVALID_FEE


def test_an_unknown_maker_side_is_refused():
    driver = scheduled()
    assert driver.trade("alice", "bob", 1_000, 10, maker_side=7).code == ResultCode.INVALID_MAKER_SIDE
    assert fee_account(driver) == 0


def test_a_schedule_is_validated_at_listing():
    driver = LedgerDriver()
    for n, bad in enumerate((
        dict(taker_fee_bps=-1), dict(taker_fee_bps=1_001), dict(taker_fee_bps=5, maker_fee_bps=-6),
        dict(maker_fee_bps=1_001), dict(fee_fund_share_bps=10_001), dict(fee_fund_share_bps=-1),
        dict(taker_fee_bps=2**63),
    )):
        assert driver.one(create_market(id=f"c{n}", **bad)).code == ResultCode.INVALID_MARKET_PARAMS, bad


def test_no_client_command_can_touch_the_fee_account():
    driver = scheduled()
    driver.trade("alice", "bob", 1_000, 10, maker_side=SELLER)
    codes = [r.code for r in driver.run(
        Deposit("d", FEE_ACCOUNT, 1), Withdraw("w", FEE_ACCOUNT, 1),
        SettleTrade("t", MARKET, FEE_ACCOUNT, "bob", 1_000, 1, maker_side=SELLER),
    )]
    assert codes == [ResultCode.INVALID_ACCOUNT] * 3
    assert fee_account(driver) == 7


def test_fees_leave_only_through_a_quorum_of_guardians():
    governed = governed_market()
    driver = governed.driver
    assert driver.trade("alice", "bob", 50_000, 10, buyer_fee=300, seller_fee=200).ok
    assert fee_account(driver) == 500
    # Moving money out is resume class: node keys cannot approve it, guardians can.
    payload = governed.payload(ActionKind.WITHDRAW_FEES, amount=400)
    assert governed.act(payload, "node-1", "node-2").code == ResultCode.WRONG_ROLE
    assert governed.act(governed.payload(ActionKind.WITHDRAW_FEES, amount=400), "guardian-1").code == ResultCode.BELOW_THRESHOLD
    assert governed.act(governed.payload(ActionKind.WITHDRAW_FEES, amount=501), "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION
    assert governed.act(governed.payload(ActionKind.WITHDRAW_FEES, amount=0), "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION
    assert fee_account(driver) == 500
    assert governed.act(governed.payload(ActionKind.WITHDRAW_FEES, amount=400), "guardian-1", "guardian-2").ok
    assert (fee_account(driver), driver.state.meta["fees_withdrawn"]) == (100, 400)


def test_a_rebate_as_large_as_the_taker_fee_leaves_nothing_for_the_venue():
    # Found while reviewing: a net fee of 0 with both sides charged must not reach credit_fees.
    driver = scheduled(maker_fee_bps=-10, taker_fee_bps=10)
    result = driver.trade("alice", "bob", 1_000, 10, maker_side=SELLER)
    assert (result.collateral, result.counterparty_collateral) == (99_990, 100_010)
    assert fee_account(driver) + driver.collateral(market_fund(MARKET)) == 0
