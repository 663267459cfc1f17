"""The gRPC shell (grpc.aio): decodes requests, hands batches to the replica, copies state out.

It decides nothing about money (node/ledger does) and never sees the consensus engine: it talks
to node/replica only through node.replica.port.ReplicaPort.
"""

from node.server.app import SettlementServer, start_server
from node.server.cluster import ClusterService
from node.server.coalescer import Overloaded, SubmitCoalescer
from node.server.errors import LEADER_METADATA_KEY
from node.server.limits import ServerOptions
from node.server.settlement import SettlementService

__all__ = [
    "ClusterService",
    "LEADER_METADATA_KEY",
    "Overloaded",
    "ServerOptions",
    "SettlementServer",
    "SettlementService",
    "SubmitCoalescer",
    "start_server",
]
