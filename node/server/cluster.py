"""settlement.v1.Cluster: this node's own view of Raft and its state, answered by any node."""

from __future__ import annotations

import grpc

from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.replica.port import ReplicaPort, ReplicaStatus, Role

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

    async def Status(self, request: cluster_pb2.StatusRequest, context: grpc.aio.ServicerContext):
        # Never gated on readiness: a replaying or diverged node must still be able to say so.
        return status_to_proto(self._replica.status())
