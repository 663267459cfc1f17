"""A market's fund gets out of what it inherits (fund_unwinding.py, backstop.py; issue 17).

One behaviour per test: the auction starts when the fund inherits, its price worsens with ledger
time up to a cap, registered backstops take slices within a per-window cap, their limits and
their margin, fills the matching engine submits with the fund on one side must reduce it within
the trade band, and whatever is left at the deadline is auto-deleveraged. Registering a backstop
takes a guardian quorum; removing one, the halt class's low bar."""

from __future__ import annotations

import pytest

from node.ledger import check_full
from node.ledger.commands import ActionKind
from node.ledger.events import (
    Deleveraged,
    FundAuctionEnded,
    FundAuctionStarted,
    FundDeadlineDeleveraged,
    FundSliceSold,
)
from node.ledger.fund_equity import fund_equity
from node.ledger.fund_unwinding import auction_discount_bps, auction_price
from node.ledger.funding import owed
from node.ledger.records import FundUnwind, GlobalMode
from node.identity.quorum import signed_action
from node.ledger.results import ResultCode
from node.ledger.state import INSURANCE_FUND, market_fund, state_from_records

from .driver import MARKET, SOURCE, LedgerDriver, create_market, signed_price
from .governance import ALL_KEYS, Governed, genesis_payload

FUND = market_fund(MARKET)
MINUTE = 60_000
UNWIND = {
    "unwind_start_bps": 50, "unwind_slope_bps_per_minute": 25, "unwind_discount_max_bps": 300,
    "unwind_slice_contracts": 40, "unwind_window_ms": MINUTE, "unwind_deadline_ms": 10 * MINUTE,
    # a price repeated for longer than stale_after_ms is a clamp: these tests hold one mark for minutes
    "stale_after_ms": 30 * MINUTE,
}


def governed(**market) -> Governed:
    driver = LedgerDriver()
    assert driver.one(create_market(**{**UNWIND, **market})).ok
    driver.price(50_000)
    for account in ("alice", "bob", "lp", "lp2"):
        driver.deposit(account, 10_000_000)
    assert driver.one(signed_action("genesis", genesis_payload(), ALL_KEYS)).ok
    return Governed(driver)


def register(g: Governed, account: str, discount_bps: int, position_max: int, *signers: str):
    payload = g.payload(ActionKind.REGISTER_BACKSTOP, market=MARKET, account=account, discount_bps=discount_bps,
                        position_max=position_max)
    return g.act(payload, *(signers or ("guardian-1", "guardian-2")))


def at(g: Governed, time_ms: int, price: int = 47_000) -> None:
    """A signed price at `time_ms` (the market stays fresh, so the auction may step)."""
    g.driver.run(signed_price(g.driver.next_id("px"), MARKET, SOURCE, price, time_ms), time_ms=time_ms)


def fund_inherits(g: Governed) -> int:
    """'thin' is long 100 at 50,000 with 500,000; at 47,000 it is closed whole into the fund.
    Returns the ledger time the auction started."""
    g.driver.deposit("thin", 500_000)
    assert g.driver.trade("thin", "bob", 50_000, 100).ok
    at(g, g.driver.time_ms + 1_000)
    assert g.driver.size(FUND) == 100
    return g.driver.time_ms


def sold(driver: LedgerDriver) -> list[FundSliceSold]:
    return [e for e in driver.events if isinstance(e, FundSliceSold)]


# -- the auction ---------------------------------------------------------------------------------


def test_the_auction_starts_in_the_entry_the_fund_inherits_with_its_deadline():
    g = governed()
    start = fund_inherits(g)
    assert FundAuctionStarted(MARKET, 100, 47_000, start + 10 * MINUTE) in g.driver.events
    unwind = g.driver.state.fund_unwinds[MARKET]
    assert (unwind.started_ms, unwind.window_start_ms, unwind.sold_in_window) == (start, start, 0)
    assert MARKET in g.driver.state.unwinding


