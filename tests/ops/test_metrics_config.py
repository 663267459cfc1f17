"""`metrics_address` in a node's TOML, and the endpoint it starts."""

from __future__ import annotations

import os
import socket
import urllib.request
from pathlib import Path

import pytest

from node.config import ConfigError, load_config
from node.metrics import NodeMetrics, serve


def write_config(tmp_path: Path, extra: str) -> Path:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('raft_password = "0123456789abcdef0123"\n')
    os.chmod(secrets, 0o600)
    config = tmp_path / "node.toml"
    config.write_text(
        'node_id = "node1"\ncluster_id = "c"\ngrpc_address = "127.0.0.1:1"\nraft_address = "127.0.0.1:2"\n'
        f'data_dir = "."\nsecrets_file = "secrets.toml"\n{extra}\n'
    )
    return config


@pytest.mark.parametrize(("line", "expected"), [
    ("", ""), ('metrics_address = ""', ""), ('metrics_address = "0"', ""),
    ('metrics_address = "127.0.0.1:0"', ""), ('metrics_address = "127.0.0.1:9201"', "127.0.0.1:9201"),
])
def test_metrics_address_is_optional_and_port_0_means_off(tmp_path, line, expected):
    assert load_config(write_config(tmp_path, line)).metrics_address == expected


@pytest.mark.parametrize("value", ['"localhost"', '"host:port"', '"h:70000"', "9201"])
def test_a_malformed_metrics_address_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="metrics_address"):
        load_config(write_config(tmp_path, f"metrics_address = {value}"))


def test_serve_exposes_the_node_registry_and_stops():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    metrics = NodeMetrics()
    metrics.entries_applied.inc(3)
    assert serve(metrics.registry, "") is None
    server = serve(metrics.registry, f"127.0.0.1:{port}")
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "settle_entries_applied_total 3.0" in body
        assert "python_gc" not in body  # its own registry, not the process-global one
    finally:
        server.stop()
