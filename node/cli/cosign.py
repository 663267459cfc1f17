"""Asking one node to co-sign a halt (settlement.v1.Guardian.CoSignHalt), and checking its answer.

A node's signature only counts if its key is in the replicated signer set, so the answer is
verified against the public key that node's own replica lists for the key id it names: a node
that answers with someone else's key id, or a wrong signature, is refused here rather than at
submit time.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from node.api.settlement.v1 import guardian_pb2, guardian_pb2_grpc, settlement_pb2, settlement_pb2_grpc
from node.identity.keys import verify_ed25519
from node.tls.client import ClientTls, sync_channel

cosign_timeout_s_default = 5.0


class CoSignRefused(Exception):
    """The node does not agree (FAILED_PRECONDITION) or has no key (UNAVAILABLE, details say so)."""


class CoSignFailed(Exception):
    """No usable answer: the node is unreachable, or answered with a signature that does not verify."""


@dataclass(frozen=True, slots=True)
class CoSignature:
    key_id: str
    signature: bytes
    reason: str


def request_cosignature(address: str, canonical_bytes: bytes, timeout_s: float = cosign_timeout_s_default,
                        tls: ClientTls | None = None) -> CoSignature:
    """`tls`: a guardian's certificate (only guardians may ask a node to co-sign)."""
    with sync_channel(address, tls) as channel:
        try:
            reply = guardian_pb2_grpc.GuardianStub(channel).CoSignHalt(
                guardian_pb2.CoSignRequest(canonical_bytes=canonical_bytes), timeout=timeout_s
            )
            guards = settlement_pb2_grpc.SettlementStub(channel).GetGuards(
                settlement_pb2.GetGuardsRequest(consistency=settlement_pb2.LOCAL), timeout=timeout_s
            )
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""  # type: ignore[attr-defined]
            if code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT) or (
                    code == grpc.StatusCode.UNAVAILABLE and "no key" in details):
                raise CoSignRefused(f"{address} refused to co-sign: {details}") from None
            raise CoSignFailed(f"{address}: {code.name}: {details}") from None
    listed = {s.key_id: s for s in guards.signer_set.signers}
    signer = listed.get(reply.key_id)
    if signer is None or signer.role != "node":
        raise CoSignFailed(f"{address} signed as {reply.key_id!r}, which is not a node key of the signer set")
    if not verify_ed25519(signer.public_key, canonical_bytes, reply.signature):
        raise CoSignFailed(f"{address}'s signature as {reply.key_id} does not verify")
    return CoSignature(reply.key_id, reply.signature, reply.reason)
