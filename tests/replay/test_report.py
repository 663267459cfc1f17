"""The replay's report for people: UTC dates in the timeline, header and summary, durations for the
windows, USD for money; its JSON keeps the ledger's integers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluster.replay.prices import load_prices
from cluster.replay.report import format_header, format_summary, format_timeline, write_json
from cluster.replay.run import Run, replay
from cluster.replay.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
MARCH_T0_MS = 1_584_000_000_000  # 2020-03-12 08:00:00 UTC


@pytest.fixture(scope="module")
def march() -> Run:
    scenario = load_scenario(SCENARIOS / "march-2020.toml")
    return replay(scenario, load_prices(SCENARIOS / "march-2020.csv", scenario), full_check=False)


def test_the_timeline_is_in_utc_dates(march):
    lines = format_timeline(march).splitlines()
    assert lines[1].split()[:3] == ["time", "(UTC)", "entry"]
    assert lines[2].startswith("  2020-03-12 08:00:00  ")
    assert lines[-1].startswith("  2020-03-12 08:")


def test_the_header_says_when_the_replay_starts_and_its_windows_as_durations(march):
    header = format_header(march, "march-2020.csv", "march-2020.toml")
    assert "starts 2020-03-12 08:00:00 UTC" in header
    assert "stale after 1m), band 3000 bps/1m, cooldown 2m" in header


def test_the_summary_gives_the_ledger_time_as_a_date_and_a_duration(march):
    assert "ledger time            2020-03-12 08:30:00 UTC (30m after the start; 1584001800000 ms)" in format_summary(march)


def test_the_json_keeps_the_ledger_integers(march, tmp_path):
    path = tmp_path / "march.json"
    write_json(march, path)
    data = json.loads(path.read_text())
    assert (data["t0_ms"], data["timeline"][0]["time_ms"]) == (MARCH_T0_MS, MARCH_T0_MS)
    assert data["ledger_time_ms"] == 1_584_001_800_000
    assert data["markets"]["BTC-PERP"]["final_mark"] == march.state.markets["BTC-PERP"].mark_price
    assert isinstance(data["funds"]["sys:insurance"]["start"], int)
