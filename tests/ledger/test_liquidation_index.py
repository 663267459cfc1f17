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


def index_contents(index: LiquidationIndex) -> dict:
    return {
        "longs": {m: list(e) for m, e in index.longs.items() if e},
        "shorts": {m: list(e) for m, e in index.shorts.items() if e},
        "single": dict(index.single),
        "multi": {m: sorted(a) for m, a in index.multi.items() if a},
        "multi_markets": dict(index.multi_markets),
    }


def longs_and_shorts_in_two_markets(count: int) -> LedgerDriver:
    """`count` longs and as many shorts of BTC with collateral in no particular order, and a few
    of them holding ETH too."""
    driver = many_longs(0)
    driver.one(create_market(market="ETH-PERP", sources=(oracle_source("src-a"),), stale_after_ms=10**9))
    driver.price(3_000, market="ETH-PERP")
    for i in range(count):
        long, short = f"b-{(i * 7919) % count:05d}", f"s-{(i * 104_729) % count:05d}"
        driver.deposit(long, 60_000 + 37 * ((i * 31) % 1_000))
        driver.deposit(short, 600_000 + 11 * ((i * 17) % 1_000))
        assert driver.trade(long, "maker", 50_000, 1 + i % 3).ok
        assert driver.trade("maker", short, 50_000, 1 + i % 2).ok
        if i % 50 == 0:
            assert driver.trade(long, short, 3_000, 1, market="ETH-PERP").ok
    return driver


def test_re_indexing_many_accounts_at_once_builds_the_index_one_at_a_time_would(monkeypatch):
    import node.ledger.liquidation_index as liquidation_index

    count = 120
    one_at_a_time, in_bulk = longs_and_shorts_in_two_markets(count).state, longs_and_shorts_in_two_markets(count).state
    for state in (one_at_a_time, in_bulk):  # as after a restart: every account to re-index
        state.liquidation_index = LiquidationIndex()
        state.margin_dirty = dict.fromkeys(state.accounts)
    monkeypatch.setattr(liquidation_index, "refresh_in_bulk_accounts_min", count)
    in_bulk.liquidation_index.refresh(in_bulk)
    monkeypatch.setattr(liquidation_index, "refresh_in_bulk_accounts_min", 10**9)
    one_at_a_time.liquidation_index.refresh(one_at_a_time)
    assert index_contents(in_bulk.liquidation_index) == index_contents(one_at_a_time.liquidation_index)
    assert len(in_bulk.liquidation_index.single) > count and in_bulk.liquidation_index.multi
    assert in_bulk.margin_dirty == {}


def test_re_indexing_indexed_accounts_in_bulk_replaces_their_entries(monkeypatch):
    import node.ledger.liquidation_index as liquidation_index

    count = 120
    monkeypatch.setattr(liquidation_index, "refresh_in_bulk_accounts_min", count)
    driver, reference = longs_and_shorts_in_two_markets(count), longs_and_shorts_in_two_markets(count)
    for d in (driver, reference):
        d.state.liquidation_index.refresh(d.state)  # every account indexed
    driver.state.margin_dirty = dict.fromkeys(driver.state.accounts)  # all of them again, in bulk
    driver.state.liquidation_index.refresh(driver.state)
    for d in (driver, reference):  # then a few accounts change: one at a time
        d.deposit("b-00003", 5_000)
        d.trade("s-00007", "maker", 50_000, 1)
        d.state.liquidation_index.refresh(d.state)
    assert index_contents(driver.state.liquidation_index) == index_contents(reference.state.liquidation_index)


def test_a_state_rebuilt_from_its_records_has_its_index_built_and_nothing_left_to_re_index():
    driver = many_longs(20)
    restored = state_from_records(iter(list(driver.state.records())), driver.state.applied_index)
    assert restored.margin_dirty == {}
    assert len(restored.liquidation_index.single) == 21  # the longs and the maker
