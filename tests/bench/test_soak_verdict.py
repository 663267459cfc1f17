"""The soak's verdict against its targets, from made-up minutes (no cluster, no clock)."""

from __future__ import annotations

from cluster.bench.soak_verdict import Targets, baseline_minute, verdict, verdict_text

NODES = ("node1", "node2", "node3")
MIB = 1 << 20


def minute(n: int, trades_per_s: int = 9_000, rss_mib: float = 200, data_mib: float = 300, dumped: bool = True,
           leader_changes: int = 0, truncations: int = 0, **per_node) -> dict:
    record = {
        "minute": n, "elapsed_s": 60.0 * n, "trades": trades_per_s * 60, "trades_per_s": trades_per_s,
        "rss_bytes": {node: int(rss_mib * MIB) for node in NODES},
        "data_bytes": {node: int(data_mib * MIB) for node in NODES},
        "raft_dumped": {node: dumped for node in NODES},
        "leader_changes": leader_changes, "truncations": truncations,
    }
    for key, values in per_node.items():
        record[key].update(values)
    return record


def steady_run(minutes: int = 20, dumped_from: int = 6, **overrides) -> list[dict]:
    return [minute(n, dumped=n >= dumped_from, **overrides) for n in range(1, minutes + 1)]


def check(result: dict, name: str) -> dict:
    return next(c for c in result["checks"] if c["name"] == name)


def test_a_steady_run_of_twenty_minutes_at_nine_thousand_trades_a_second_passes():
    result = verdict(steady_run(), retention_s=60, run_minutes=20)
    assert result["passed"] is True, verdict_text(result)


def test_the_baseline_is_the_minute_after_every_node_compacted_its_log_during_the_load():
    run = steady_run(dumped_from=6)
    assert baseline_minute(run, retention_s=60)["minute"] == 7
    run[5]["raft_dumped"]["node2"] = False  # node2 compacts a minute later
    assert baseline_minute(run, retention_s=60)["minute"] == 8


def test_the_baseline_is_past_one_retention_window():
    assert baseline_minute(steady_run(dumped_from=1), retention_s=150)["minute"] == 3


def test_rss_within_ten_percent_of_the_baseline_passes_and_beyond_fails():
    run = steady_run()
    run[10]["rss_bytes"]["node1"] = int(219 * MIB)  # +9.5%
    run[15]["rss_bytes"]["node3"] = int(181 * MIB)  # -9.5%
    assert check(verdict(run, 60, 20), "rss_bounded")["passed"] is True
    run[19]["rss_bytes"]["node2"] = int(222 * MIB)  # +11%
    rss = check(verdict(run, 60, 20), "rss_bounded")
    assert rss["passed"] is False
    assert rss["measured"]["node2"] == {"baseline": 200 * MIB, "worst_minute": 20, "worst": int(222 * MIB), "deviation_pct": 11.0}


def test_growth_before_the_baseline_does_not_count():
    run = steady_run(dumped_from=6)
    for record in run[:5]:
        record["data_bytes"] = {node: 30 * MIB for node in NODES}  # still filling the first window
    assert check(verdict(run, 60, 20), "data_bounded")["passed"] is True


def test_data_shrinking_beyond_ten_percent_also_fails():
    run = steady_run()
    run[12]["data_bytes"]["node1"] = int(260 * MIB)
    assert check(verdict(run, 60, 20), "data_bounded")["passed"] is False


def test_a_node_that_could_not_be_read_after_the_baseline_fails_bounded():
    run = steady_run()
    run[12]["rss_bytes"]["node2"] = None  # its process was gone
    assert check(verdict(run, 60, 20), "rss_bounded")["passed"] is False


def test_without_a_baseline_bounded_is_not_evaluated_and_the_verdict_is_open():
    run = steady_run(minutes=3, dumped_from=99)
    result = verdict(run, retention_s=30, run_minutes=3)
    assert check(result, "rss_bounded")["passed"] is None
    assert check(result, "data_bounded")["passed"] is None
    assert result["baseline_minute"] is None
    assert result["passed"] is None


def test_the_trades_target_is_ten_million_per_twenty_minutes_scaled_to_the_run():
    assert check(verdict(steady_run(trades_per_s=8_334), 60, 20), "trades_settled")["passed"] is True
    assert check(verdict(steady_run(trades_per_s=8_333), 60, 20), "trades_settled")["passed"] is False  # 9,999,600
    short = steady_run(minutes=8, trades_per_s=8_400)
    assert check(verdict(short, 60, 8), "trades_settled")["passed"] is True  # 4,032,000 >= 4,000,000


def test_the_last_minute_must_keep_ninety_percent_of_the_first_minutes_throughput():
    run = steady_run()
    run[-1]["trades_per_s"] = 8_100  # 90.0%
    assert check(verdict(run, 60, 20), "throughput_kept")["passed"] is True
    run[-1]["trades_per_s"] = 8_099
    kept = check(verdict(run, 60, 20), "throughput_kept")
    assert kept["passed"] is False and kept["measured"]["kept_pct"] == 90.0  # rounded, but below


def test_one_leader_change_fails_the_run():
    run = steady_run()
    run[-1]["leader_changes"] = 1
    result = verdict(run, 60, 20)
    assert check(result, "no_leader_change")["passed"] is False
    assert result["passed"] is False


def test_one_truncation_line_fails_the_run():
    run = steady_run()
    run[-1]["truncations"] = 1
    assert check(verdict(run, 60, 20), "no_truncation")["passed"] is False


def test_targets_can_be_named_otherwise():
    run = steady_run()
    run[10]["rss_bytes"]["node1"] = int(230 * MIB)  # +15%
    assert check(verdict(run, 60, 20, Targets(bounded_tolerance_pct=20)), "rss_bounded")["passed"] is True


def test_the_verdict_reads_as_one_line_per_target():
    text = verdict_text(verdict(steady_run(), 60, 20))
    assert text.splitlines()[0].startswith("soak verdict: PASS (baseline: minute 7")
    assert len(text.splitlines()) == 1 + 6
