"""A partition made by the harness really cuts the traffic it claims to, and healing restores it.

Needs root and `ip netns` (as `make test` runs here); elsewhere the tests say why they skip."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from cluster.chaos.network import Topology, namespaces, netns_available, node_host

why_not = netns_available()
pytestmark = pytest.mark.skipif(bool(why_not), reason=f"partitions need network namespaces: {why_not}")

port = 9_000
connect_timeout_s = 1.0

_LISTEN = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(({host!r}, {port})); s.listen(64); print("listening", flush=True)
while True:
    c, _ = s.accept(); c.close()
"""
_CONNECT = "import socket; socket.create_connection(({host!r}, {port}), timeout={timeout}).close()"


@pytest.fixture
def topology():
    topology = Topology(3)
    topology.create()
    listeners = []
    try:
        for number in (1, 2, 3):
            listener = subprocess.Popen(topology.exec_prefix(number) + [sys.executable, "-c", _LISTEN.format(host=node_host(number), port=port)],
                                        stdout=subprocess.PIPE, text=True)
            assert listener.stdout.readline().strip() == "listening"
            listeners.append(listener)
        yield topology
    finally:
        for listener in listeners:
            listener.kill()
            listener.wait()
        topology.remove()


def _connects(topology: Topology, source: int | None, target: int) -> bool:
    """A TCP connect from node `source` (None: the hub, where the harness and clients run)."""
    code = [sys.executable, "-c", _CONNECT.format(host=node_host(target), port=port, timeout=connect_timeout_s)]
    return subprocess.run(topology.exec_prefix(source) + code, capture_output=True, timeout=10).returncode == 0


def test_before_a_partition_every_node_reaches_every_other(topology):
    assert all(_connects(topology, a, b) for a in (1, 2, 3) for b in (1, 2, 3) if a != b)


def test_an_isolated_node_reaches_no_peer_and_no_peer_reaches_it(topology):
    topology.partition([[1], [2, 3]])
    assert not _connects(topology, 1, 2) and not _connects(topology, 1, 3)
    assert not _connects(topology, 2, 1) and not _connects(topology, 3, 1)
    assert _connects(topology, 2, 3) and _connects(topology, 3, 2)  # the majority still talks
    assert _connects(topology, None, 1)  # clients on the hub still reach the isolated node


def test_healing_restores_the_traffic_the_partition_cut(topology):
    topology.partition([[1], [2, 3]])
    assert not _connects(topology, 1, 2)
    topology.heal()
    assert _connects(topology, 1, 2) and _connects(topology, 2, 1)
    assert topology.blackholes(1) == [] and topology.blackholes(2) == []


def test_a_bridge_cut_leaves_the_third_node_seeing_both(topology):
    topology.cut(1, 2)
    assert not _connects(topology, 1, 2) and not _connects(topology, 2, 1)
    assert _connects(topology, 3, 1) and _connects(topology, 3, 2) and _connects(topology, 1, 3)


def test_removing_the_topology_leaves_no_namespace_behind():
    topology = Topology(2)
    topology.create()
    assert set(topology.all_namespaces) <= set(namespaces())
    topology.remove()
    deadline = time.monotonic() + 5
    while set(topology.all_namespaces) & set(namespaces()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not set(topology.all_namespaces) & set(namespaces())