def test_the_discount_grows_by_the_slope_each_whole_minute_up_to_its_cap():
    unwind = FundUnwind(50, 25, 300, 0, MINUTE, 10 * MINUTE, started_ms=1_000)
    assert [auction_discount_bps(unwind, 1_000 + m) for m in (0, MINUTE - 1, MINUTE, 5 * MINUTE, 10 * MINUTE, 99 * MINUTE)] \
        == [50, 50, 75, 175, 300, 300]


def test_the_auction_price_is_worse_for_the_fund_and_rounded_to_a_tick_towards_the_mark():
    assert auction_price(47_000, 1, +1, 100) == 46_530  # a long fund sells below the mark
    assert auction_price(47_000, 1, -1, 100) == 47_470  # a short fund buys back above it
    assert auction_price(47_003, 10, +1, 100) == 46_540  # 46,532.97 up to the tick
    assert auction_price(47_003, 10, -1, 100) == 47_470  # 47,473.03 down to the tick
    assert auction_price(5, 10, +1, 5_000) == 10  # never below one tick


def test_a_backstop_takes_nothing_until_the_auction_reaches_its_discount():
    g = governed()
    assert register(g, "lp", 100, 1_000).ok
    start = fund_inherits(g)
    at(g, start + MINUTE)  # 75 bps: not yet
    assert sold(g.driver) == []
    at(g, start + 2 * MINUTE)  # 100 bps: it takes a slice, at most 40 per window
    assert sold(g.driver) == [FundSliceSold(MARKET, "lp", 40, 46_530, 100)]
    assert (g.driver.size(FUND), g.driver.size("lp")) == (60, 40)


def test_the_window_caps_what_the_auction_sells_and_the_next_window_sells_more():
    g = governed()
    assert register(g, "lp", 0, 1_000).ok
    start = fund_inherits(g)
    at(g, start + 1_000)
    at(g, start + 2_000)  # the same window: nothing more
    assert [e.size for e in sold(g.driver)] == [40]
    at(g, start + 1_000 + MINUTE)  # a new window
    at(g, start + 1_000 + 2 * MINUTE)
    assert [e.size for e in sold(g.driver)] == [40, 40, 20]
    assert g.driver.size(FUND) == 0 and g.driver.size("lp") == 100
    assert FundAuctionEnded(MARKET) in g.driver.events
    assert MARKET not in g.driver.state.unwinding


def test_backstops_fill_cheapest_discount_first_within_their_position_limit():
    g = governed(unwind_slice_contracts=0)
    assert register(g, "lp", 75, 30).ok
    assert register(g, "lp2", 50, 50).ok
    start = fund_inherits(g)
    at(g, start + MINUTE)  # 75 bps: both qualify, lp2 (50) first
    assert [(e.backstop, e.size) for e in sold(g.driver)] == [("lp2", 50), ("lp", 30)]
    assert g.driver.size(FUND) == 20


def test_a_backstop_without_the_margin_for_its_share_takes_nothing():
    g = governed()
    g.driver.deposit("poor", 100_000)  # 40 x 46,765 x 10% initial margin is 187,060
    assert register(g, "poor", 0, 1_000).ok
    start = fund_inherits(g)
    at(g, start + 1_000)
    assert sold(g.driver) == [] and g.driver.size("poor") == 0


def test_the_auction_waits_while_the_market_is_stale():
    g = governed()
    assert register(g, "lp", 0, 1_000).ok
    start = fund_inherits(g)
    g.driver.run(time_ms=start + 31 * MINUTE)  # no price for longer than stale_after: STALE
    g.driver.run(time_ms=start + 31 * MINUTE + 1_000)
    assert sold(g.driver) == []
    assert g.driver.size(FUND) == 100  # past the deadline too: no ADL at a mark nobody vouches for


def test_what_is_left_at_the_deadline_is_deleveraged_against_the_most_profitable_opposite_position():
    g = governed()
    assert register(g, "lp", 0, 40).ok
    start = fund_inherits(g)
    for minute in range(1, 10):
        at(g, start + minute * MINUTE)
    assert g.driver.size(FUND) == 60 and g.driver.size("lp") == 40
    at(g, start + 10 * MINUTE)
    assert FundDeadlineDeleveraged(MARKET, 60, 47_000) in g.driver.events
    assert Deleveraged("bob", FUND, MARKET, -60, 47_000) in g.driver.events  # bob's short, in profit
    assert g.driver.size(FUND) == 0 and g.driver.size("bob") == -40
    assert FundAuctionEnded(MARKET) in g.driver.events


