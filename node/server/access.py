"""Who may call what: the one table of RPC -> roles, and the interceptor that enforces it.

The caller's identity is its client certificate's CommonName (the TLS handshake already proved
the certificate is the cluster CA's and unexpired); its role comes only from the replicated
signer set (node.ledger.governance.signer), never from the certificate, so replacing the signer
set by a quorum changes who may do what on every node at the same log index.

- Before a signer set is installed (bootstrap), every certificate of the cluster CA may call
  everything: the genesis SET_SIGNERS must be submittable.
- After it, an identity missing from the set is PERMISSION_DENIED, and so is a role the table
  does not list for the method. A reader may read only the accounts its entry lists.
- Health (grpc.health.v1) needs no role; reflection needs only a valid certificate.
- A method missing from the table is refused: a new RPC is closed until someone decides who may
  call it (a test checks that the table names every method of every service).

Submit is gated here by role only; which command kinds a role may submit is the ledger's check
of the signed batch (node.ledger.signed_batches). The handler may read the caller this
interceptor found through `current_caller()`.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import grpc

from node.ledger.governance import (
    ROLE_AUDITOR,
    ROLE_CUSTODIAN,
    ROLE_GUARDIAN,
    ROLE_NODE,
    ROLE_OPERATOR,
    ROLE_ORACLE,
    ROLE_READER,
    ROLE_SETTLER,
    policy,
    signer,
)
from node.replica.port import ReplicaPort

log = logging.getLogger(__name__)

HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_SERVICES = ("grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection")

PUBLIC = "public"  # no role needed (health: load balancers; on the mTLS port it still takes a certificate)
ANY_CERTIFICATE = "any-certificate"  # a certificate of the cluster CA, known to the signer set or not

_EVERY_ROLE = frozenset(
    (ROLE_NODE, ROLE_GUARDIAN, ROLE_SETTLER, ROLE_CUSTODIAN, ROLE_ORACLE, ROLE_OPERATOR, ROLE_AUDITOR, ROLE_READER)
)
_WHOLE_STATE_READERS = frozenset((ROLE_OPERATOR, ROLE_AUDITOR, ROLE_NODE))

# The access matrix: "/package.Service/Method" -> the roles that may call it. One table, total
# over the API (tests/server/test_role_matrix.py checks both).
RPC_ROLES: Mapping[str, frozenset[str] | str] = {
    # Writes: the ledger decides per command kind, by the signing key's role.
    "/settlement.v1.Settlement/Submit": frozenset(
        (ROLE_SETTLER, ROLE_CUSTODIAN, ROLE_ORACLE, ROLE_OPERATOR, ROLE_GUARDIAN, ROLE_NODE)),
    # A reader only for the accounts its signer entry lists (ACCOUNT_SCOPED below).
    "/settlement.v1.Settlement/GetAccount": frozenset((ROLE_OPERATOR, ROLE_AUDITOR, ROLE_NODE, ROLE_READER)),
    "/settlement.v1.Settlement/GetMarket": _EVERY_ROLE,
    "/settlement.v1.Settlement/GetGuards": _EVERY_ROLE,
    "/settlement.v1.Settlement/GetCheckpoint": frozenset((ROLE_OPERATOR, ROLE_AUDITOR, ROLE_NODE, ROLE_GUARDIAN)),
    # A checkpoint's state dump holds every account: only those who may read everything.
    "/settlement.v1.Settlement/GetCheckpointDump": _WHOLE_STATE_READERS,
    "/settlement.v1.Settlement/WatchEvents": frozenset((ROLE_OPERATOR, ROLE_AUDITOR, ROLE_GUARDIAN, ROLE_NODE)),
    "/settlement.v1.Cluster/Status": _EVERY_ROLE,
    # A backup is the whole store: the same readers as a checkpoint dump.
    "/settlement.v1.Cluster/Backup": _WHOLE_STATE_READERS,
    # Membership and leadership changes can take the cluster down: the operator alone.
    "/settlement.v1.Cluster/ChangeMembership": frozenset((ROLE_OPERATOR,)),
    "/settlement.v1.Cluster/Drain": frozenset((ROLE_OPERATOR,)),
    "/settlement.v1.Guardian/CoSignHalt": frozenset((ROLE_GUARDIAN,)),
    f"/{HEALTH_SERVICE}/Check": PUBLIC,
    f"/{HEALTH_SERVICE}/Watch": PUBLIC,
    **{f"/{service}/ServerReflectionInfo": ANY_CERTIFICATE for service in REFLECTION_SERVICES},
}

# Methods a reader may call for the accounts its entry lists: method -> the request's account.
ACCOUNT_SCOPED: Mapping[str, Callable[[object], object]] = {
    "/settlement.v1.Settlement/GetAccount": lambda request: getattr(request, "account", None),
}


@dataclass(frozen=True, slots=True)
class Caller:
    identity: str  # the certificate's CommonName
    role: str | None  # its role in the signer set; None before a signer set is installed
    accounts: tuple[str, ...] = ()  # a reader's accounts


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("settle_caller", default=None)


def current_caller() -> Caller | None:
    """The caller of the RPC being handled (set by AccessInterceptor; None without mTLS)."""
    return _caller.get()


def certificate_identity(context: grpc.aio.ServicerContext) -> str | None:
    """The client certificate's CommonName, or None when the call came without TLS or without a
    certificate (require_client_auth makes the latter impossible on the mTLS port)."""
    auth = context.auth_context() or {}
    if auth.get("transport_security_type") != [b"ssl"]:
        return None
    names = auth.get("x509_common_name") or []
    if len(names) != 1:
        return None
    try:
        return names[0].decode("utf-8")
    except UnicodeDecodeError:
        return None


class Denied(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def authorize(replica: ReplicaPort, method: str, identity: str | None, request: object) -> Caller | None:
    """The caller if `identity` may call `method` with `request`, else raises Denied. Pure
    except for one read of the replica's signer set."""
    rule = RPC_ROLES.get(method)
    if rule is None:
        raise Denied(grpc.StatusCode.PERMISSION_DENIED, f"{method} is not open to any role")
    if rule == PUBLIC:
        return None
    if identity is None:
        raise Denied(grpc.StatusCode.UNAUTHENTICATED, "a client certificate of the cluster CA is required")
    if rule == ANY_CERTIFICATE:
        return Caller(identity, None)
    (installed, entry), _ = replica.read(lambda state: (policy(state) is not None, signer(state, identity)))
    if not installed:
        return Caller(identity, None)  # bootstrap: the genesis signer set must be submittable
    if entry is None:
        raise Denied(grpc.StatusCode.PERMISSION_DENIED, f"identity {identity!r} is not in the signer set")
    role = entry.get("role")
    caller = Caller(identity, role, tuple(entry.get("accounts", ())))
    if role not in rule:
        raise Denied(grpc.StatusCode.PERMISSION_DENIED, f"role {role} of {identity!r} may not call {method}")
    account_of = ACCOUNT_SCOPED.get(method)
    if role == ROLE_READER and account_of is not None:
        account = account_of(request)
        if account not in caller.accounts:
            raise Denied(grpc.StatusCode.PERMISSION_DENIED, f"reader {identity!r} may not read account {account!r}")
    return caller


class AccessInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every method handler of an mTLS server with `authorize`. The check runs inside the
    handler (not before it) because only the handler's context carries the peer's certificate,
    and a reader's check needs the parsed request."""

    def __init__(self, replica: ReplicaPort) -> None:
        self._replica = replica

    async def intercept_service(self, continuation, handler_call_details: grpc.HandlerCallDetails):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # unknown method: grpc answers UNIMPLEMENTED
        return _guarded(handler, handler_call_details.method, self._replica)


async def _admit(replica: ReplicaPort, method: str, request: object, context: grpc.aio.ServicerContext) -> None:
    identity = certificate_identity(context)
    try:
        caller = authorize(replica, method, identity, request)
    except Denied as denied:
        log.info("refused %s for %s: %s", method, identity or "no certificate", denied.details)
        await context.abort(denied.code, denied.details)
    _caller.set(caller)


def _guarded(handler: grpc.RpcMethodHandler, method: str, replica: ReplicaPort) -> grpc.RpcMethodHandler:
    serializers = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.unary_unary is not None:
        behaviour = handler.unary_unary

        async def unary_unary(request, context):
            await _admit(replica, method, request, context)
            result = behaviour(request, context)
            return await result if inspect.isawaitable(result) else result

        return grpc.unary_unary_rpc_method_handler(unary_unary, **serializers)
    if handler.unary_stream is not None:
        behaviour = handler.unary_stream

        async def unary_stream(request, context):
            await _admit(replica, method, request, context)
            async for response in _responses(behaviour(request, context)):
                yield response

        return grpc.unary_stream_rpc_method_handler(unary_stream, **serializers)
    if handler.stream_unary is not None:
        behaviour = handler.stream_unary

        async def stream_unary(requests, context):
            await _admit(replica, method, None, context)
            result = behaviour(requests, context)
            return await result if inspect.isawaitable(result) else result

        return grpc.stream_unary_rpc_method_handler(stream_unary, **serializers)
    behaviour = handler.stream_stream

    async def stream_stream(requests, context):
        await _admit(replica, method, None, context)
        async for response in _responses(behaviour(requests, context)):
            yield response

    return grpc.stream_stream_rpc_method_handler(stream_stream, **serializers)


async def _responses(produced):
    """A streaming behaviour's responses: an async generator's items, or none from a coroutine
    that writes through the context itself."""
    if inspect.isasyncgen(produced):
        async for response in produced:
            yield response
    elif inspect.isawaitable(produced):
        await produced
    else:
        for response in produced:
            yield response
