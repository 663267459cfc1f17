"""The static-vs-adaptive band comparison (cluster/bench/adaptive_bands.py) and its synthetic
series: the committed CSV is what the seeded generator writes, and on it the adaptive band keeps
every crash trip while tripping less on ordinary volatility."""

from pathlib import Path

from cluster.bench import adaptive_bands, calm_then_volatile


def test_the_committed_series_is_what_the_seeded_generator_writes(tmp_path):
    written = tmp_path / "calm-then-volatile.csv"
    calm_then_volatile.write(written)
    assert written.read_bytes() == (adaptive_bands.SCENARIOS / "calm-then-volatile.csv").read_bytes()


def test_on_calm_then_volatile_the_adaptive_band_keeps_the_crash_trips_and_trips_less_on_ordinary_moves():
    (series,) = [s for s in adaptive_bands.SERIES if s.name == "calm-then-volatile"]
    result = adaptive_bands.compare(series)
    assert result["crash_kept"] == "yes" and result["crashes_tripped_adaptive"] == result["crashes"] == 2
    assert result["ordinary_trips_adaptive"] < result["ordinary_trips_static"]


def test_the_adaptive_band_is_derived_from_the_static_one_by_one_rule():
    (series,) = [s for s in adaptive_bands.SERIES if s.name == "march-2020"]
    result = adaptive_bands.compare(series)
    assert result["static_band_bps"] == 3_000
    assert result["adaptive"].startswith("1500-9000 bps, 100% of sigma")


def test_the_scenarios_directory_holds_every_compared_series():
    for series in adaptive_bands.SERIES:
        assert (Path(adaptive_bands.SCENARIOS) / f"{series.name}.csv").exists(), series.name
