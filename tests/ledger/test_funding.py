"""Funding of perpetuals (node/ledger/funding.py): a clamped, time-weighted premium per interval,
paid through a cumulative index in O(1) per interval, settled when positions are touched,
zero-sum with every rounding remainder going to the market's fund."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from node.ledger.commands import MarketKind, SettleTrade
from node.ledger.events import FundingPaid, Liquidation
from node.ledger.funding import clamp_rate, funding_scale, premium_of
from node.ledger.margin import account_valuation
from node.ledger.results import ResultCode
from node.ledger.state import funding_pool, market_fund

from .driver import MARKET, SOURCE, LedgerDriver, create_market, signed_price

HOUR = 3_600_000
LISTED_AT = 1_001_000  # the driver's first entry


def funded(cap_bps: int = 100, alice: int = 1_000_000, **market) -> LedgerDriver:
    """BTC-PERP with hourly funding capped at `cap_bps`, a mark of 1,000, alice long 10 against
    bob at the mark (premium 0 so far)."""
    driver = LedgerDriver()
    assert driver.one(create_market(funding_interval_ms=HOUR, funding_rate_cap_bps=cap_bps, band_bps=0, **market)).ok
    driver.price(1_000)
    driver.deposit("alice", alice)
    driver.deposit("bob", 1_000_000)
    driver.deposit("carol", 1_000_000)
    assert driver.trade("alice", "bob", 1_000, 10).ok
    return driver


def funding_events(driver: LedgerDriver) -> list[FundingPaid]:
    return [e for e in driver.events if isinstance(e, FundingPaid)]


def test_the_rate_is_the_time_weighted_premium_of_traded_prices_over_the_mark():
    driver = funded()
    # carol buys 1 from bob at 1,005 (0.5% over the mark) at t1; it holds until the boundary.
    t1 = driver.time_ms + 1_000
    assert driver.run(SettleTrade("p", MARKET, "carol", "bob", 1_005, 1), time_ms=t1)[0].ok
    driver.run(time_ms=HOUR)  # the first boundary: the interval ran from the listing
    # The premium was 0 from the listing to t1 (the trade at the mark), then 5,000,000 billionths.
    expected = 5_000_000 * (HOUR - t1) // (HOUR - LISTED_AT)
    assert funding_events(driver) == [FundingPaid(MARKET, expected, 1_000, 1, expected * 1_000, HOUR)]
    assert driver.state.funding[MARKET].rate == expected


def test_the_rate_is_clamped_to_the_cap():
    driver = funded(cap_bps=10)
    assert driver.trade("carol", "bob", 1_090, 1).ok  # 9% over the mark
    driver.run(time_ms=HOUR)
    assert funding_events(driver)[0].rate == 10 * funding_scale // 10_000  # 0.1%


def test_quiet_intervals_cost_one_roll_and_keep_the_last_premium():
    driver = funded()
    assert driver.trade("carol", "bob", 990, 1).ok  # -1%: shorts pay longs
    driver.run(time_ms=10 * HOUR + 5)
    first, quiet = funding_events(driver)
    assert (quiet.rate, quiet.intervals, quiet.at_ms) == (-10_000_000, 9, 10 * HOUR)
    assert quiet.index == first.index + 9 * -10_000_000 * 1_000
    assert driver.state.funding[MARKET].next_funding_ms == 11 * HOUR


def test_payments_settle_when_touched_zero_sum_with_the_remainder_to_the_fund():
    driver = funded()
    assert driver.trade("carol", "bob", 1_003, 1).ok  # a premium of 0.3% from here on
    driver.run(time_ms=HOUR)
    rate = funding_events(driver)[0].rate
    index = rate * 1_000
    # Nothing moved at the roll: the payment is owed, and margin counts it.
    assert (driver.collateral("alice"), driver.collateral("bob")) == (1_000_000, 1_000_000)
    alice_owes = -(-10 * index // funding_scale)  # rounded up
    bob_gets = 11 * index // funding_scale  # rounded down
    carol_owes = -(-1 * index // funding_scale)
    pnl = account_valuation(driver.state, "alice")[0]
    assert pnl == 10 * 1_000 - 10_000 - alice_owes
    # Each position settles at its next touch, before its size changes.
    assert driver.trade("bob", "alice", 1_000, 10).ok  # alice closes
    assert driver.trade("bob", "carol", 1_000, 1).ok  # carol closes
    assert driver.collateral("alice") == 1_000_000 - alice_owes
    assert driver.state.position("alice", MARKET).funding_index == index
    # bob realized +3 on his short (sold 1 at 1,003, bought back at 1,000) and received funding.
    assert driver.collateral("bob") == 1_000_000 + 3 + bob_gets
    assert driver.collateral("carol") == 1_000_000 - 3 - carol_owes
    assert bob_gets < alice_owes + carol_owes  # the ledger's rounding
    # Every position is flat: the pool is empty and the fund took every rounding remainder.
    assert driver.collateral(funding_pool(MARKET)) == 0
    assert driver.collateral(market_fund(MARKET)) == alice_owes + carol_owes - bob_gets


def test_a_future_pays_no_funding_and_the_terms_are_validated():
    driver = LedgerDriver()
    for n, bad in enumerate((
        dict(funding_interval_ms=HOUR),  # no cap
        dict(funding_interval_ms=59_999, funding_rate_cap_bps=10),
        dict(funding_interval_ms=7 * 86_400_000 + 1, funding_rate_cap_bps=10),
        dict(funding_interval_ms=HOUR, funding_rate_cap_bps=1_001),
        dict(funding_rate_cap_bps=10),  # a cap without an interval
        dict(kind=MarketKind.FUTURE, expiry_ms=10**12, funding_interval_ms=HOUR, funding_rate_cap_bps=10),
    )):
        assert driver.one(create_market(id=f"c{n}", **bad)).code == ResultCode.INVALID_MARKET_PARAMS, bad


def test_unsettled_funding_can_liquidate_without_a_price_change():
    # alice: 10 long at 1,000 with 1,700 of collateral; maintenance 500 at the mark 1,000.
    driver = funded(cap_bps=1_000, alice=1_700)
    assert driver.trade("carol", "bob", 1_100, 1).ok  # +10%: the cap, 10% of the mark per hour
    # The source reports just before each boundary (a stale mark liquidates nobody; a repeated
    # price would be a clamp), the mark barely moving.
    driver.run(signed_price("p1", MARKET, SOURCE, 1_001, HOUR - 5_000), time_ms=HOUR - 5_000)
    driver.run(time_ms=HOUR)
    # She owes about 10 x 1,000 x ~10% = ~1,000 of her 1,700: equity ~700 >= 500, not yet.
    assert not [e for e in driver.events if isinstance(e, Liquidation)]
    driver.run(signed_price("p2", MARKET, SOURCE, 1_000, 2 * HOUR - 5_000), time_ms=2 * HOUR - 5_000)
    driver.run(time_ms=2 * HOUR)  # another ~1,000 owed: equity below maintenance, at the roll
    # Insolvent by ~300 at the roll: closed at once (here by ADL at her bankruptcy price, the
    # funds being empty), her funding settled first, then the pool and the fund balance exactly.
    slices = [e for e in driver.events if isinstance(e, Liquidation) and e.account == "alice"]
    assert len(slices) == 1 and driver.size("alice") == 0
    assert driver.state.position("alice", MARKET).funding_index == driver.state.funding[MARKET].index


def test_withdrawals_count_what_is_owed_but_not_what_is_owed_to_you():
    driver = funded(stale_after_ms=10 * HOUR)  # the mark stays valid: withdrawals need one
    assert driver.trade("carol", "bob", 1_010, 1).ok
    driver.run(time_ms=HOUR)
    index = driver.state.funding[MARKET].index
    alice_owes = -(-10 * index // funding_scale)
    assert account_valuation(driver.state, "alice")[1] == -alice_owes  # a loss, at once
    bob_pnl, bob_loss, _, _ = account_valuation(driver.state, "bob")
    # bob is owed funding: it is equity (margin), but not withdrawable until settled.
    assert bob_loss == 0 and bob_pnl > 10  # +10 at the mark on the short, plus the funding owed to him
    initial = account_valuation(driver.state, "alice")[2]
    assert driver.withdraw("alice", 1_000_000 - alice_owes - initial + 1).code == ResultCode.INSUFFICIENT_COLLATERAL
    assert driver.withdraw("alice", 1_000_000 - alice_owes - initial).ok


# -- the fixed-point arithmetic against a floating-point reference, outside the ledger ------------


@settings(max_examples=300, deadline=None)
@given(
    samples=st.lists(st.tuples(st.integers(1, 600_000), st.integers(-2_000, 2_000)), min_size=1, max_size=12),
    mark=st.integers(1, 10**9),
    cap_bps=st.integers(1, 1_000),
)
def test_the_fixed_point_rate_matches_a_floating_point_reference(samples, mark, cap_bps):
    """premium_of and clamp_rate over a time-weighted average, as funding.py combines them, agree
    with a float computation to within the stated precision: each premium is floored to 1e-9 and
    the average floored again, so the rate is at most 2e-9 below the exact one."""
    interval = sum(ms for ms, _ in samples)
    area = 0
    reference = 0.0
    for ms, offset_bps in samples:
        price = max(1, mark + mark * offset_bps // 10_000)
        area += premium_of(price, mark) * ms
        reference += (price - mark) / mark * ms
    rate = clamp_rate(area // interval, cap_bps)
    cap = cap_bps / 10_000
    expected = min(max(reference / interval, -cap), cap)
    assert abs(rate / funding_scale - expected) <= 2e-9 + 1e-12 * abs(expected)
    exact = Fraction(area, interval)
    assert rate <= max(min(exact, Fraction(cap_bps * funding_scale, 10_000)), Fraction(-cap_bps * funding_scale, 10_000))


def test_a_state_rebuilt_from_its_records_keeps_the_funding_exact():
    from node.ledger.invariants import check_every_record
    from node.ledger.state import state_from_records

    driver = funded()
    assert driver.trade("carol", "bob", 1_003, 1).ok
    driver.run(time_ms=HOUR)
    assert driver.trade("bob", "alice", 1_000, 4).ok  # alice settles, bob and carol do not
    rebuilt = state_from_records(driver.state.records(), driver.state.applied_index)
    check_every_record(rebuilt)
    assert rebuilt.state_hash == driver.state.state_hash
    assert rebuilt.funding_weight == driver.state.funding_weight
    assert rebuilt.next_funding_ms == 2 * HOUR
    assert rebuilt.funding[MARKET] == driver.state.funding[MARKET]


def test_a_roll_writes_no_account_however_many_hold_the_market():
    from node.ledger.commands import Deposit

    driver = funded()
    driver.run(*[Deposit(f"d{n}", f"t{n}", 100_000) for n in range(200)])
    results = driver.run(*[SettleTrade(f"f{n}", MARKET, f"t{n}", "bob", 1_000, 1) for n in range(200)])
    assert all(r.ok for r in results)
    assert driver.trade("carol", "bob", 1_004, 1).ok
    driver.run(time_ms=5 * HOUR)  # four intervals and more, in one entry
    from node.ledger import records as r

    written = {table for table, _ in driver.state.touched}
    assert r.TABLE_ACCOUNT not in written and r.TABLE_POSITION not in written
    assert (r.TABLE_FUNDING, MARKET) in driver.state.touched
    assert [e.intervals for e in funding_events(driver)] == [1, 4]
