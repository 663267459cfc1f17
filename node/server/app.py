"""Assembles the gRPC server: services, health, reflection, limits; starts and stops it."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node.api.settlement.v1 import cluster_pb2, log_pb2, settlement_pb2
from node.replica.port import ReplicaPort
from node.server.access import AccessInterceptor
from node.server.batch_precheck import BatchJudge
from node.server.cluster import ClusterService
from node.server.coalescer import SubmitCoalescer
from node.metrics import NodeMetrics
from node.port_check import AddressInUse
from node.server.guardian import GUARDIAN_SERVICE, NodeKeySource, add_guardian_service, no_node_key
from node.server.handlers import add_servicer
from node.server.health import CLUSTER_SERVICE, HEALTH_SERVICE, SETTLEMENT_SERVICE, HealthReporter
from node.server.limits import ServerOptions
from node.server.settlement import SettlementService
from node.server.transport import EXCLUSIVE_PORT_OPTIONS, add_port, health_only_server
from node.tls.server import ServerTls


class SettlementServer:
    """A started server. `port` is the bound port (useful with port 0); `stop(grace)` drains
    health, stops accepting calls, lets calls in flight finish for `grace` seconds, then stops
    the coalescer and the health task. `grpc_server` is the underlying grpc.aio.Server."""

    def __init__(self, grpc_server: grpc.aio.Server, port: int, coalescer: SubmitCoalescer, health: HealthReporter,
                 health_server: grpc.aio.Server | None = None, health_port: int = 0) -> None:
        self.grpc_server = grpc_server
        self.port = port
        self.health_server = health_server  # the plaintext health-only server, if any
        self.health_port = health_port
        self.coalescer = coalescer
        self._health = health
        self._stopped = False

    async def stop(self, grace: float | None = 1.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            await self._health.stop()
            await self.grpc_server.stop(grace)
            if self.health_server is not None:
                await self.health_server.stop(grace)
        finally:
            await self.coalescer.close()

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        return await self.grpc_server.wait_for_termination(timeout)


async def start_server(
    replica: ReplicaPort, listen_address: str, options: ServerOptions = ServerOptions(),
    tls: ServerTls | None = None, health_address: str = "", node_key: NodeKeySource = no_node_key,
    metrics: NodeMetrics | None = None,
) -> SettlementServer:
    """Serves Settlement, Cluster, Guardian, health and reflection on `listen_address` (host:port;
    port 0 picks a free one, see `.port`). With `tls`: mTLS, client certificates required, every
    call checked against the signer set (node/server/access.py); without (in-process tests):
    plaintext and unchecked. `health_address`: also serve health alone, plaintext, there (for
    load balancers without a certificate; see `.health_port`). `node_key`: the key the Guardian
    service co-signs halts with; `metrics`: the node's instruments (None: none observed).
    AddressInUse (an OSError) when the gRPC or the health address cannot be bound: a port is
    never shared with another process."""
    tls_files = tls.load() if tls is not None else None  # a bad file fails here, before anything binds
    grpc_server = grpc.aio.server(
        interceptors=[AccessInterceptor(replica)] if tls is not None else None,
        options=[
            # Larger requests are refused by grpc with RESOURCE_EXHAUSTED before any handler runs.
            ("grpc.max_receive_message_length", options.message_bytes_max),
            ("grpc.max_send_message_length", options.message_bytes_max),
            *EXCLUSIVE_PORT_OPTIONS,  # a taken port fails the bind instead of being shared
        ]
    )
    # A batch the ledger would refuse is answered before its entry is logged, never logged.
    judge = BatchJudge(replica, metrics.batch_refused_before_logging if metrics is not None else lambda code: None)
    coalescer = SubmitCoalescer(
        replica,
        entry_commands_max=options.entry_commands_max,
        coalesce_wait_ms=options.coalesce_wait_ms,
        submits_in_flight_max=options.submits_in_flight_max,
        queued_commands_max=options.submits_queued_commands_max,
        submit_timeout_ms=options.submit_timeout_ms,
        judge=judge.refusals,
    )
    health = HealthReporter(replica, options.health_period_ms)
    settlement = SettlementService(
        replica,
        coalescer,
        read_barrier_timeout_ms=options.read_barrier_timeout_ms,
        watch_queue_events_max=options.watch_queue_events_max,
        watch_replay_entries_per_read=options.watch_replay_entries_per_read,
        metrics=metrics,
    )
    # Submit keeps each command's bytes as sent: they are what the submitter signed and what is logged.
    add_servicer(grpc_server, settlement_pb2.DESCRIPTOR.services_by_name["Settlement"], settlement,
                 parse_requests_as={"Submit": log_pb2.SubmittedBatch})
    add_servicer(grpc_server, cluster_pb2.DESCRIPTOR.services_by_name["Cluster"], ClusterService(replica))
    add_guardian_service(grpc_server, replica, node_key)
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, grpc_server)
    reflection.enable_server_reflection(
        (SETTLEMENT_SERVICE, CLUSTER_SERVICE, GUARDIAN_SERVICE, HEALTH_SERVICE, reflection.SERVICE_NAME), grpc_server
    )
    try:
        port = add_port(grpc_server, listen_address, tls_files)
        health_server, health_port = health_only_server(health.servicer, health_address) if health_address else (None, 0)
    except AddressInUse:
        await grpc_server.stop(None)
        await coalescer.close()
        raise
    await health.start()
    try:
        await grpc_server.start()
        if health_server is not None:
            await health_server.start()
    except BaseException:
        await health.stop()
        await grpc_server.stop(None)
        await coalescer.close()
        raise
    return SettlementServer(grpc_server, port, coalescer, health, health_server, health_port)
