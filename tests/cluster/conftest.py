"""Fixtures that start real node processes on 127.0.0.1 and always stop them."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.local import LocalCluster
from cluster.ports import health_port_offset, metrics_port_offset, raft_port_offset

from .probe import trust


def _ports_free(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base_port(nodes: int) -> int:
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 40_000, 200)
        ports = [base + offset + i for offset in (0, raft_port_offset, metrics_port_offset, health_port_offset) for i in range(1, nodes + 1)]
        if _ports_free(ports):
            return base
    raise RuntimeError("no free port range on 127.0.0.1")


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} did not open within {timeout_s}s")


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator:
    """make_cluster(nodes=3, **options) -> a started LocalCluster; every one is stopped at the end."""
    started: list[LocalCluster] = []

    def make(nodes: int = 3, start: bool = True, **options) -> LocalCluster:
        cluster = LocalCluster(tmp_path / f"cluster{len(started)}", nodes=nodes, base_port=free_base_port(nodes), **options)
        cluster.prepare()
        trust(cluster)
        started.append(cluster)
        if start:
            cluster.start()
        return cluster

    yield make
    for cluster in started:
        cluster.stop()
