"""Options on the wire: CreateMarket's underlying (80) round-trips the codec; GetMarket shows an
option's mark volatility, mark premium and greeks; GetAccount its risk per underlying; `settle`
prints them (docs/design.md#options)."""

from __future__ import annotations

from node.cli.render import account_text, market_text
from node.codec.commands import command_from_proto, command_to_proto
from node.ledger.option_margin import option_greeks
from node.ledger.portfolio_margin import SCENARIO_NAMES
from node.server.views import account_view, market_view
from tests.ledger.driver import MARKET, LedgerDriver
from tests.ledger.options_fixture import CALL, VOLATILITY_PPM, listed_option, option_market, tick_price


def test_an_option_listing_round_trips_the_codec():
    listing = option_market(LedgerDriver())
    assert command_from_proto(command_to_proto(listing)) == listing


def test_get_market_shows_the_mark_volatility_premium_and_greeks():
    driver = listed_option()
    market = market_view(CALL)(driver.state)
    option = driver.state.markets[CALL]
    assert (market.params.underlying, market.mark_volatility_ppm, market.mark_price) == (MARKET, VOLATILITY_PPM, option.mark_price)
    greeks = option_greeks(driver.state, CALL)
    assert (market.greeks.delta, market.greeks.gamma, market.greeks.vega) == (greeks.delta, greeks.gamma, greeks.vega)
    assert 0 < market.greeks.delta < 10**9


def test_get_account_shows_the_risk_per_underlying_and_the_scenario_that_sets_it():
    driver = listed_option()
    driver.trade("alice", "bob", tick_price(driver.state.markets[CALL].mark_price), 2, market=CALL)
    (risk,) = account_view("bob")(driver.state).option_risk
    assert risk.underlying == MARKET and risk.worst_scenario in SCENARIO_NAMES
    assert risk.initial_margin > risk.maintenance_margin > 0
    assert risk.greeks.delta < 0 and risk.net_option_value < 0
    assert not account_view("carol")(driver.state) and not account_view("alice")(driver.state).option_risk[0].initial_margin


def test_settle_prints_an_options_volatility_and_an_accounts_option_risk():
    driver = listed_option()
    driver.trade("alice", "bob", tick_price(driver.state.markets[CALL].mark_price), 1, market=CALL)
    market = market_text(market_view(CALL)(driver.state))
    assert "European cash-settled call on BTC-PERP" in market and "800,000 ppm" in market
    account = account_text(account_view("bob")(driver.state))
    assert "options by underlying" in account and "BTC-PERP" in account



def test_the_metrics_export_per_underlying_option_totals_without_account_labels():
    from node.metrics.collector import ledger_families, ledger_gauges

    driver = listed_option()
    driver.trade("alice", "bob", tick_price(driver.state.markets[CALL].mark_price), 3, market=CALL)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in ledger_families(ledger_gauges(driver.state)) for s in family.samples}
    one_contract = option_greeks(driver.state, CALL)
    assert samples[("settle_option_holders", (("underlying", MARKET),))] == 2
    assert samples[("settle_option_open_interest_delta", (("underlying", MARKET),))] == 3 * one_contract.delta
    assert all(labels == (("underlying", MARKET),) for name, labels in samples if name.startswith("settle_option"))