def test_the_funds_loss_shows_in_its_equity_while_it_holds():
    g = governed()
    start = fund_inherits(g)
    at(g, start + 1_000, price=45_000)
    assert g.driver.collateral(FUND) == 47_000  # the liquidation fee: cash alone looks healthy
    assert fund_equity(g.driver.state, FUND) == 47_000 - 100 * 2_000
    assert g.driver.state.global_mode == GlobalMode.REDUCE_ONLY


def test_a_funds_profit_at_a_halted_mark_counts_for_nothing():
    g = governed()
    start = fund_inherits(g)
    at(g, start + 1_000, price=49_000)
    assert fund_equity(g.driver.state, FUND) == 47_000 + 100 * 2_000
    assert g.act(g.payload(ActionKind.HALT_MARKET, market=MARKET), "node-1", "node-2").ok
    assert fund_equity(g.driver.state, FUND) == 47_000  # its cash: the halted mark's profit is not money


# -- fills from the matching engine --------------------------------------------------------------


def test_a_fill_reducing_the_funds_position_within_the_band_is_accepted():
    g = governed()
    fund_inherits(g)
    result = g.driver.trade("alice", FUND, 46_800, 30, buyer_fee=10)
    assert result.code == ResultCode.OK
    assert (g.driver.size(FUND), g.driver.size("alice")) == (70, 30)
    assert g.driver.collateral("alice") == 10_000_000 - 10


@pytest.mark.parametrize("buyer, seller, quantity, price, code", [
    (FUND, "alice", 10, 47_000, ResultCode.FUND_FILL_NOT_REDUCING),  # the fund buys more
    ("alice", FUND, 110, 47_000, ResultCode.FUND_FILL_NOT_REDUCING),  # it would flip short
    ("alice", FUND, 10, 60_000, ResultCode.PRICE_OUTSIDE_BAND),
    ("alice", INSURANCE_FUND, 10, 47_000, ResultCode.INVALID_ACCOUNT),  # the global fund holds nothing to sell
    ("alice", "sys:fund:ETH-PERP", 10, 47_000, ResultCode.INVALID_ACCOUNT),
    ("ghost", FUND, 10, 47_000, ResultCode.UNKNOWN_ACCOUNT),
])
def test_a_fill_with_the_fund_on_one_side_is_refused_unless_it_reduces_within_the_band(buyer, seller, quantity, price, code):
    g = governed()
    fund_inherits(g)
    assert g.driver.trade(buyer, seller, price, quantity).code == code
    assert g.driver.size(FUND) == 100


def test_the_fund_pays_no_trading_fee():
    g = governed()
    fund_inherits(g)
    assert g.driver.trade("alice", FUND, 47_000, 10, seller_fee=1).code == ResultCode.INVALID_FEE


def test_a_flat_fund_cannot_trade():
    g = governed()
    assert g.driver.trade("alice", FUND, 50_000, 1).code == ResultCode.FUND_FILL_NOT_REDUCING


# -- registering backstops ------------------------------------------------------------------------


def test_registering_and_removing_a_backstop_need_guardians():
    g = governed()
    assert register(g, "lp", 100, 50, "node-1", "node-2").code == ResultCode.WRONG_ROLE
    assert register(g, "lp", 100, 50, "guardian-1").code == ResultCode.BELOW_THRESHOLD
    assert register(g, "lp", 100, 50).ok
    assert g.driver.state.governance["backstop/BTC-PERP/lp"] == {"discount_bps": 100, "position_max": 50}
    assert g.driver.state.backstops == {MARKET: {"lp": {"discount_bps": 100, "position_max": 50}}}
    unregister = g.payload(ActionKind.UNREGISTER_BACKSTOP, market=MARKET, account="lp")
    # Issue 18: node keys count towards halts only (unregistering used to be halt class).
    assert g.act(unregister, "node-1", "node-2").code == ResultCode.WRONG_ROLE
    assert g.act(unregister, "guardian-1", "guardian-2").ok
    assert g.driver.state.backstops == {MARKET: {}}


