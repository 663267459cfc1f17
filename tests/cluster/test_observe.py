"""`python -m cluster observe`'s Prometheus scrapes every node of a real cluster, with the alert rules loaded."""

from __future__ import annotations

import socket
import time

import pytest

from cluster.observe import Prometheus, prometheus_binary

pytestmark = pytest.mark.skipif(
    prometheus_binary() is None,
    reason="the prometheus binary is absent: `make promtool` installs it (Debian package prometheus)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_prometheus_scrapes_every_node_and_loads_the_alert_rules(make_cluster):
    cluster = make_cluster(3)
    prometheus = Prometheus(cluster.data_dir, _free_port())
    try:
        prometheus.start()
        prometheus.wait_ready(timeout_s=15)
        deadline = time.monotonic() + 15
        up, leaders = [], []
        while time.monotonic() < deadline:
            up = prometheus.api("query", query="count(up == 1)")["result"]
            leaders = prometheus.api("query", query="sum(settle_raft_leader)")["result"]
            if up and up[0]["value"][1] == "3" and leaders and leaders[0]["value"][1] == "1":
                break
            time.sleep(0.5)
        assert up and up[0]["value"][1] == "3", up
        assert leaders and leaders[0]["value"][1] == "1", leaders
        nodes = {r["metric"]["node"] for r in prometheus.api("query", query="up")["result"]}
        assert nodes == {"node1", "node2", "node3"}
        groups = prometheus.api("rules")["groups"]
        assert any(rule["name"] == "SettleNoLeader" for group in groups for rule in group["rules"])
        now = time.time()
        assert prometheus.query_range("sum(settle_raft_leader)", now - 5, now, 1.0)
    finally:
        prometheus.stop()
    assert not prometheus.alive()
