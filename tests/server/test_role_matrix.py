"""Access control over real mTLS: every role tries every RPC, and only the ones the matrix allows
get past the gate (docs/design.md#access-control). The server is in-process on a FakeReplica whose
ledger holds a signer set with one identity per role; the certificates are real.

"Admitted" means the call reached its handler: any answer but PERMISSION_DENIED or
UNAUTHENTICATED (the handler may still say NOT_FOUND, FAILED_PRECONDITION, or refuse commands
per result code: that is the ledger's and the handler's business, not the gate's).
"""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cluster.local import LOCAL_POLICY
from node.api.settlement.v1 import (
    cluster_pb2,
    cluster_pb2_grpc,
    guardian_pb2,
    guardian_pb2_grpc,
    settlement_pb2,
    settlement_pb2_grpc,
)
from node.client import commands as build
from node.codec.commands import command_to_proto
from node.identity.keys import private_key_from_seed, verify_ed25519
from node.identity.quorum import action_payload, signed_action, signer_entry_for
from node.ledger import LogEntry, apply
from node.ledger.commands import ActionKind, Deposit
from node.ledger.governance import POLICY_FIELDS, ROLES
from node.server import start_server
from node.server.access import ANY_CERTIFICATE, PUBLIC, RPC_ROLES
from node.tls.client import ClientTls, aio_channel
from tests.server.fake_replica import FakeReplica
from tests.server.serving import LOOPBACK, run
from tests.tls.material import client_tls, cluster_tls, server_tls

CLUSTER = "matrix-cluster"
READER_ACCOUNTS = ["alice"]
# key id -> role: one identity per role of the signer set.
IDENTITIES = {
    "node1": "node", "guardian1": "guardian", "settler": "settler", "custodian": "custodian", "oracle": "oracle",
    "operator": "operator", "auditor": "auditor", "reader": "reader",
}
STRANGER = "stranger"  # a certificate of the cluster CA for an identity the signer set does not know
KEYS = {key_id: private_key_from_seed(f"matrix {key_id}") for key_id in IDENTITIES}
call_timeout_s = 5
stream_wait_s = 0.5  # an admitted stream with nothing to send yet just waits: then it was admitted

# The specification: which roles may call what. Written out again (not read from node/server/
# access.py) so that a change to the table is a change to this test too.
EVERY = set(IDENTITIES.values())
EXPECTED = {
    "/settlement.v1.Settlement/Submit": {"settler", "custodian", "oracle", "operator", "guardian", "node"},
    "/settlement.v1.Settlement/GetAccount": {"operator", "auditor", "node", "reader"},
    "/settlement.v1.Settlement/GetMarket": EVERY,
    "/settlement.v1.Settlement/GetGuards": EVERY,
    "/settlement.v1.Settlement/GetCheckpoint": {"operator", "auditor", "node", "guardian"},
    "/settlement.v1.Settlement/GetCheckpointDump": {"operator", "auditor", "node"},
    "/settlement.v1.Settlement/WatchEvents": {"operator", "auditor", "guardian", "node"},
    "/settlement.v1.Cluster/Status": EVERY,
    "/settlement.v1.Cluster/Backup": {"operator", "auditor", "node"},
    "/settlement.v1.Cluster/ChangeMembership": {"operator"},
    "/settlement.v1.Cluster/Drain": {"operator"},
    "/settlement.v1.Guardian/CoSignHalt": {"guardian"},
}


def _signers() -> list[dict]:
    entries = []
    for key_id, role in IDENTITIES.items():
        entry = signer_entry_for(key_id, role, KEYS[key_id])
        entries.append(dict(entry, accounts=READER_ACCOUNTS) if role == "reader" else entry)
    return sorted(entries, key=lambda e: e["key_id"])


def _policy() -> dict:
    one_each = {"halt_threshold": 1, "resume_threshold": 1, "checkpoint_threshold": 1}  # one node, one guardian
    return {field: one_each.get(field, LOCAL_POLICY[field]) for field in POLICY_FIELDS}


