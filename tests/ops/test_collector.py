"""The metrics collector and instruments, without processes: values, and bounded labels."""

from __future__ import annotations

import threading
from dataclasses import replace

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from node.ledger.commands import Deposit, SettleTrade
from node.ledger.records import MarketStatus, OracleVerdict, StatusReason
from node.ledger.results import Result, ResultCode
from node.metrics import NodeMetrics, StateCollector
from node.replica.port import PeerStatus, ReplicaStatus, Role
from node.store import LedgerStore
from tests.ledger.driver import MARKET, listed_market_with_traders

# Every label name the node may export: fixed enums, market ids, node ids (and histogram buckets).
ALLOWED_LABELS = {"kind", "code", "market", "peer", "node_id", "le"}


class FakeReplica:
    def __init__(self, state, role=Role.LEADER, store=None) -> None:
        self.state, self.role, self.store = state, role, store
        self._lock = threading.Lock()

    def read(self, view):
        with self._lock:
            return view(self.state), self.state.applied_index

    def status(self) -> ReplicaStatus:
        return ReplicaStatus(
            node_id="node1", role=self.role, leader_id="node1", leader_address="127.0.0.1:1", term=7,
            commit_index=120, applied_index=100, state_hash=b"", ready=True, diverged=False,
            peers=(PeerStatus("node2", "a:2", True, 120), PeerStatus("node3", "a:3", False, 20)),
            verified_checkpoint_index=90,
        )


def scrape(metrics: NodeMetrics) -> dict[tuple[str, tuple], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def registry_for(replica) -> NodeMetrics:
    metrics = NodeMetrics()
    metrics.registry.register(StateCollector(replica))
    return metrics


def test_market_gauges_follow_the_state():
    driver = listed_market_with_traders()
    replica = FakeReplica(driver.state)
    samples = scrape(registry_for(replica))
    market = (("market", MARKET),)
    assert samples[("settle_market_status", market)] == MarketStatus.ACTIVE
    assert samples[("settle_market_oracle_verdict", market)] == OracleVerdict.VALID
    assert samples[("settle_market_breaker_active", market)] == 0
    assert samples[("settle_markets", ())] == 1
    # A tripped price-band breaker: HALTED with its reason (set directly: the gauge is the subject).
    driver.state.markets[MARKET] = replace(driver.state.markets[MARKET], status=MarketStatus.HALTED,
                                           status_reason=StatusReason.PRICE_BAND)
    samples = scrape(registry_for(replica))
    assert samples[("settle_market_status", market)] == MarketStatus.HALTED
    assert samples[("settle_market_breaker_active", market)] == 1
    assert samples[("settle_market_status_reason", market)] == StatusReason.PRICE_BAND


def test_raft_gauges_and_peer_lag_on_the_leader_only():
    replica = FakeReplica(listed_market_with_traders().state)
    samples = scrape(registry_for(replica))
    assert samples[("settle_raft_leader", ())] == 1
    assert samples[("settle_raft_term", ())] == 7
    assert samples[("settle_apply_lag_entries", ())] == 20
    assert samples[("settle_raft_peer_lag_entries", (("peer", "node2"),))] == 0
    assert samples[("settle_raft_peer_lag_entries", (("peer", "node3"),))] == 100
    assert samples[("settle_raft_peer_connected", (("peer", "node3"),))] == 0
    assert samples[("settle_checkpoint_certified_index", ())] == 90
    replica.role = Role.FOLLOWER
    samples = scrape(registry_for(replica))
    assert samples[("settle_raft_leader", ())] == 0
    assert not any(name == "settle_raft_peer_lag_entries" for name, _ in samples)


def test_funds_and_lmdb_usage(tmp_path):
    driver = listed_market_with_traders()
    driver.one(Deposit("fund-top-up", "sys:insurance", 5_000))
    with LedgerStore(tmp_path / "store", map_size_bytes=1 << 24) as store:
        samples = scrape(registry_for(FakeReplica(driver.state, store=store)))
    assert samples[("settle_insurance_fund_global", ())] == 5_000
    assert samples[("settle_insurance_funds_total", ())] == driver.state.funds_total
    assert ("settle_market_insurance_fund", (("market", MARKET),)) in samples
    assert samples[("settle_lmdb_map_size_bytes", ())] == 1 << 24
    assert 0 < samples[("settle_lmdb_used_bytes", ())] < 1 << 24


def test_no_account_or_command_id_ever_becomes_a_label():
    driver = listed_market_with_traders()
    metrics = registry_for(FakeReplica(driver.state))
    commands = (Deposit("dep-carol-1", "carol", 10), SettleTrade("tr-1", MARKET, "alice", "bob", 50_000, 1),
                Deposit("dep-carol-2", "carol", 10))
    results = tuple(driver.run(*commands))
    metrics.entry_applied(commands, results, 0.001)
    samples = scrape(metrics)
    label_names = {name for _, labels in samples for name, _ in labels}
    label_values = {value for _, labels in samples for _, value in labels}
    assert label_names <= ALLOWED_LABELS
    assert not label_values & {"alice", "bob", "carol", "dep-carol-1", "tr-1"}
    # One counter step per (kind, code), aggregated over the entry.
    assert samples[("settle_commands_applied_total", (("code", "OK"), ("kind", "Deposit")))] == 2
    assert samples[("settle_commands_applied_total", (("code", "OK"), ("kind", "SettleTrade")))] == 1
    assert samples[("settle_entries_applied_total", ())] == 1
    assert samples[("settle_apply_seconds_count", ())] == 1


def test_counter_children_are_cached_per_kind_and_code():
    metrics = NodeMetrics()
    cmd = Deposit("d", "a", 1)
    for _ in range(3):
        metrics.entry_applied((cmd,), (Result("d", ResultCode.DUPLICATE),), 0.0)
    assert len(metrics._command_children) == 1
    assert scrape(metrics)[("settle_commands_applied_total", (("code", "DUPLICATE"), ("kind", "Deposit")))] == 3


def test_a_failing_read_reports_itself_instead_of_breaking_the_scrape():
    class Broken(FakeReplica):
        def status(self):
            raise RuntimeError("closed")

    samples = scrape(registry_for(Broken(listed_market_with_traders().state)))
    assert samples[("settle_metrics_collect_ok", ())] == 0
