"""A node that cannot have its data directory or one of its ports to itself exits at once, with
its own exit code and a message naming the holder's pid or the address (node/main.py)."""

from __future__ import annotations

import subprocess

import pytest

from cluster.ports import health_port
from node.data_lock import holder_pid
from node.exit_codes import NodeExit
from tests.listener import listening

from .conftest import wait_for_port

node_exit_timeout_s = 60.0  # a refusing node exits after its imports; bounded for slow machines
node_serving_timeout_s = 60.0


def _exit_code_and_log(cluster, number: int) -> tuple[int, str]:
    code = cluster.processes[number].wait(timeout=node_exit_timeout_s)
    return code, (cluster.node_dir(number) / "node.log").read_text()


def test_a_second_node_on_the_same_data_dir_exits_naming_the_holders_pid(make_cluster):
    cluster = make_cluster(nodes=3, start=False)
    cluster.start(1)
    first = cluster.processes[1]
    spec = cluster.specs[0]
    wait_for_port(spec.host, spec.grpc_port, node_serving_timeout_s)
    assert holder_pid(cluster.node_dir(1)) == first.pid
    second = subprocess.run(cluster.node_command(1), capture_output=True, text=True, timeout=node_exit_timeout_s)
    assert second.returncode == NodeExit.DATA_DIR_LOCKED
    assert f"{cluster.node_dir(1)} is in use by pid {first.pid}" in second.stderr
    assert first.poll() is None  # the first node serves on, untouched


@pytest.mark.parametrize("service, port_of, code", [
    ("gRPC", lambda spec: spec.grpc_port, NodeExit.GRPC_PORT_TAKEN),
    ("Raft", lambda spec: spec.raft_port, NodeExit.RAFT_PORT_TAKEN),
    ("metrics", lambda spec: spec.metrics_port, NodeExit.METRICS_PORT_TAKEN),
    ("health", health_port, NodeExit.HEALTH_PORT_TAKEN),
])
def test_a_node_whose_port_another_process_holds_exits_naming_the_address(make_cluster, service, port_of, code):
    cluster = make_cluster(nodes=3, start=False)
    spec = cluster.specs[0]
    with listening(spec.host, port_of(spec)):  # SO_REUSEPORT, as a grpc server holds a port
        cluster.start(1)
        exit_code, log = _exit_code_and_log(cluster, 1)
    assert exit_code == code
    assert f"cannot listen for {service} on {spec.host}:{port_of(spec)}" in log
    assert not (cluster.node_dir(1) / "ledger").exists()  # refused before it opened its store