def governed(*, installed: bool = True) -> FakeReplica:
    """alice and bob hold collateral; with `installed`, the signer set of IDENTITIES is in."""
    fake = FakeReplica("node1")
    fake.time_ms = build.now_ms()
    apply(fake.state, LogEntry(1, fake.time_ms, (Deposit("d-alice", "alice", 100), Deposit("d-bob", "bob", 100))), verify_ed25519)
    if installed:
        payload = action_payload(CLUSTER, ActionKind.SET_SIGNERS, 1, fake.time_ms + 300_000, 0, signers=_signers(), policy=_policy())
        outcome = apply(fake.state, LogEntry(2, fake.time_ms + 1, (signed_action("genesis", payload, KEYS),)), verify_ed25519)
        assert outcome.results[0].ok, outcome.results[0]
    return fake


def _deposit_request() -> settlement_pb2.SubmitRequest:
    return settlement_pb2.SubmitRequest(commands=[command_to_proto(build.deposit("carol", 1))])


# method -> how to call it on a channel (returns when the handler answered or a stream waited).
async def _unary(call, request):
    return await call(request, timeout=call_timeout_s)


async def _stream(call, request):
    stream = call(request, timeout=stream_wait_s)
    try:
        async for _ in stream:
            break
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # waiting for events: admitted
            raise


def _calls(ch: grpc.aio.Channel):
    settlement = settlement_pb2_grpc.SettlementStub(ch)
    cluster = cluster_pb2_grpc.ClusterStub(ch)
    guardian = guardian_pb2_grpc.GuardianStub(ch)
    local = settlement_pb2.LOCAL
    return {
        "/settlement.v1.Settlement/Submit": lambda: _unary(settlement.Submit, _deposit_request()),
        "/settlement.v1.Settlement/GetAccount": lambda: _unary(settlement.GetAccount, settlement_pb2.GetAccountRequest(account="alice", consistency=local)),
        "/settlement.v1.Settlement/GetMarket": lambda: _unary(settlement.GetMarket, settlement_pb2.GetMarketRequest(market="BTC-PERP", consistency=local)),
        "/settlement.v1.Settlement/GetGuards": lambda: _unary(settlement.GetGuards, settlement_pb2.GetGuardsRequest(consistency=local)),
        "/settlement.v1.Settlement/GetCheckpoint": lambda: _unary(settlement.GetCheckpoint, settlement_pb2.GetCheckpointRequest()),
        "/settlement.v1.Settlement/GetCheckpointDump": lambda: _stream(settlement.GetCheckpointDump, settlement_pb2.GetCheckpointDumpRequest()),
        "/settlement.v1.Settlement/WatchEvents": lambda: _stream(settlement.WatchEvents, settlement_pb2.WatchEventsRequest()),
        "/settlement.v1.Cluster/Status": lambda: _unary(cluster.Status, cluster_pb2.StatusRequest()),
        "/settlement.v1.Cluster/Backup": lambda: _stream(cluster.Backup, cluster_pb2.BackupRequest()),
        # An empty membership request is refused by its handler (INVALID_ARGUMENT) once admitted.
        "/settlement.v1.Cluster/ChangeMembership": lambda: _unary(cluster.ChangeMembership, cluster_pb2.MembershipRequest()),
        "/settlement.v1.Cluster/Drain": lambda: _unary(cluster.Drain, cluster_pb2.DrainRequest()),
        "/settlement.v1.Guardian/CoSignHalt": lambda: _unary(guardian.CoSignHalt, guardian_pb2.CoSignRequest(canonical_bytes=b"{}")),
    }


async def _outcome(call) -> grpc.StatusCode:
    try:
        await call()
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _admitted(code: grpc.StatusCode) -> bool:
    return code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


@contextlib.asynccontextmanager
async def mtls_server(tmp_path, replica: FakeReplica):
    directory = cluster_tls(tmp_path, (*(k for k in IDENTITIES if k != "node1"), STRANGER))
    server = await start_server(replica, f"{LOOPBACK}:0", tls=server_tls(directory))
    try:
        yield server, directory
    finally:
        await server.stop(grace=0.2)