@pytest.mark.parametrize("fields, code", [
    ({"account": "sys:fund:BTC-PERP"}, ResultCode.INVALID_ACTION),
    ({"discount_bps": 5_001}, ResultCode.INVALID_ACTION),
    ({"discount_bps": -1}, ResultCode.INVALID_ACTION),
    ({"position_max": 0}, ResultCode.INVALID_ACTION),
    ({"account": "nobody"}, ResultCode.INVALID_ACTION),  # no such account
    ({"market": "ETH-PERP"}, ResultCode.UNKNOWN_MARKET),
])
def test_a_malformed_registration_is_refused(fields, code):
    g = governed()
    payload = {"market": MARKET, "account": "lp", "discount_bps": 100, "position_max": 50, **fields}
    assert g.act(g.payload(ActionKind.REGISTER_BACKSTOP, **payload), "guardian-1", "guardian-2").code == code
    assert g.driver.state.backstops == {}


def test_unregistering_an_account_that_is_no_backstop_is_refused():
    g = governed()
    payload = g.payload(ActionKind.UNREGISTER_BACKSTOP, market=MARKET, account="lp")
    assert g.act(payload, "guardian-1", "guardian-2").code == ResultCode.INVALID_ACTION


# -- listing parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("params", [
    {"unwind_start_bps": -1},
    {"unwind_start_bps": 400, "unwind_discount_max_bps": 300},
    {"unwind_discount_max_bps": 5_001},
    {"unwind_slope_bps_per_minute": 5_001},
    {"unwind_slice_contracts": -1},
    {"unwind_slice_contracts": 3, "lot_size": 2},
    {"unwind_window_ms": 0},
    {"unwind_deadline_ms": 0},
    {"unwind_deadline_ms": 30 * 86_400_000 + 1},
    {"unwind_deadline_ms": 2**63},
])
def test_bad_unwind_parameters_refuse_the_listing(params):
    driver = LedgerDriver()
    assert driver.one(create_market(**params)).code == ResultCode.INVALID_MARKET_PARAMS
    assert MARKET not in driver.state.markets


# -- the store -------------------------------------------------------------------------------------


def test_the_auction_and_the_backstops_survive_a_reload_with_the_same_hash():
    g = governed()
    assert register(g, "lp", 100, 1_000).ok
    start = fund_inherits(g)
    at(g, start + 2 * MINUTE)
    state = g.driver.state
    reloaded = state_from_records(state.records(), state.applied_index)
    check_full(reloaded)
    assert reloaded.state_hash == state.state_hash
    assert reloaded.fund_unwinds == state.fund_unwinds
    assert reloaded.backstops == state.backstops
    assert (reloaded.unwinding, reloaded.fund_positions) == (state.unwinding, state.fund_positions)


def test_a_funds_equity_counts_the_funding_its_position_owes_before_it_settles():
    g = governed(funding_interval_ms=MINUTE, funding_rate_cap_bps=1_000, unwind_deadline_ms=3_600_000)
    fund_inherits(g)  # the fund is long 100: longs pay while trades print above the mark
    assert g.driver.trade("alice", "bob", 47_470, 1).ok  # 1% over the mark of 47,000
    at(g, (g.driver.time_ms // MINUTE + 1) * MINUTE + 1_000)  # past a boundary: the index rolls
    position, funding = g.driver.state.position(FUND, MARKET), g.driver.state.funding[MARKET]
    due = owed(position, funding.index)
    assert due > 0 and position.funding_index != funding.index  # owed, not settled: no record written
    cash, mark = g.driver.state.accounts[FUND].collateral, g.driver.state.markets[MARKET].mark_price
    assert fund_equity(g.driver.state, FUND) == cash + position.size * mark - position.cost_basis - due
