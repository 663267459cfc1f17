"""settlement.v1.Cluster: this node's own view of Raft and its state, answered by any node."""

from __future__ import annotations

import asyncio

import grpc

from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.backup.format import backup_chunk_bytes
from node.replica.port import ReplicaPort, ReplicaStatus, Role, Unavailable
from node.server.errors import DIVERGED_DETAILS, answer

# Bounded waits of the operator RPCs: a membership entry commits in milliseconds on a healthy
# cluster; a drain needs a caught-up follower to win one election.
membership_timeout_s = 15.0
drain_timeout_s = 15.0

_ROLES = {
    Role.LEADER: cluster_pb2.ClusterStatus.LEADER,
    Role.FOLLOWER: cluster_pb2.ClusterStatus.FOLLOWER,
    Role.CANDIDATE: cluster_pb2.ClusterStatus.CANDIDATE,
}


def status_to_proto(status: ReplicaStatus) -> cluster_pb2.ClusterStatus:
    return cluster_pb2.ClusterStatus(
        node_id=status.node_id,
        role=_ROLES[status.role],
        leader=status.leader_id or "",
        term=status.term,
        commit_index=status.commit_index,
        applied_index=status.applied_index,
        state_hash=status.state_hash,
        peers=[
            cluster_pb2.Peer(node_id=p.node_id, address=p.address, connected=p.connected, match_index=p.match_index)
            for p in status.peers
        ],
        ready=status.ready,
        diverged=status.diverged,
        diverged_reason=status.diverged_reason,
        verified_checkpoint_index=status.verified_checkpoint_index,
        signer_set_problem=status.signer_set_problem,
        diverged_copies=list(status.diverged_copies),
    )


class ClusterService(cluster_pb2_grpc.ClusterServicer):
    def __init__(self, replica: ReplicaPort) -> None:
        self._replica = replica
        self._backup_running = False  # one backup at a time: each one is a full copy on disk

    async def Status(self, request: cluster_pb2.StatusRequest, context: grpc.aio.ServicerContext):
        # Never gated on readiness: a replaying or diverged node must still be able to say so.
        return status_to_proto(self._replica.status())

    async def Backup(self, request: cluster_pb2.BackupRequest, context: grpc.aio.ServicerContext):
        """The store copied in one read transaction (node/backup), streamed in bounded chunks.
        Served by a replaying node too (its store is consistent, only older); never by a
        diverged one; RESOURCE_EXHAUSTED while another backup of this node runs."""
        status = self._replica.status()
        if status.diverged:
            reason = f" ({status.diverged_reason})" if status.diverged_reason else ""
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, DIVERGED_DETAILS + reason)
        if self._backup_running:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "a backup of this node is already running")
        self._backup_running = True
        try:
            loop = asyncio.get_running_loop()
            try:
                _, file = await loop.run_in_executor(None, self._replica.backup)
            except Unavailable as error:
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
            with file:
                while chunk := await loop.run_in_executor(None, file.read, backup_chunk_bytes):
                    yield cluster_pb2.BackupChunk(data=chunk)
        finally:
            self._backup_running = False

    async def ChangeMembership(self, request: cluster_pb2.MembershipRequest, context: grpc.aio.ServicerContext):
        if request.action not in (cluster_pb2.MembershipRequest.ADD, cluster_pb2.MembershipRequest.REMOVE):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "action must be ADD or REMOVE")
        host, _, port = request.raft_address.rpartition(":")
        if not host or not port.isdigit():
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "raft_address must be host:port")
        add = request.action == cluster_pb2.MembershipRequest.ADD
        ok, reason = await answer(context, self._replica.change_membership(add, request.raft_address, request.node_id, request.grpc_address,
                                                  membership_timeout_s))
        return cluster_pb2.MembershipResult(ok=ok, reason=reason, members=self._replica.members())

    async def Drain(self, request: cluster_pb2.DrainRequest, context: grpc.aio.ServicerContext):
        ok, reason, new_leader = await answer(context, self._replica.drain(drain_timeout_s))
        return cluster_pb2.DrainResult(ok=ok, reason=reason, new_leader=new_leader)
