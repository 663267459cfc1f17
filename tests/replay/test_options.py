"""Replay with options (docs/design.md#options): an OPTION market and positions in it from the
scenario TOML reach the ledger, the opening trades are priced at the model premium, a bad option
entry is refused with a message naming the field, and the shipped short strangle runs to the end
with conservation and zero net position per market."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.replay.plot import build_figure
from cluster.replay.prices import load_prices
from cluster.replay.report import format_summary, summary
from cluster.replay.run import Run, replay
from cluster.replay.scenario import ScenarioError, load_scenario
from node.ledger.commands import MarketKind, OptionType
from node.ledger.option_pricing import option_price

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
T0 = 1_600_000_000_000

PERP = """
[[markets]]
market = "BTC-PERP"
sources = ["a", "b"]
min_sources = 2
tick_size = 1_000_000
lot_size = 1
initial_margin_bps = 1_000
maintenance_margin_bps = 500
liquidation_fee_bps = 100
open_interest_cap = 1_000_000
trade_band_bps = 100_000
band_bps = 5_000
band_window_ms = 60_000
cooldown_ms = 60_000
"""

CALL = """
[[markets]]
market = "BTC-C-11000"
kind = "OPTION"
underlying = "BTC-PERP"
option_type = "CALL"
strike_price = 11_000_000_000
expires_after_ms = 2_592_000_000
implied_volatility_ppm_steps = [[0, 600_000], [20_000, 900_000]]
sources = ["iv-a", "iv-b"]
min_sources = 2
tick_size = 10_000
lot_size = 1
initial_margin_bps = 1_000
maintenance_margin_bps = 500
liquidation_fee_bps = 100
open_interest_cap = 10_000
trade_band_bps = 100_000
band_bps = 10_000
band_window_ms = 60_000
cooldown_ms = 60_000
"""

REST = """
[[accounts]]
id = "buyer"
deposit = 10_000_000_000_000
[[accounts]]
id = "writer"
deposit = 1_000_000_000_000