async def _try_every_rpc(port: int, tls: ClientTls) -> dict[str, grpc.StatusCode]:
    async with aio_channel(f"{LOOPBACK}:{port}", tls) as ch:
        calls = _calls(ch)
        codes = await asyncio.gather(*(_outcome(call) for call in calls.values()))
        return dict(zip(calls, codes))


def test_the_table_names_every_method_of_every_service_the_node_serves():
    from node.api.settlement.v1 import cluster_pb2 as c, guardian_pb2 as g, settlement_pb2 as s

    served = {f"/{service.full_name}/{method.name}"
              for module in (s, c, g) for service in module.DESCRIPTOR.services_by_name.values() for method in service.methods}
    assert served == set(EXPECTED)
    assert served | {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                     "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"} <= set(RPC_ROLES)
    assert {m: set(r) for m, r in RPC_ROLES.items() if r not in (PUBLIC, ANY_CERTIFICATE)} == EXPECTED
    assert EVERY == set(ROLES)  # the matrix tries every role the signer set knows


@pytest.mark.parametrize("identity", IDENTITIES)
def test_each_role_is_admitted_exactly_where_the_matrix_allows(tmp_path, identity):
    replica = governed()
    role = IDENTITIES[identity]

    async def main():
        async with mtls_server(tmp_path, replica) as (server, directory):
            return await _try_every_rpc(server.port, client_tls(directory, identity))

    codes = run(main)
    admitted = {method for method, code in codes.items() if _admitted(code)}
    allowed = {method for method, roles in EXPECTED.items() if role in roles}
    assert admitted == allowed, {m: codes[m].name for m in admitted ^ allowed}
    assert all(codes[m] == grpc.StatusCode.PERMISSION_DENIED for m in set(codes) - allowed)


@pytest.mark.parametrize("identity", [k for k, role in IDENTITIES.items() if role in ("auditor", "reader")])
def test_a_denied_submit_applies_nothing(tmp_path, identity):
    replica = governed()
    applied = replica.state.applied_index

    async def main():
        async with mtls_server(tmp_path, replica) as (server, directory):
            async with aio_channel(f"{LOOPBACK}:{server.port}", client_tls(directory, identity)) as ch:
                return await _outcome(lambda: _unary(settlement_pb2_grpc.SettlementStub(ch).Submit, _deposit_request()))

    assert run(main) == grpc.StatusCode.PERMISSION_DENIED
    assert replica.submit_calls == []
    assert replica.state.applied_index == applied


def _read_account(account: str, identity: str, replica: FakeReplica, tmp_path):
    async def main():
        async with mtls_server(tmp_path, replica) as (server, directory):
            async with aio_channel(f"{LOOPBACK}:{server.port}", client_tls(directory, identity)) as ch:
                request = settlement_pb2.GetAccountRequest(account=account, consistency=settlement_pb2.LOCAL)
                return await settlement_pb2_grpc.SettlementStub(ch).GetAccount(request, timeout=call_timeout_s)

    return run(main)


def test_a_reader_reads_its_own_account(tmp_path):
    account = _read_account("alice", "reader", governed(), tmp_path)
    assert account.collateral == 100


def test_a_reader_is_denied_another_account(tmp_path):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        _read_account("bob", "reader", governed(), tmp_path)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_an_identity_unknown_to_the_signer_set_is_denied_everything_but_health_and_reflection(tmp_path):
    replica = governed()

    async def main():
        async with mtls_server(tmp_path, replica) as (server, directory):
            tls = client_tls(directory, STRANGER)
            codes = await _try_every_rpc(server.port, tls)
            async with aio_channel(f"{LOOPBACK}:{server.port}", tls) as ch:
                health = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=call_timeout_s)
                listed = reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=call_timeout_s)
                reflected = [reply async for reply in listed]
            return codes, health, reflected

    codes, health, reflected = run(main)
    assert set(codes.values()) == {grpc.StatusCode.PERMISSION_DENIED}
    assert replica.submit_calls == []
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert reflected and reflected[0].list_services_response.service


def test_before_a_signer_set_is_installed_any_certificate_of_the_cluster_ca_may_submit(tmp_path):
    replica = governed(installed=False)

    async def main():
        async with mtls_server(tmp_path, replica) as (server, directory):
            async with aio_channel(f"{LOOPBACK}:{server.port}", client_tls(directory, STRANGER)) as ch:
                return await settlement_pb2_grpc.SettlementStub(ch).Submit(_deposit_request(), timeout=call_timeout_s)

    run(main)
    assert replica.submit_calls == [(1,)]


