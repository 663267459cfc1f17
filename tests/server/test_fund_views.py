"""GetGuards, the metrics and the node's co-signing judge a fund by its equity at the mark and show
what it holds (issue 17: a fund read healthy on its cash while its inherited position had lost far
more)."""

from __future__ import annotations

from node.ledger.state import INSURANCE_FUND, market_fund
from node.metrics.collector import ledger_families, ledger_gauges
from node.server.cosign_policy import _global_halt
from node.server.views import guards_view, market_view

from tests.ledger.driver import MARKET
from tests.ledger.test_global_mode import fund_holding_a_loss

FUND = market_fund(MARKET)


def test_get_guards_shows_each_funds_cash_equity_positions_and_auction():
    driver = fund_holding_a_loss()
    guards = guards_view(driver.state)
    assert guards.funds_equity == 47_000 - 250_000 and guards.insurance_fund_floor == 0
    funds = {f.account: f for f in guards.funds}
    assert [f.account for f in guards.funds] == [INSURANCE_FUND, FUND]
    fund = funds[FUND]
    assert (fund.market, fund.cash, fund.equity) == (MARKET, 47_000, 47_000 - 250_000)
    assert [(p.market, p.size, p.cost_basis) for p in fund.positions] == [(MARKET, 100, 4_700_000)]
    assert fund.auction_started_ms and fund.auction_deadline_ms == fund.auction_started_ms + 86_400_000
    assert (funds[INSURANCE_FUND].cash, funds[INSURANCE_FUND].equity, list(funds[INSURANCE_FUND].positions)) == (0, 0, [])


def test_get_market_shows_the_unwind_parameters():
    driver = fund_holding_a_loss()
    params = market_view(MARKET)(driver.state).params
    assert (params.unwind_start_bps, params.unwind_discount_max_bps, params.unwind_deadline_ms) == (50, 1_000, 86_400_000)


def test_the_metrics_export_each_funds_equity_and_position():
    driver = fund_holding_a_loss()
    gauges = ledger_gauges(driver.state)
    assert gauges.funds_equity == -203_000 and gauges.funds_total == 47_000
    (market,) = gauges.markets
    assert (market.fund, market.fund_equity, market.fund_position, market.fund_auction) == (47_000, -203_000, 100, 1)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for family in ledger_families(gauges) for s in family.samples}
    assert samples[("settle_insurance_funds_equity", ())] == -203_000
    assert samples[("settle_market_insurance_fund_equity", (("market", MARKET),))] == -203_000
    assert samples[("settle_market_insurance_fund_position", (("market", MARKET),))] == 100


def test_a_node_co_signs_a_global_halt_when_the_funds_equity_is_below_the_floor():
    driver = fund_holding_a_loss()
    verdict = _global_halt(driver.state)
    assert verdict.agrees and "equity (-203000)" in verdict.reason
