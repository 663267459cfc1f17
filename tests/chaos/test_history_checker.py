"""The chaos history checker on hand-made histories: each kind of damage is a FAIL with its own
reason, a clean history is a PASS."""

from __future__ import annotations

import copy

from cluster.chaos.checker import check, retention_problem
from cluster.chaos.history import NodeView, Op

HASH = "ab" * 32


def _ops() -> list[Op]:
    return [
        Op("d1", "Deposit", 0, 0.1, 0.2, "ok", "OK", account="c0-1", amount=1_000_001, applied_index=3),
        Op("d2", "Deposit", 0, 0.3, 0.4, "ok", "OK", account="c0-1", amount=1_000_002, applied_index=4),
        Op("w1", "Withdraw", 0, 0.5, 0.6, "ok", "OK", account="c0-1", amount=500, applied_index=5),
        Op("w2", "Withdraw", 0, 0.7, 0.8, "refused", "INSUFFICIENT_COLLATERAL", account="c0-2", amount=9, applied_index=6),
        Op("d3", "Deposit", 1, 0.9, 2.9, "ambiguous", "OutcomeUnknown", account="c1-1", amount=1_000_003),
        Op("d4", "Deposit", 1, 1.0, 1.1, "rejected", "ClusterUnavailable", account="c1-2", amount=1_000_004),
        Op("t1", "SettleTrade", 2, 1.2, 1.3, "ok", "OK", account="t2-a", counterparty="t2-b", market="M", amount=2,
           applied_index=7),
        Op("t2", "SettleTrade", 2, 1.4, 1.5, "ok", "OK", account="t2-b", counterparty="t2-a", market="M", amount=1,
           applied_index=8),
        Op("p1", "PriceUpdate", 2, 1.6, 1.7, "ok", "OK", market="M", amount=50_000, applied_index=9),
    ]


def _healthy_view(node_id: str) -> NodeView:
    """What every node of a correct cluster holds after _ops() (the ambiguous d3 was applied)."""
    return NodeView(
        node_id=node_id, applied_index=9, state_hash=HASH,
        dedup={"d1": "OK", "d2": "OK", "w1": "OK", "w2": "INSUFFICIENT_COLLATERAL", "d3": "OK", "t1": "OK", "t2": "OK",
               "p1": "OK"},
        collateral={"c0-1": 1_000_001 + 1_000_002 - 500, "c1-1": 1_000_003, "t2-a": 10**12, "t2-b": 10**12},
        positions={"t2-a": {"M": 1}, "t2-b": {"M": -1}},
    )


def _views() -> list[NodeView]:
    return [_healthy_view(f"node{i}") for i in (1, 2, 3)]


def test_a_clean_history_passes():
    verdict = check(_ops(), _views(), replay=_healthy_view("replay"))
    assert verdict.passed, verdict.violations
    assert verdict.summary_counts()["lost"] == 0


def test_an_ambiguous_command_that_was_never_applied_passes_too():
    views = _views()
    for view in views:
        del view.dedup["d3"]
        del view.collateral["c1-1"]
    assert check(_ops(), views).passed


def test_a_lost_acknowledged_write_fails_as_lost():
    views = _views()
    del views[1].dedup["d2"]  # node2 never applied an acknowledged deposit
    views[1].collateral["c0-1"] -= 1_000_002
    verdict = check(_ops(), views)
    assert not verdict.passed
    assert verdict.first.kind in ("lost", "divergent")
    assert any(v.kind == "lost" and "d2" in v.detail and "node2" in v.detail for v in verdict.violations)


def test_a_lost_write_on_every_node_fails_as_lost_first():
    views = _views()
    for view in views:
        del view.dedup["d2"]
        view.collateral["c0-1"] -= 1_000_002
    verdict = check(_ops(), views)
    assert verdict.first.kind == "lost" and "d2" in verdict.first.detail


def test_a_duplicated_deposit_fails_as_duplicated():
    views = _views()
    for view in views:
        view.collateral["c0-1"] += 1_000_002  # d2's effect twice, one dedup record
    verdict = check(_ops(), views)
    assert verdict.first.kind == "duplicated"
    assert "c0-1" in verdict.first.detail and "d2" in verdict.first.detail


def test_an_ambiguous_deposit_applied_twice_fails_as_duplicated():
    views = _views()
    for view in views:
        view.collateral["c1-1"] += 1_000_003
    verdict = check(_ops(), views)
    assert verdict.first.kind == "duplicated" and "d3" in verdict.first.detail


def test_a_duplicated_fill_fails_as_duplicated():
    views = _views()
    for view in views:
        view.positions = {"t2-a": {"M": 3}, "t2-b": {"M": -3}}  # t1 twice
    verdict = check(_ops(), views)
    assert verdict.first.kind == "duplicated" and "t1" in verdict.first.detail


def test_a_write_applied_after_a_definite_refusal_fails():
    views = _views()
    for view in views:
        view.dedup["w2"] = "OK"
        view.collateral["c0-2"] = -9
    verdict = check(_ops(), views)
    assert verdict.first.kind == "applied_after_rejection" and "w2" in verdict.first.detail


def test_a_request_rejected_before_logging_that_shows_up_applied_fails():
    views = _views()
    for view in views:
        view.dedup["d4"] = "OK"
        view.collateral["c1-2"] = 1_000_004
    verdict = check(_ops(), views)
    assert verdict.first.kind == "applied_after_rejection" and "d4" in verdict.first.detail


def test_a_divergent_state_hash_fails_as_divergent():
    views = _views()
    views[2].state_hash = "cd" * 32
    verdict = check(_ops(), views)
    assert verdict.first.kind == "divergent" and "node3" in verdict.first.detail


def test_a_different_applied_index_fails_as_divergent():
    views = _views()
    views[0].applied_index = 8
    assert check(_ops(), views).first.kind == "divergent"


def test_a_broken_invariant_fails():
    views = _views()
    views[0].invariant_error = "conservation: 1 != 2"
    assert check(_ops(), views).first.kind == "invariant"


def test_balances_that_differ_from_the_replayed_log_fail():
    replay = copy.deepcopy(_healthy_view("replay"))
    replay.state_hash = "ef" * 32
    verdict = check(_ops(), _views(), replay=replay)
    assert verdict.first.kind == "replay_mismatch"


def test_a_skipped_replay_is_said_not_hidden():
    verdict = check(_ops(), _views(), replay=None, replay_note="the log was compacted")
    assert verdict.passed and any("compacted" in note for note in verdict.notes)


def test_a_cluster_that_did_not_converge_fails():
    assert check(_ops(), _views(), converged=False).first.kind == "not_converged"


def test_a_run_that_can_outlast_the_dedup_retention_cannot_be_judged():
    problem = retention_problem(dedup_retention_ms=60_000, run_s_max=60.0)
    assert problem is not None and "forget dedup records" in problem


def test_a_run_that_ends_within_the_dedup_retention_can_be_judged():
    assert retention_problem(dedup_retention_ms=60_001, run_s_max=60.0) is None
