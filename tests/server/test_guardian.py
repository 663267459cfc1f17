"""settlement.v1.Guardian over gRPC: a node co-signs a halt its own view agrees with, and says
why it refuses anything else."""

from __future__ import annotations

import grpc

from node.api.settlement.v1 import guardian_pb2, guardian_pb2_grpc
from node.identity.keys import raw_public_key, verify_ed25519
from node.identity.quorum import action_payload
from node.ledger.action_payload import action_bytes
from node.ledger.commands import ActionKind
from tests.ledger.driver import MARKET
from tests.ledger.governance import CLUSTER, NODES
from tests.server.fake_replica import NOT_READY, FakeReplica
from tests.server.governed_replica import NODE, governed_replica
from tests.server.serving import channel_to, run, serving


def halt_bytes(fake: FakeReplica, kind: ActionKind = ActionKind.HALT_MARKET, **fields) -> bytes:
    if kind in (ActionKind.HALT_MARKET, ActionKind.RESUME_MARKET):
        fields.setdefault("market", MARKET)
    return action_bytes(action_payload(CLUSTER, kind, 7, fake.time_ms + 300_000, 0, **fields))


def cosign(fake: FakeReplica, canonical_bytes: bytes):
    async def main():
        async with serving(fake) as server, channel_to(server) as channel:
            stub = guardian_pb2_grpc.GuardianStub(channel)
            try:
                return await stub.CoSignHalt(guardian_pb2.CoSignRequest(canonical_bytes=canonical_bytes), timeout=5)
            except grpc.aio.AioRpcError as error:
                return error

    return run(main)


def test_a_node_whose_oracle_view_is_stale_cosigns_a_halt_with_its_node_key(tmp_path):
    fake = governed_replica(tmp_path, stale=True)
    canonical = halt_bytes(fake)
    reply = cosign(fake, canonical)
    assert isinstance(reply, guardian_pb2.CoSignReply), reply
    assert reply.key_id == NODE and reply.reason == f"{MARKET}'s oracle verdict is STALE"
    assert verify_ed25519(raw_public_key(NODES[NODE]), canonical, reply.signature)


def test_a_node_whose_oracle_view_is_valid_refuses_with_the_reason(tmp_path):
    fake = governed_replica(tmp_path)
    error = cosign(fake, halt_bytes(fake))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "oracle is VALID" in error.details()


def test_a_node_never_cosigns_a_resume(tmp_path):
    fake = governed_replica(tmp_path, stale=True)
    error = cosign(fake, halt_bytes(fake, ActionKind.RESUME_MARKET))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == "a node co-signs only HALT_MARKET and GLOBAL_HALT; a RESUME_MARKET needs guardian signatures"


def test_a_node_without_a_key_answers_unavailable(tmp_path):
    fake = governed_replica(tmp_path, with_key=False, stale=True)
    error = cosign(fake, halt_bytes(fake))
    assert (error.code(), error.details()) == (grpc.StatusCode.UNAVAILABLE, "this node has no key")


def test_bytes_that_are_not_an_action_are_invalid_argument(tmp_path):
    fake = governed_replica(tmp_path, stale=True)
    for junk in (b"", b"\x00\xff", b'{"kind": "HALT_MARKET"}', b"settlement.v1/checkpoint\x00abc"):
        error = cosign(fake, junk)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, junk
        assert error.details().startswith("canonical_bytes: ")


def test_a_replaying_node_does_not_cosign(tmp_path):
    fake = governed_replica(tmp_path, stale=True)
    fake.mode = NOT_READY
    assert cosign(fake, halt_bytes(fake)).code() == grpc.StatusCode.UNAVAILABLE


def test_a_global_halt_is_cosigned_while_a_market_is_stale(tmp_path):
    fake = governed_replica(tmp_path, stale=True)
    reply = cosign(fake, halt_bytes(fake, ActionKind.GLOBAL_HALT))
    assert isinstance(reply, guardian_pb2.CoSignReply), reply
    assert reply.reason == f"{MARKET}'s oracle is STALE"
