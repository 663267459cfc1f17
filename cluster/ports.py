"""Where each node of a local cluster listens: one base port, one offset per service.

Node i (1-based) serves gRPC on base_port + i, Raft on base_port + 100 + i, Prometheus metrics on
base_port + 200 + i and health alone, plaintext, on base_port + 400 + i (for load balancers).
The launcher, its TLS settings, the chaos harness and the benchmarks all place nodes by these
offsets, so they live apart from any of them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

raft_port_offset = 100
metrics_port_offset = 200  # node i serves Prometheus metrics on base_port + 200 + i
health_port_offset = 400  # node i answers grpc.health.v1 in plaintext on base_port + 400 + i
node_port_offsets = (0, raft_port_offset, metrics_port_offset, health_port_offset)
free_base_port_search_ports = 2_000  # how far past the preferred base port free_base_port looks
free_base_port_step_ports = 20


@dataclass(frozen=True, slots=True)
class NodeSpec:
    number: int
    node_id: str
    host: str
    grpc_port: int
    raft_port: int
    metrics_port: int = 0  # 0: no metrics endpoint

    @property
    def grpc_address(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def raft_address(self) -> str:
        return f"{self.host}:{self.raft_port}"

    @property
    def metrics_address(self) -> str:
        return f"{self.host}:{self.metrics_port}" if self.metrics_port else ""


def node_specs(nodes: int, base_port: int, host: str = "127.0.0.1") -> list[NodeSpec]:
    return [NodeSpec(i, f"node{i}", host, base_port + i, base_port + raft_port_offset + i, base_port + metrics_port_offset + i)
            for i in range(1, nodes + 1)]


def health_port(spec: NodeSpec) -> int:
    return spec.grpc_port + health_port_offset


def ports_free(ports: list[int], host: str = "127.0.0.1") -> bool:
    """True if every port can be bound on `host` right now."""
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_base_port(preferred: int, nodes: int = 3, extra_offsets: tuple[int, ...] = (), host: str = "127.0.0.1") -> int:
    """The first base port from `preferred` on whose every node port (and each base + extra
    offset, e.g. a Prometheus beside the cluster) is free, so a benchmark never meets a cluster
    someone else left running."""
    for base in range(preferred, preferred + free_base_port_search_ports, free_base_port_step_ports):
        ports = [base + offset + i for offset in node_port_offsets for i in range(1, nodes + 1)]
        if ports_free(ports + [base + offset for offset in extra_offsets], host):
            return base
    raise SystemExit(f"no free block of ports from {preferred}")
