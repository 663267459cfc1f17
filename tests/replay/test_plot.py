"""The replay's plot, read from matplotlib's objects (never pixels): a UTC date axis, legends off
the data, status spans visible on a long series, and the funds' equity and positions."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import matplotlib.dates
import pytest

from cluster.replay.plot import build_figure, status_span_min_fraction
from cluster.replay.prices import load_prices
from cluster.replay.run import Run, replay
from cluster.replay.scenario import load_scenario
from node.ledger.records import MarketStatus

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def replayed(name: str) -> Run:
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    return replay(scenario, load_prices(SCENARIOS / f"{name}.csv", scenario), full_check=False)


@pytest.fixture(scope="module")
def march() -> Run:
    return replayed("march-2020")


@pytest.fixture(scope="module")
def thirteen_years() -> Run:
    return replayed("fund-unwind-long")


def axis(figure, label: str):
    return next(ax for ax in figure.axes if ax.get_label() == label)


def test_the_time_axis_is_utc_dates(march):
    figure = build_figure(march)
    bottom = axis(figure, "fund positions")
    formatter = bottom.xaxis.get_major_formatter()
    assert isinstance(formatter, matplotlib.dates.ConciseDateFormatter)
    figure.canvas.draw()
    assert "08:00" in [tick.get_text() for tick in bottom.get_xticklabels()]  # t0, 08:00:00 UTC
    start, end = (matplotlib.dates.num2date(x, tz=timezone.utc) for x in bottom.get_xlim())
    assert start <= datetime(2020, 3, 12, 8, 0, tzinfo=timezone.utc) and end >= datetime(2020, 3, 12, 8, 30, tzinfo=timezone.utc)
    assert "UTC" in bottom.get_xlabel()


def test_every_panel_shares_the_date_axis(march):
    figure = build_figure(march)
    bottom = axis(figure, "fund positions")
    assert all(ax.get_shared_x_axes().joined(ax, bottom) for ax in figure.axes)


def test_every_legend_sits_right_of_its_panel(march):
    figure = build_figure(march)
    figure.canvas.draw()
    legends = [(ax, ax.get_legend()) for ax in figure.axes if ax.get_legend() is not None]
    assert len(legends) >= 3
    for ax, legend in legends:
        assert legend.get_window_extent().x0 >= ax.get_window_extent().x1, ax.get_label()


def test_a_one_second_halt_shows_on_a_thirteen_year_series(thirteen_years):
    t0 = thirteen_years.t0_ms
    halted = [(t0, MarketStatus.ACTIVE), (t0 + 86_400_000, MarketStatus.HALTED), (t0 + 86_401_000, MarketStatus.ACTIVE)]
    run = replace(thirteen_years, statuses={"BTC-PERP": halted})
    figure = build_figure(run)
    band = axis(figure, "status BTC-PERP")
    bars = [c for c in band.collections if c.get_label() == "market HALTED"]
    assert len(bars) == 1
    (x0, _), (x1, _) = bars[0].get_paths()[0].get_extents().get_points()
    replay_days = (run.state.ledger_time_ms - t0) / 86_400_000
    assert x1 - x0 == pytest.approx(status_span_min_fraction * replay_days)  # about 19 days, not 1 s


def test_the_fund_panels_show_each_funds_equity_and_position(march):
    figure = build_figure(march)
    equity = {line.get_label() for line in axis(figure, "fund equity").get_lines()}
    positions = {line.get_label() for line in axis(figure, "fund positions").get_lines()}
    assert {f"{fund} equity" for fund in march.fund_ids} <= equity
    assert "sys:fund:BTC-PERP position" in positions
    held = max(abs(size) for _, size in march.fund_positions["sys:fund:BTC-PERP"])
    line = next(line for line in axis(figure, "fund positions").get_lines() if line.get_label() == "sys:fund:BTC-PERP position")
    assert max(abs(y) for y in line.get_ydata()) == held == 60