[[positions]]
buyer = "buyer"
seller = "writer"
market = "BTC-C-11000"
quantity = 10
"""

PRICES = "time,market,source,price\n" + "".join(
    f"{T0 + 10_000 * step},BTC-PERP,{source},{10_000_000_000 + 100_000_000 * step}\n" for step in range(4) for source in "ab")


def scenario_file(tmp_path: Path, call: str = CALL, rest: str = REST, perp: str = PERP) -> Path:
    path = tmp_path / "options.toml"
    path.write_text('title = "options"\n' + perp + call + rest)
    return path


def replayed_small(tmp_path: Path) -> Run:
    scenario = load_scenario(scenario_file(tmp_path))
    prices = tmp_path / "options.csv"
    prices.write_text(PRICES)
    return replay(scenario, load_prices(prices, scenario))


def refusal(tmp_path: Path, call: str, perp: str = PERP) -> str:
    with pytest.raises(ScenarioError) as error:
        load_scenario(scenario_file(tmp_path, call=call, perp=perp))
    return str(error.value)


# -- the option market and its positions reach the ledger ----------------------------------------


def test_an_option_market_from_the_toml_is_listed_with_its_terms_and_expiry_after_the_series_start(tmp_path):
    run = replayed_small(tmp_path)
    option = run.state.markets["BTC-C-11000"]
    assert (option.kind, option.underlying, option.option_type) == (MarketKind.OPTION, "BTC-PERP", OptionType.CALL)
    assert option.strike_price == 11_000_000_000
    assert option.expiry_ms == T0 + 2_592_000_000


def test_an_option_position_from_the_toml_reaches_the_ledger(tmp_path):
    run = replayed_small(tmp_path)
    assert run.state.position("buyer", "BTC-C-11000").size == 10
    assert run.state.position("writer", "BTC-C-11000").size == -10
    assert "writer" in run.option_accounts and "buyer" in run.option_accounts


def test_the_implied_volatility_steps_are_signed_by_every_source_at_each_step(tmp_path):
    run = replayed_small(tmp_path)
    assert run.volatility_prints == 4 * 2  # four times with BTC-PERP rows, two sources
    assert run.stats["BTC-C-11000"].updates_accepted == 8
    assert run.state.markets["BTC-C-11000"].mark_volatility_ppm == 900_000  # the step from 20 s on


def test_the_opening_trade_is_at_the_model_premium_rounded_down_to_the_tick(tmp_path):
    run = replayed_small(tmp_path)
    (time_ms, trade), = [(t, c) for t, c in run.trades if c.market == "BTC-C-11000"]
    assert time_ms == T0  # the first volatility print's entry
    premium = option_price(OptionType.CALL, 10_000_000_000, 11_000_000_000, 600_000, 2_592_000_000)
    assert trade.price == premium // 10_000 * 10_000 > 0


def test_the_report_shows_the_option_accounts_and_premiums(tmp_path):
    run = replayed_small(tmp_path)
    options = summary(run)["options"]
    assert options["markets"]["BTC-C-11000"]["premium_end"] == run.state.markets["BTC-C-11000"].mark_price
    writer = options["accounts"]["writer"]
    assert writer["initial_end"] > writer["maintenance_end"] > 0
    assert "option accounts: margin equity (collateral + linear pnl) against the scenario portfolio margin" in format_summary(run)


def test_the_plot_adds_an_option_accounts_panel_of_the_margined_holders(tmp_path):
    figure = build_figure(replayed_small(tmp_path))
    panel = next(ax for ax in figure.axes if ax.get_label() == "option accounts")
    labels = {line.get_label() for line in panel.get_lines()}
    assert {"writer equity", "writer initial", "writer maintenance", "writer value at the marks"} <= labels
    assert not any(label.startswith("buyer ") for label in labels)  # a long option needs no margin


def test_a_scenario_without_options_has_no_option_panel_or_summary():
    scenario = load_scenario(SCENARIOS / "march-2020.toml")
    run = replay(scenario, load_prices(SCENARIOS / "march-2020.csv", scenario), full_check=False)
    assert "options" not in summary(run) and "option accounts" not in format_summary(run)
    assert "option accounts" not in [ax.get_label() for ax in build_figure(run).axes]


# -- a bad option entry is refused with a clear message -------------------------------------------


def test_an_unknown_underlying_is_refused(tmp_path):
    message = refusal(tmp_path, CALL.replace('underlying = "BTC-PERP"', 'underlying = "ETH-PERP"'))
    assert "[[markets]] #2 (BTC-C-11000), field 'underlying': no market ETH-PERP listed before this option" in message


def test_a_missing_underlying_is_refused(tmp_path):
    message = refusal(tmp_path, CALL.replace('underlying = "BTC-PERP"\n', ""))
    assert "[[markets]] #2 (BTC-C-11000): missing field 'underlying'" in message


def test_an_option_on_an_option_is_refused(tmp_path):
    second = CALL.replace('market = "BTC-C-11000"', 'market = "BTC-C-X"').replace('underlying = "BTC-PERP"', 'underlying = "BTC-C-11000"')
    message = refusal(tmp_path, CALL + second)
    assert "field 'underlying': the underlying BTC-C-11000 is OPTION: it must be a PERPETUAL or FUTURE" in message


def test_a_missing_strike_is_refused(tmp_path):
    message = refusal(tmp_path, CALL.replace("strike_price = 11_000_000_000\n", ""))
    assert "[[markets]] #2 (BTC-C-11000): missing field 'strike_price'" in message


def test_a_strike_off_the_underlyings_tick_is_refused(tmp_path):
    message = refusal(tmp_path, CALL.replace("strike_price = 11_000_000_000", "strike_price = 11_000_000_001"))
    assert "field 'strike_price': must be a positive multiple of BTC-PERP's tick 1000000" in message


def test_a_missing_option_type_is_refused(tmp_path):
    message = refusal(tmp_path, CALL.replace('option_type = "CALL"\n', ""))
    assert "missing field 'option_type' (\"CALL\" or \"PUT\")" in message


def test_an_expiry_must_be_relative_to_the_series(tmp_path):
    message = refusal(tmp_path, CALL.replace("expires_after_ms = 2_592_000_000", "expiry_ms = 1_602_592_000_000"))
    assert "field 'expiry_ms': an option's expiry is relative to the series: give 'expires_after_ms' instead" in message


def test_a_missing_volatility_is_refused(tmp_path):
    message = refusal(tmp_path, CALL.replace("implied_volatility_ppm_steps = [[0, 600_000], [20_000, 900_000]]\n", ""))
    assert "give exactly one of 'implied_volatility_ppm'" in message


def test_volatility_steps_must_start_at_the_series_start(tmp_path):
    message = refusal(tmp_path, CALL.replace("[[0, 600_000], [20_000", "[[5_000, 600_000], [20_000"))
    assert "field 'implied_volatility_ppm_steps': the first step must be at 0" in message


def test_option_fields_on_a_perpetual_are_refused(tmp_path):
    message = refusal(tmp_path, CALL, perp=PERP.replace("cooldown_ms = 60_000", "cooldown_ms = 60_000\nimplied_volatility_ppm = 600_000"))
    assert "[[markets]] #1 (BTC-PERP), field 'implied_volatility_ppm': only an OPTION market takes 'implied_volatility_ppm'" in message


# -- the shipped short strangle -------------------------------------------------------------------


@pytest.fixture(scope="module")
def strangle() -> Run:
    scenario = load_scenario(SCENARIOS / "short-strangle-march-2020.toml")
    return replay(scenario, load_prices(SCENARIOS / "march-2020.csv", scenario))  # with the full check


def test_the_strangle_runs_to_the_end_with_the_full_check(strangle):
    assert strangle.full_check is not None and strangle.full_check.entries_checked == strangle.state.applied_index
    assert strangle.state.ledger_time_ms == max(row.time_ms for row in strangle.rows)


def test_the_strangle_conserves_money(strangle):
    scenario = strangle.scenario
    deposited = scenario.insurance + sum(a for _, a in scenario.market_funds) + sum(a for _, a in scenario.accounts)
    deposited += sum(e.command.amount for e in scenario.events if type(e.command).__name__ == "Deposit")
    withdrawn = sum(e.command.amount for e in scenario.events if type(e.command).__name__ == "Withdraw")
    # Open positions' cost basis is pnl in flight between the accounts of a market (invariants.py).
    cost_basis = sum(p.cost_basis for held in strangle.state.positions.values() for p in held.values())
    held = sum(account.collateral for account in strangle.state.accounts.values()) - cost_basis
    assert held == deposited - withdrawn


def test_the_strangle_has_zero_net_position_per_market(strangle):
    for market in strangle.scenario.markets:
        sizes = [held[market.market].size for held in strangle.state.positions.values() if market.market in held]
        assert sum(sizes) == 0, market.market


def test_the_strangle_liquidates_the_covered_call_after_its_perpetual_slices(strangle):
    slices = [(t, e.market) for t, e in strangle.liquidations if e.account == "hedger"]
    assert slices[-2:] == [(slices[-1][0], "BTC-7D-C-12000"), (slices[-1][0], "BTC-PERP")]
    assert strangle.state.position("hedger", "BTC-7D-C-12000").size == 0


def test_the_strangle_is_liquidated_put_first_as_the_put_goes_into_the_money(strangle):
    liquidated = [e for _, e in strangle.liquidations if e.account == "strangler"]
    assert liquidated and liquidated[0].market == "BTC-7D-P-8000"
    assert strangle.state.position("strangler", "BTC-7D-P-8000").size == 0


def test_an_option_account_worth_less_than_nothing_at_the_marks_is_below_maintenance(strangle):
    for _, equity, _, maintenance, value in strangle.option_accounts["strangler"]:
        assert value >= 0 or equity < maintenance
