"""`python -m cluster replay`: the shipped scenarios make the guards fire as their comments say,
two runs are byte-identical, and malformed input fails with exit code 2 and a message that names
the file, line and field to fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.__main__ import main
from cluster.replay.prices import load_prices
from cluster.replay.run import Run, replay
from cluster.replay.scenario import load_scenario
from node.ledger.records import AccountStatus, MarketStatus, OracleVerdict
from node.ledger.state_hash import hash_bytes

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
SHIPPED = ("march-2020", "luna-2022")


def files(name: str) -> tuple[Path, Path]:
    return SCENARIOS / f"{name}.csv", SCENARIOS / f"{name}.toml"


def replayed(name: str) -> Run:
    prices, scenario_path = files(name)
    scenario = load_scenario(scenario_path)
    return replay(scenario, load_prices(prices, scenario))


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", *args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def at(run: Run, seconds: float) -> int:
    return run.t0_ms + int(seconds * 1000)


def lines_with(out: str, *needles: str) -> list[str]:
    return [line for line in out.splitlines() if all(n in line for n in needles)]


@pytest.fixture(scope="module")
def march() -> Run:
    return replayed("march-2020")


@pytest.fixture(scope="module")
def luna() -> Run:
    return replayed("luna-2022")


# -- March 2020 ------------------------------------------------------------------------------


def test_march_2020_liquidations_are_sliced_and_capped(march):
    slices = [e for _, e in march.liquidations]
    assert len(slices) == 33 and len({e.account for e in slices}) == 9
    first = [(t, e.account, e.size, e.remaining) for t, e in march.liquidations[:2]]
    # the first slices: 20% of a 100-contract long, into the market's fund
    assert first == [(at(march, 70), "long-08", 20, 80), (at(march, 70), "long-09", 20, 80)]
    solvent = [(t, e) for t, e in march.liquidations if e.fee]
    for _, e in solvent:  # at most 20% of what was held, rounded up to a contract
        assert e.size <= -(-(e.size + e.remaining) * 2_000 // 10_000)
    # the $1M-per-10-s window cap cut a slice short: long-05's first slice is 4, not 20
    assert (at(march, 90), "long-05", 4, 96) in [(t, e.account, e.size, e.remaining) for t, e in march.liquidations]
    # the market fund took over no more than its cap of 60 contracts; the rest went by ADL
    assert sum(e.fund_size for e in slices) == 60
    assert sum(e.deleveraged_size for e in slices) == sum(e.size for e in slices) - 60


def test_march_2020_cascade_breaker_trips_and_band_breaker_halts(march, capsys):
    assert march.cascade_trips[0][:2] == (at(march, 80), "BTC-PERP")
    assert [t for t, _ in march.band_trips] == [at(march, 290)]
    code, out, _ = cli(capsys, "--prices", str(files("march-2020")[0]), "--scenario", str(files("march-2020")[1]), "--no-plot")
    assert code == 0
    assert len(lines_with(out, "+00:01:20.000", "BREAKER", "cascade breaker tripped")) == 1
    assert lines_with(out, "+00:01:20.000", "STATUS", "market REDUCE_ONLY (CASCADE) until +00:03:20.000")
    assert lines_with(out, "+00:04:50.000", "BREAKER", "price band tripped: mark $4,103.00", "HALTED until +00:06:50.000")
    assert lines_with(out, "+00:06:50.000", "STATUS", "market REDUCE_ONLY (BREAKER_GRACE) until +00:08:50.000")
    assert lines_with(out, "+00:08:50.000", "STATUS", "market ACTIVE")
    # nobody is liquidated at the wick or while the market is halted
    assert not [e for t, e in march.liquidations if at(march, 280) <= t <= at(march, 600)]
    assert lines_with(out, "price-band breaker trips", "1")
    assert lines_with(out, "cascade breaker trips", "2")


def test_march_2020_funds_pay_until_empty_then_adl_at_the_bankruptcy_price(march, capsys):
    summary_funds = {fund: (series[0][1], series[-1][1]) for fund, series in march.funds.items()}
    assert summary_funds["sys:insurance"] == (30_000_000_000, 0)
    assert march.funds_min == {"sys:fund:BTC-PERP": 0, "sys:insurance": 0}
    paid = [e for _, e in march.liquidations if e.fund_paid]
    assert len(paid) == 9  # every insolvent long had its deficit paid, as far as the funds went
    # long-02 went insolvent when the funds were nearly empty: ADL closed it above the mark
    long_02 = [(t, e) for t, e in march.liquidations if e.account == "long-02"][-1]
    mark_then = dict(march.marks["BTC-PERP"])[long_02[0]]
    assert long_02[1].price > mark_then and long_02[1].deleveraged_size == long_02[1].size == 51
    assert [(e.account, e.against, e.size) for _, e in march.deleveraged if e.against == "long-02"][-1] == ("whale", "long-02", -51)
    assert len(march.deleveraged) == 30
    assert not any(a.status == AccountStatus.BANKRUPT for a in march.state.accounts.values())
    code, out, _ = cli(capsys, "--prices", str(files("march-2020")[0]), "--scenario", str(files("march-2020")[1]), "--no-plot")
    assert lines_with(out, "+00:02:40.000", "FUND", "sys:insurance $5,563.72 -> $0.00")
    assert lines_with(out, "ADL", "whale short 51 closed against long-02 @ $6,805.607844")


def test_march_2020_refusals(march, capsys):
    code, out, _ = cli(capsys, "--prices", str(files("march-2020")[0]), "--scenario", str(files("march-2020")[1]), "--no-plot")
    assert lines_with(out, "+00:04:10.000", "PRICE", "STALE c $6,010.00 refused STALE_PRICE", "(csv line 73)")
    assert lines_with(out, "+00:01:30.000", "events #1", "refused REDUCE_ONLY")
    assert lines_with(out, "+00:04:20.000", "events #2: withdraw whale $1,000,000.00: refused WITHDRAWALS_GATED")
    assert lines_with(out, "+00:05:00.000", "events #3", "refused MARKET_NOT_ACTIVE: market is HALTED")
    assert march.stats["BTC-PERP"].updates_refused == {"STALE_PRICE": 1}


# -- LUNA 2022 -------------------------------------------------------------------------------


def test_luna_2022_clamp_is_invalid_market_stale_reduce_only(luna, capsys):
    code, out, _ = cli(capsys, "--prices", str(files("luna-2022")[0]), "--scenario", str(files("luna-2022")[1]), "--no-plot")
    assert code == 0
    clamped = lines_with(out, "PRICE", "INVALID feed $0.10 refused PRICE_CLAMPED")
    assert clamped[0].lstrip().startswith("+00:04:30.000")  # repeated for more than stale_after (60 s) since 200 s
    assert lines_with(out, "+00:05:50.000", "VERDICT", "oracle STALE: 0 fresh sources, mark $0.0675 kept")
    assert lines_with(out, "+00:05:50.000", "STATUS", "market REDUCE_ONLY (ORACLE_STALE)")
    assert lines_with(out, "+00:06:20.000", "events #1", "refused REDUCE_ONLY")
    assert lines_with(out, "+00:07:50.000", "VERDICT", "oracle VALID: 1 fresh source, mark $0.01")
    assert lines_with(out, "refused PRICE_CLAMPED", "33")
    assert luna.stats["LUNA-PERP"].updates_refused == {"PRICE_CLAMPED": 33}


def test_luna_2022_nobody_is_liquidated_at_the_clamp(luna):
    floor = 100_000
    assert luna.liquidations and all(e.price != floor for _, e in luna.liquidations)
    # none while the clamp is the only price arriving; the first ones at the real price
    assert {t for t, _ in luna.liquidations} == {at(luna, 470)}
    assert all(mark != floor for _, mark in luna.marks["LUNA-PERP"])
    # 'bear' (short at $0.08) would be below maintenance at the clamp; it is never liquidated
    assert "bear" not in {e.account for _, e in luna.liquidations}
    assert [(e.account, e.against) for _, e in luna.deleveraged][0] == ("bear", "bull")
    market = luna.state.markets["LUNA-PERP"]
    assert (market.status, market.oracle_verdict) == (MarketStatus.ACTIVE, OracleVerdict.VALID)


# -- determinism -----------------------------------------------------------------------------


def run_process(name: str, out_dir: Path, hash_seed: str) -> tuple[bytes, bytes, bytes]:
    prices, scenario = files(name)
    plot, summary = out_dir / "plot.png", out_dir / "summary.json"
    # Relative paths, so the printed paths are the same for both runs.
    done = subprocess.run(
        [sys.executable, "-m", "cluster", "replay", "--prices", os.path.relpath(prices, REPO),
         "--scenario", os.path.relpath(scenario, REPO), "--plot", str(plot), "--json", str(summary)],
        cwd=REPO, capture_output=True, env={**os.environ, "PYTHONHASHSEED": hash_seed}, timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout, plot.read_bytes(), summary.read_bytes()


@pytest.mark.parametrize("name", SHIPPED)
def test_two_runs_are_byte_identical(name, tmp_path):
    first = run_process(name, tmp_path, "1")
    second = run_process(name, tmp_path, "2")
    assert first == second
    stdout, png, _ = first
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"Software" not in png and b"matplotlib" not in png
    expected_hash = hash_bytes(replayed(name).state.state_hash).hex()
    assert f"state hash             {expected_hash}".encode() in stdout


# -- malformed input -------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def malformed(tmp_path: Path, toml_edit=None, csv_edit=None) -> tuple[str, str]:
    prices, scenario = files("march-2020")
    toml_text, csv_text = scenario.read_text(), prices.read_text()
    return (
        write(tmp_path, "bad.csv", csv_edit(csv_text) if csv_edit else csv_text),
        write(tmp_path, "bad.toml", toml_edit(toml_text) if toml_edit else toml_text),
    )


def line_of(path: str, text: str) -> int:
    return next(n for n, line in enumerate(Path(path).read_text().splitlines(), 1) if line.startswith(text))


def test_missing_field_names_the_table_and_line(tmp_path, capsys):
    prices, scenario = malformed(tmp_path, toml_edit=lambda t: t.replace("tick_size = 1_000_000", "", 1))
    code, out, err = cli(capsys, "--prices", prices, "--scenario", scenario, "--no-plot")
    assert code == 2 and out == ""
    line = line_of(scenario, "[[markets]]")
    assert err.strip() == f"error: {scenario}:{line}: [[markets]] #1 (BTC-PERP): missing field 'tick_size' (an integer CreateMarket parameter)"


def test_unknown_market_in_the_csv_names_the_line(tmp_path, capsys):
    prices, scenario = malformed(tmp_path, csv_edit=lambda t: t.replace("BTC-PERP,b,10003000000", "ETH-PERP,b,10003000000", 1))
    code, _, err = cli(capsys, "--prices", prices, "--scenario", scenario, "--no-plot")
    assert code == 2
    assert err.strip() == f"error: {prices}:7: column 'market': no market 'ETH-PERP' in the scenario (markets: BTC-PERP)"


@pytest.mark.parametrize("bad", ["1e10", "10003000000.0", "", "ten", "99999999999999999999"])
def test_bad_number_in_the_csv_names_the_line_and_column(tmp_path, capsys, bad):
    prices, scenario = malformed(tmp_path, csv_edit=lambda t: t.replace("BTC-PERP,b,10003000000", f"BTC-PERP,b,{bad}", 1))
    code, _, err = cli(capsys, "--prices", prices, "--scenario", scenario, "--no-plot")
    assert code == 2
    assert err.startswith(f"error: {prices}:7: column 'price': ")


def test_bad_number_in_the_scenario_names_the_field(tmp_path, capsys):
    prices, scenario = malformed(tmp_path, toml_edit=lambda t: t.replace("quantity = 500", "quantity = 500.5", 1))
    code, _, err = cli(capsys, "--prices", prices, "--scenario", scenario, "--no-plot")
    assert code == 2
    line = line_of(scenario, "quantity = 500.5")
    assert err.strip() == f"error: {scenario}:{line}: [[positions]] #1, field 'quantity': expected an integer (contracts), got 500.5 (a float)"


def test_unknown_field_and_refused_listing(tmp_path, capsys):
    prices, scenario = malformed(tmp_path, toml_edit=lambda t: t.replace("lot_size = 1", "lot_sise = 1", 1))
    code, _, err = cli(capsys, "--prices", prices, "--scenario", scenario, "--no-plot")
    assert code == 2 and "field 'lot_sise': unknown field (did you mean 'lot_size'?)" in err
    prices, scenario = malformed(tmp_path, toml_edit=lambda t: t.replace("maintenance_margin_bps = 500 ", "maintenance_margin_bps = 5000 ", 1))
    code, _, err = cli(capsys, "--prices", prices, "--scenario", scenario, "--no-plot")
    assert code == 2 and "[[markets]] #1 (BTC-PERP): the ledger refused it: INVALID_MARKET_PARAMS" in err


def test_the_module_exits_2_on_bad_input(tmp_path):
    prices, scenario = malformed(tmp_path, csv_edit=lambda t: t.replace("BTC-PERP,b,10003000000", "BTC-PERP,b,x", 1))
    done = subprocess.run([sys.executable, "-m", "cluster", "replay", "--prices", prices, "--scenario", scenario],
                          cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 2 and b"column 'price'" in done.stderr and done.stdout == b""
    assert not list(tmp_path.glob("*.png"))
