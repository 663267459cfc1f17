"""Standard gRPC health checking, kept in step with the replica by a periodic task.

SERVING means "send me Submit and reads": the replica is caught up and not diverged. The Cluster
service answers in every state, so it is always SERVING.
"""

from __future__ import annotations

import asyncio
import logging

from grpc_health.v1 import health, health_pb2
from grpc_health.v1.health import aio as health_aio

from node.api.settlement.v1 import cluster_pb2, settlement_pb2
from node.replica.port import ReplicaPort

log = logging.getLogger(__name__)

SETTLEMENT_SERVICE = settlement_pb2.DESCRIPTOR.services_by_name["Settlement"].full_name
CLUSTER_SERVICE = cluster_pb2.DESCRIPTOR.services_by_name["Cluster"].full_name
HEALTH_SERVICE = health.SERVICE_NAME

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def serving(replica: ReplicaPort) -> bool:
    status = replica.status()
    return status.ready and not status.diverged


class HealthReporter:
    """Owns the health servicer and the task that refreshes it every `period_ms`."""

    def __init__(self, replica: ReplicaPort, period_ms: int) -> None:
        assert period_ms > 0, period_ms
        self.servicer = health_aio.HealthServicer()
        self._replica = replica
        self._period_s = period_ms / 1000
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.servicer.set(CLUSTER_SERVICE, SERVING)
        await self.refresh()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="health-reporter")

    async def refresh(self) -> None:
        try:
            state = SERVING if serving(self._replica) else NOT_SERVING
        except Exception:  # a failing replica is not serving; the reporter keeps going
            log.exception("replica.status() failed")
            state = NOT_SERVING
        await self.servicer.set(health.OVERALL_HEALTH, state)
        await self.servicer.set(SETTLEMENT_SERVICE, state)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._period_s)
            await self.refresh()

    async def stop(self) -> None:
        """NOT_SERVING for good, so load balancers drain this node during the grace period."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.servicer.enter_graceful_shutdown()
