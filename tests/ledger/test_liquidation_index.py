"""The liquidation index: a sweep looks only at accounts a mark may have pushed below maintenance."""

from hypothesis import given, settings
from hypothesis import strategies as st

from node.ledger.liquidation_index import LiquidationIndex, _trigger
from node.ledger.state import state_from_records

from .driver import MARKET, LedgerDriver, create_market, oracle_source


def below_maintenance(collateral: int, size: int, cost_basis: int, maintenance_bps: int, mark: int) -> bool:
    """The exact rule, written out: equity below the maintenance margin rounded up."""
    maintenance = -(-abs(size) * mark * maintenance_bps // 10_000)
    return collateral + size * mark - cost_basis < maintenance


@settings(max_examples=2_000, deadline=None)
@given(
    collateral=st.integers(0, 10**12),
    size=st.integers(-10**6, 10**6).filter(bool),
    entry_price=st.integers(1, 10**7),
    maintenance_bps=st.integers(1, 10_000),
    mark=st.integers(1, 10**8),
)
def test_every_account_below_maintenance_is_a_candidate(collateral, size, entry_price, maintenance_bps, mark):
    cost_basis = size * entry_price
    if not below_maintenance(collateral, size, cost_basis, maintenance_bps, mark):
        return
    trigger = _trigger(collateral, size, cost_basis, maintenance_bps)
    assert trigger is not None
    assert (mark < trigger) if size > 0 else (mark > trigger)


def many_longs(count: int) -> LedgerDriver:
    """`count` longs of 10 contracts at 50,000 with collateral rising by 1,000 each."""
    driver = LedgerDriver()
    driver.one(create_market(open_interest_cap=10**9, stale_after_ms=10**9))  # no prices while it fills
    driver.price(50_000)
    driver.deposit("maker", 10**12)
    for i in range(count):
        name = f"long-{i:04d}"
        driver.deposit(name, 60_000 + 1_000 * i)
        assert driver.trade(name, "maker", 50_000, 10).ok
    return driver


def test_a_mark_above_every_trigger_names_no_candidate():
    driver = many_longs(200)
    index = driver.state.liquidation_index
    assert index.candidates(driver.state, MARKET, 50_000) == []
    assert len(index.single) == 201  # 200 longs and the maker


def test_a_falling_mark_names_only_the_accounts_whose_trigger_it_crossed():
    driver = many_longs(200)
    index = driver.state.liquidation_index
    # long-i is below maintenance when 60,000 + 1,000 i + 10 (p - 50,000) < 0.05 x 10 p, that is
    # at 46,000 when i < 3; long-0003 sits exactly at maintenance and is named too, because the
    # trigger rounds outward (the sweep then confirms each candidate exactly).
    candidates = index.candidates(driver.state, MARKET, 46_000)
    assert candidates == ["long-0000", "long-0001", "long-0002", "long-0003"]
    driver.price(46_000)
    assert [a for a in candidates if driver.size(a) < 10] == ["long-0000", "long-0001", "long-0002"]


def test_a_trade_re_indexes_the_account():
    driver = many_longs(3)
    driver.deposit("long-0000", 1_000_000)
    assert driver.state.liquidation_index.candidates(driver.state, MARKET, 46_000) == ["long-0001", "long-0002"]


def test_an_account_in_two_markets_is_a_candidate_on_every_sweep_of_either():
    driver = many_longs(1)
    driver.one(create_market(market="ETH-PERP", sources=(oracle_source("src-a"),)))
    driver.price(3_000, market="ETH-PERP")
    driver.trade("maker", "long-0000", 3_000, 1, market="ETH-PERP")
    index = driver.state.liquidation_index
    assert "long-0000" in index.candidates(driver.state, MARKET, 60_000)
    assert "long-0000" in index.candidates(driver.state, "ETH-PERP", 1)


def test_the_index_rebuilt_from_stored_records_names_the_same_candidates():
    driver = many_longs(50)
    restored = state_from_records(iter(list(driver.state.records())), driver.state.applied_index)
    assert isinstance(restored.liquidation_index, LiquidationIndex)
    for mark in (40_000, 46_000, 47_000, 50_000):
        assert restored.liquidation_index.candidates(restored, MARKET, mark) == \
            driver.state.liquidation_index.candidates(driver.state, MARKET, mark)
