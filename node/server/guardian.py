"""settlement.v1.Guardian: a node co-signs a halt with its node key when its own view agrees.

The rule (node/server/cosign_policy.py) runs on this replica's LOCAL state, under its lock: a
node vouches for what it sees itself, never for what the proposer claims or what the leader says.
The node key is the file the node's configuration names (`config.node_key_file`, key id
`config.node_key_id`: the node id), handed in by node/main.py as a `NodeKeySource`; a node
without one answers UNAVAILABLE, so a proposer asks another node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.api.settlement.v1 import guardian_pb2, guardian_pb2_grpc
from node.config import ConfigError, NodeConfig, load_node_key
from node.identity.keys import raw_public_key
from node.ledger.action_payload import parse_action
from node.replica.port import ReplicaPort
from node.server.cosign_policy import cosign_verdict
from node.server.errors import Refused, answer, require_serving
from node.server.handlers import add_servicer

NO_KEY_DETAILS = "this node has no key"


@dataclass(frozen=True, slots=True)
class NodeKey:
    key_id: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.private_key)


GUARDIAN_SERVICE = guardian_pb2.DESCRIPTOR.services_by_name["Guardian"].full_name

# Gives this node's signing key when asked, or None when it has none.
NodeKeySource = Callable[[], "NodeKey | None"]


def no_node_key() -> NodeKey | None:
    return None


def node_key_from_config(config: NodeConfig) -> NodeKey | None:
    """This node's signing key: the file `config.node_key_file` names, read as the node reads it
    at startup (node.config.load_node_key), under key id `config.node_key_id`. None when the
    config names no key. Read on each use: co-signing is rare, and a replaced key file counts."""
    try:
        key = load_node_key(config)
    except ConfigError as error:
        raise Refused(grpc.StatusCode.UNAVAILABLE, f"{NO_KEY_DETAILS} it can use: {error}") from None
    return NodeKey(config.node_key_id, key) if key is not None else None


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class GuardianService(guardian_pb2_grpc.GuardianServicer):
    def __init__(self, replica: ReplicaPort, key: NodeKeySource) -> None:
        self._replica = replica
        self._key = key

    async def CoSignHalt(self, request: guardian_pb2.CoSignRequest, context: grpc.aio.ServicerContext):
        return await answer(context, self._cosign(request.canonical_bytes))

    async def _cosign(self, canonical_bytes: bytes) -> guardian_pb2.CoSignReply:
        action, problem = parse_action(canonical_bytes)
        if problem:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"canonical_bytes: {problem}")
        require_serving(self._replica)
        key = self._key()
        if key is None:
            raise Refused(grpc.StatusCode.UNAVAILABLE, NO_KEY_DETAILS)
        now_ms = wall_clock_ms()
        verdict, _ = self._replica.read(
            lambda state: cosign_verdict(state, action, key.key_id, key.public_key, max(now_ms, state.ledger_time_ms))
        )
        if not verdict.agrees:
            raise Refused(grpc.StatusCode.FAILED_PRECONDITION, verdict.reason)
        # parse_action accepted these bytes as canonical: they are exactly what the ledger verifies.
        return guardian_pb2.CoSignReply(key_id=key.key_id, signature=key.private_key.sign(canonical_bytes), reason=verdict.reason)


def add_guardian_service(grpc_server: grpc.aio.Server, replica: ReplicaPort, node_key: NodeKeySource) -> None:
    """Serves Guardian on `grpc_server`, signing with the key `node_key` gives."""
    service = GuardianService(replica, node_key)
    add_servicer(grpc_server, guardian_pb2.DESCRIPTOR.services_by_name["Guardian"], service)
