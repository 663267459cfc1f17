"""The figures of a chaos report and of the cluster bench, from made-up histories."""

from __future__ import annotations

import json

from cluster.bench.report import write_bench_report
from cluster.chaos.checker import check
from cluster.chaos.history import FaultRecord, Op
from cluster.chaos.report import failover_times, figures, write_report


def _ops() -> list[Op]:
    ops = []
    for n in range(400):  # 20 acked commands per second for 20 s, 10 ms each
        t = n / 20
        ops.append(Op(f"d{n}", "Deposit", 0, t, t + 0.01, "ok", "OK", account="c0-1", amount=1, applied_index=n + 1))
    return ops


def test_failover_is_measured_from_the_leader_loss_to_the_first_write_sent_after_it():
    ops = [Op("a", "Deposit", 0, 9.9, 12.0, "ok", "OK", account="x", amount=1),  # in flight at the fault
           Op("b", "Deposit", 0, 10.5, 12.5, "ok", "OK", account="x", amount=1)]
    faults = [FaultRecord("kill", 10.0, 11.0, ["node1"], leader_lost=True), FaultRecord("pause", 20.0, 21.0, ["node2"])]
    assert failover_times(ops, faults) == [2.5]


def test_throughput_during_faults_is_a_share_of_the_steady_state():
    ops = [op for op in _ops() if not 10.0 <= op.end_s < 15.0 or op.start_s % 0.1 < 0.05]  # half the rate for 5 s
    faults = [FaultRecord("partition", 10.0, 15.0, ["node1"], recovered_s=15.0)]
    run = {"duration_s": 20.0, "nodes": 3, "seed": 1, "kinds": ["partition"]}
    report = figures(ops, faults, check(ops, []), run)
    assert report["throughput"]["steady_acked_per_s"] == 20.0
    assert 40 <= report["throughput"]["during_faults_pct_of_steady"] <= 60


def test_a_report_writes_json_a_plot_and_a_summary_with_the_verdict(tmp_path):
    ops = _ops()
    faults = [FaultRecord("kill", 5.0, 6.0, ["node1"], leader_lost=True, recovered_s=6.5)]
    run = {"duration_s": 20.0, "nodes": 3, "seed": 9, "kinds": ["kill"]}
    report = write_report(tmp_path, ops, faults, check(ops, []), run)
    assert json.loads((tmp_path / "report.json").read_text())["cycles_by_kind"] == {"kill": 1}
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert "verdict: PASS" in (tmp_path / "summary.txt").read_text()
    assert report["commands"]["acknowledged"] == 400


def test_a_failed_report_names_the_violation_and_the_seed_to_reproduce_it(tmp_path):
    from cluster.chaos.history import NodeView

    ops = _ops()[:2]
    views = [NodeView("node1", 2, "00", {}, {}, {})]  # the acknowledged deposits are not there
    run = {"duration_s": 2.0, "nodes": 3, "seed": 31337, "kinds": ["kill"]}
    write_report(tmp_path, ops, [], check(ops, views), run)
    summary = (tmp_path / "summary.txt").read_text()
    assert "verdict: FAIL: lost" in summary and "--seed 31337" in summary


def test_the_bench_report_plots_throughput_and_latency_per_batch_size(tmp_path):
    runs = [{"batch": b, "makers": m, "trades_per_second": 1_000 * b ** 0.5, "latency_ms_p50": 10.0 * b ** 0.3,
             "latency_ms_p99": 30.0 * b ** 0.3} for m in (0, 20) for b in (1, 100, 1000)]
    report = {"nodes": 3, "cpus": 2, "mtls": True, "signed_batches": True, "runs": runs,
              "failover": {"kill_to_first_write_ms": 1500}}
    plot = write_bench_report(report, tmp_path)
    assert plot.stat().st_size > 10_000
    assert "batch  1000" in (tmp_path / "cluster-bench.txt").read_text()