# -- command kinds: the ledger's check of the signed batch, reached over mTLS -----------------

# The specification: which command kinds each role's signed batch may carry. A custodian submits
# an EmergencyAction too: the k-of-n CUSTODY_WITHDRAW (docs/design.md#custody-quorum).
KINDS_ALLOWED = {
    "settler": {"SettleTrade"}, "custodian": {"Deposit", "Withdraw", "EmergencyAction"}, "oracle": {"PriceUpdate"},
    "operator": {"CreateMarket"}, "guardian": {"EmergencyAction"}, "node": {"CheckpointVote", "EmergencyAction"},
}


def _one_of_each_kind(n: int) -> list:
    from node.ledger.commands import MarketKind
    from node.identity.quorum import checkpoint_vote

    now = build.now_ms()
    halt = action_payload(CLUSTER, ActionKind.HALT_MARKET, 10 + n, now + 300_000, 0, market="BTC-PERP")
    return [
        build.settle_trade("BTC-PERP", "alice", "bob", 50_000, 1, id=f"trade-{n}"),
        build.deposit("carol", 5, id=f"deposit-{n}"),
        build.withdraw("alice", 1, id=f"withdraw-{n}"),
        build.price_update("BTC-PERP", "src-a", 50_000, now, signature=bytes(64), id=f"price-{n}"),
        build.create_market(f"M{n}-PERP", MarketKind.PERPETUAL, sources=[build.oracle_source("src-a", KEYS["oracle"])], id=f"market-{n}"),
        signed_action(f"halt-{n}", halt, {"guardian1": KEYS["guardian1"]}),
        checkpoint_vote(f"vote-{n}", CLUSTER, "node1", KEYS["node1"], 1, bytes(32)),
    ]


@pytest.mark.parametrize("identity", [k for k, role in IDENTITIES.items() if role in KINDS_ALLOWED])
def test_each_role_may_submit_only_its_command_kinds(tmp_path, identity):
    from node.api.settlement.v1 import log_pb2
    from node.identity.batch_signing import BatchSigner, batch_to_send
    from node.identity.credentials import SigningKey
    from node.ledger.results import ResultCode

    replica = governed()
    role = IDENTITIES[identity]
    signer = BatchSigner()
    commands = _one_of_each_kind(0)

    async def main():
        async with mtls_server(tmp_path, replica) as (server, directory):
            async with aio_channel(f"{LOOPBACK}:{server.port}", client_tls(directory, identity)) as ch:
                # The request sent as it was signed: each command's bytes as encoded once.
                submit = ch.unary_unary("/settlement.v1.Settlement/Submit", request_serializer=log_pb2.SubmittedBatch.SerializeToString,
                                        response_deserializer=settlement_pb2.SubmitResponse.FromString)
                codes = {}
                for command in commands:  # one batch per kind, signed by this role's own key
                    request = batch_to_send([command_to_proto(command)])
                    signer.sign(request, SigningKey(identity, role, KEYS[identity]), CLUSTER)
                    reply = await submit(request, timeout=call_timeout_s)
                    codes[type(command).__name__] = ResultCode(reply.results[0].code)
                return codes

    codes = run(main)
    refused = {kind for kind, code in codes.items() if code == ResultCode.WRONG_ROLE}
    assert set(codes) - refused == KINDS_ALLOWED[role], {k: c.name for k, c in codes.items()}
    # The allowed kinds passed the batch check; what the ledger then said is about the command
    # (no market listed here: UNKNOWN_MARKET), never about the signature.
    batch_refusals = {ResultCode.UNKNOWN_SIGNER, ResultCode.INVALID_SIGNATURE, ResultCode.UNSIGNED_BATCH,
                      ResultCode.SEQUENCE_REPLAYED, ResultCode.SEQUENCE_TOO_OLD}
    assert not {codes[kind] for kind in KINDS_ALLOWED[role]} & batch_refusals, codes
