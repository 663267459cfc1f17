"""Every metric the Grafana dashboard or an alert rule uses is exported by a real cluster.

Starts a real 3-node LocalCluster on 127.0.0.1, lists a market and settles a trade, scrapes each
node's /metrics over HTTP, and checks the names in every panel and rule expression against the
union of the exported sample names (a follower exports no peer lag; the leader does).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from node.ledger.commands import SettleTrade
from tests.cluster.probe import wait_converged, wait_for_leader
from tests.cluster.workload import MARKET, MARK, setup_market

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "ops" / "grafana" / "settlement.json"
ALERTS = ROOT / "ops" / "prometheus" / "alerts.yml"
NAME = re.compile(r"\bsettle_[a-zA-Z0-9_]+")


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert len(exprs) >= len(panels) >= 10, "the dashboard lost its panels"
    return exprs


def alert_expressions() -> list[str]:
    """The rules' `expr:` lines (each one line; no YAML parser in the pinned dependencies)."""
    text = ALERTS.read_text()
    alerts = re.findall(r"^\s*- alert:\s*(\S+)\s*$", text, re.M)
    exprs = re.findall(r"^\s*expr:\s*(.+?)\s*$", text, re.M)
    assert {"SettleNoLeader", "SettleNodeDiverged", "SettleInsuranceFundBelowFloor", "SettleMarketHalted",
            "SettleLmdbMapOver80", "SettleLmdbMapOver90"} <= set(alerts)
    assert len(exprs) == len(alerts), "every rule has a one-line expr"
    return exprs


def scrape(address: str) -> set[str]:
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def test_every_dashboard_and_alert_metric_is_exported(make_cluster):
    cluster = make_cluster(nodes=3)
    wait_for_leader(cluster)
    with cluster.client(cluster.grpc_addresses) as client:
        setup_market(client, "metrics")
        result = client.submit_one(SettleTrade("metrics-trade", MARKET, "metrics-buyer", "metrics-seller", MARK, 1))
        assert result.ok, result
    wait_converged(cluster)
    exported: set[str] = set()
    deadline = time.monotonic() + 15
    while True:  # a leader exports peer lag; retry through a leader change
        exported = set().union(*(scrape(spec.metrics_address) for spec in cluster.specs))
        if "settle_raft_peer_lag_entries" in exported or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    used = {name for expr in dashboard_expressions() + alert_expressions() for name in NAME.findall(expr)}
    assert len(used) >= 20, used
    missing = sorted(used - exported)
    assert not missing, f"used by the dashboard or alerts but not exported: {missing}"
    assert {"settle_market_status", "settle_commands_applied_total", "settle_submit_seconds_bucket"} <= exported
