"""SettlementClient: the async SDK over grpc.aio, for matching engines, oracles and custodians.

Writes go to the leader. The client remembers the last node that accepted one and tries it
first; a follower's `x-leader` hint sends it straight to the leader (a node it did not know is
added). A node that cannot serve sends it to the next address after a short jittered pause. An
ambiguous failure (ABORTED, a timed-out attempt, a lost connection) retries the SAME request, so
the same command ids: the ledger's dedup makes that exactly-once, and the SDK presents a DUPLICATE
answer as the command's original outcome (see node/client/results.py). Every call is bounded by
`max_attempts` gRPC calls and an overall deadline of `timeout_s`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.api.settlement.v1 import (
    cluster_pb2,
    cluster_pb2_grpc,
    commands_pb2,
    events_pb2,
    log_pb2,
    settlement_pb2,
    settlement_pb2_grpc,
    state_pb2,
)
from node.client import commands as build
from node.client import limits
from node.client.errors import (
    BatchExpired,
    ClusterUnavailable,
    NoSigningKey,
    NotFound,
    OutcomeUnknown,
    RequestRejected,
    SettlementError,
    StreamBroken,
    SubmitRejected,
)
from node.client.event_watch import WatchPosition, is_final
from node.client.results import SubmitReply, SubmittedResult, present
from node.client.retry import Next, backoff_s, judge
from node.codec.commands import ONEOF_TO_TYPE, command_to_proto
from node.identity.batch_signing import BatchSigner, batch_to_send
from node.identity.credentials import ClientIdentity, SigningKey
from node.ledger.commands import Command, MakerSide
from node.ledger.results import ResultCode

LINEARIZABLE = "linearizable"
LOCAL = "local"
_CONSISTENCY = {LINEARIZABLE: settlement_pb2.LINEARIZABLE, LOCAL: settlement_pb2.LOCAL}
SUBMIT_METHOD = "/settlement.v1.Settlement/Submit"


@dataclass(slots=True)
class _Node:
    channel: grpc.aio.Channel
    settlement: settlement_pb2_grpc.SettlementStub
    cluster: cluster_pb2_grpc.ClusterStub
    # Submit with the request in the form it was signed in (a SubmittedBatch: its bytes are a
    # SubmitRequest's), so the bytes sent are the bytes signed.
    submit: grpc.aio.UnaryUnaryMultiCallable


class SettlementClient:
    def __init__(
        self,
        addresses: Sequence[str],
        timeout_s: float = limits.timeout_ms / 1000,
        max_attempts: int = limits.attempts_max,
        *,
        attempt_timeout_s: float | None = None,
        backoff_base_ms: int = limits.backoff_base_ms,
        backoff_max_ms: int = limits.backoff_max_ms,
        identity: ClientIdentity | None = None,
    ) -> None:
        """`addresses`: gRPC host:port of the nodes (any subset; the leader is found from them).
        `attempt_timeout_s` bounds one gRPC call (default: half of `timeout_s`), so a stuck node
        leaves time to try another. `identity` signs every batch and carries the TLS pair."""
        assert addresses, "at least one node address"
        assert timeout_s > 0 and max_attempts >= 1 and 0 < backoff_base_ms <= backoff_max_ms
        self._addresses: list[str] = list(dict.fromkeys(addresses))
        self._timeout_s = timeout_s
        self._attempt_timeout_s = attempt_timeout_s or timeout_s / 2
        self._attempts_max = max_attempts
        self._backoff_base_ms = backoff_base_ms
        self._backoff_max_ms = backoff_max_ms
        self._nodes: dict[str, _Node] = {}
        self._leader: str | None = None
        self._identity = identity or ClientIdentity("")
        self._signer = BatchSigner()
        self._cluster: str | None = self._identity.cluster or None
        # Command ids whose Submit ended OutcomeUnknown -> when their batch was first signed: a
        # retry of them is signed with that time, never a younger one (node/ledger/retention.py).
        self._ambiguous: OrderedDict[str, int] = OrderedDict()

    @property
    def addresses(self) -> list[str]:
        """Every node address known: the ones given and the ones learned from leader hints."""
        return list(self._addresses)

    @property
    def leader(self) -> str | None:
        """The address that last accepted a write or a linearizable read."""
        return self._leader

    async def close(self) -> None:
        nodes, self._nodes = self._nodes, {}
        await asyncio.gather(*(node.channel.close() for node in nodes.values()), return_exceptions=True)

    async def __aenter__(self) -> SettlementClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- writes ---------------------------------------------------------------------------

    async def submit(self, commands: Iterable[Command | commands_pb2.Command], *,
                     first_signed_at_ms: int | None = None) -> SubmitReply:
        """Submits one batch (1..1000 commands, ledger dataclasses or protobuf Commands), signed
        by this client's identity, and returns (results in order, applied index). A rejected
        command is a result with its code, not an exception. Raises SubmitRejected (request
        refused as a whole, nothing applied), ClusterUnavailable (nothing applied),
        OutcomeUnknown (retry the same commands) or BatchExpired (a retry too late for the
        ledger to remember the first attempt: read the outcome back, never resend).

        A retry of commands whose outcome was unknown is signed with the time they were first
        signed: this client remembers it; a process that restarted passes the
        `OutcomeUnknown.signed_at_ms` it kept as `first_signed_at_ms`.

        A batch is signed by one key, whose role must allow every command kind in it. A keyring
        identity (several keys) given a batch that needs several roles sends one Submit per run
        of same-role commands, in order, and answers with all results and the last index."""
        messages = [c if isinstance(c, commands_pb2.Command) else command_to_proto(c) for c in commands]
        if not self._identity.signing_keys:
            return await self._submit_batch(messages, None, first_signed_at_ms)
        runs = self._signing_runs(messages)
        results: list[SubmittedResult] = []
        applied_index = 0
        for signing, run in runs:
            reply = await self._submit_batch(run, signing, first_signed_at_ms)
            results += reply.results
            applied_index = reply.applied_index
        return SubmitReply(results, applied_index)

    def _signing_runs(self, messages: list[commands_pb2.Command]) -> list[tuple[SigningKey, list[commands_pb2.Command]]]:
        """The batch cut into runs of consecutive commands one key may sign (one run if it can)."""
        kinds = [ONEOF_TO_TYPE.get(m.WhichOneof("kind")) for m in messages]  # None: no kind set
        whole = self._identity.signing_key_for(kinds)
        if whole is not None or not messages:
            return [(whole, messages)] if whole is not None else []
        runs: list[tuple[SigningKey, list[commands_pb2.Command]]] = []
        for message, kind in zip(messages, kinds):
            signing = self._identity.signing_key_for([kind])
            if signing is None:
                raise NoSigningKey(f"none of {self._identity.key_id}'s keys may submit {getattr(kind, '__name__', 'a command without a kind')}")
            if runs and runs[-1][0] is signing:
                runs[-1][1].append(message)
            else:
                runs.append((signing, [message]))
        return runs

    async def _submit_batch(self, messages: list[commands_pb2.Command], signing: SigningKey | None,
                            first_signed_at_ms: int | None) -> SubmitReply:
        request = batch_to_send(messages)
        ids = [m.id for m in messages]
        signed_at_ms = first_signed_at_ms if first_signed_at_ms is not None else self._first_signed_at(ids)
        for _ in range(limits.resign_attempts_max):
            if signing is not None:
                self._signer.sign(request, signing, await self._cluster_id(), signed_at_ms)
                signed_at_ms = request.signed_at_ms  # a re-signed batch keeps its first time
            try:
                response, _ = await self._unary("Submit", request, leader=True)
            except OutcomeUnknown as error:
                error.signed_at_ms = request.signed_at_ms
                self._remember_ambiguous(ids, request.signed_at_ms)
                raise
            results = [present(message) for message in response.results]
            if len(results) != len(request.commands):
                raise SettlementError(f"server answered {len(results)} results for {len(request.commands)} commands")
            if any(r.code == ResultCode.BATCH_EXPIRED for r in results):
                self._forget_ambiguous(ids)
                raise BatchExpired(
                    f"batch first signed at {request.signed_at_ms} is older than the cluster's dedup retention: "
                    f"nothing was applied now, and whether it was applied before is no longer remembered; "
                    f"read the accounts back, never resend these commands ({results[0].message})",
                    ids, results,
                )
            # Below the replay window: not applied, so safe to sign again, on a fresh stream.
            if signing is None or any(r.code != ResultCode.SEQUENCE_TOO_OLD for r in results):
                break
            self._signer.new_stream(signing.key_id)
        self._forget_ambiguous(ids)
        return SubmitReply(results, response.applied_index)

    def _first_signed_at(self, ids: list[str]) -> int | None:
        """When a batch with any of these ids was first signed (the oldest), if one was sent with
        an unknown outcome; None for commands this client never sent."""
        times = [self._ambiguous[i] for i in ids if i in self._ambiguous]
        return min(times) if times else None

    def _remember_ambiguous(self, ids: list[str], signed_at_ms: int) -> None:
        for command_id in ids:
            self._ambiguous[command_id] = min(signed_at_ms, self._ambiguous.get(command_id, signed_at_ms))
            self._ambiguous.move_to_end(command_id)
        while len(self._ambiguous) > limits.ambiguous_ids_remembered_max:
            self._ambiguous.popitem(last=False)

    def _forget_ambiguous(self, ids: list[str]) -> None:
        for command_id in ids:
            self._ambiguous.pop(command_id, None)

    async def _cluster_id(self) -> str:
        """The cluster id batches are signed for: the identity's, else the installed signer
        set's (asked once; empty before genesis, when batches are not checked)."""
        if self._cluster is None:
            guards = await self.get_guards(LOCAL)
            if not guards.HasField("signer_set"):
                return ""
            self._cluster = guards.signer_set.cluster
        return self._cluster

    async def submit_one(self, command: Command | commands_pb2.Command) -> SubmittedResult:
        reply = await self.submit([command])
        return reply.results[0]

    async def deposit(self, account: str, amount: int, *, id: str | None = None) -> SubmittedResult:
        return await self.submit_one(build.deposit(account, amount, id=id))

    async def withdraw(self, account: str, amount: int, *, id: str | None = None) -> SubmittedResult:
        return await self.submit_one(build.withdraw(account, amount, id=id))

    async def settle_trade(
        self, market: str, buyer: str, seller: str, price: int, quantity: int, *,
        buyer_fee: int = 0, seller_fee: int = 0, maker_side: int = 0, id: str | None = None,
    ) -> SubmittedResult:
        return await self.submit_one(build.settle_trade(
            market, buyer, seller, price, quantity, buyer_fee=buyer_fee, seller_fee=seller_fee,
            maker_side=MakerSide(maker_side), id=id,
        ))

    async def price_update(
        self, market: str, source: str, price: int, source_time_ms: int, *, signature: bytes = b"", id: str | None = None
    ) -> SubmittedResult:
        return await self.submit_one(build.price_update(market, source, price, source_time_ms, signature=signature, id=id))

    async def submit_price(
        self, market: str, source: str, price: int, key: Ed25519PrivateKey | bytes, *,
        source_time_ms: int | None = None, id: str | None = None,
    ) -> SubmittedResult:
        """Signs a price as `source` with its private key (source time: now unless given) and
        submits it. A wrong key is answered INVALID_SIGNATURE, a source time out of the ledger's
        window STALE_PRICE: results, not exceptions."""
        return await self.submit_one(build.signed_price_update(market, source, price, key, source_time_ms=source_time_ms, id=id))

    # -- reads ----------------------------------------------------------------------------

    async def get_account(self, account: str, consistency: str = LINEARIZABLE, *, address: str | None = None) -> state_pb2.Account:
        """Raises NotFound for an account the ledger does not know. LOCAL reads the node at
        `address` (default: the preferred node) and its reply's applied_index says how fresh."""
        request = settlement_pb2.GetAccountRequest(account=account, consistency=_consistency(consistency))
        return await self._read("GetAccount", request, consistency, address)

    async def get_market(self, market: str, consistency: str = LINEARIZABLE, *, address: str | None = None) -> state_pb2.Market:
        request = settlement_pb2.GetMarketRequest(market=market, consistency=_consistency(consistency))
        return await self._read("GetMarket", request, consistency, address)

    async def get_guards(self, consistency: str = LINEARIZABLE, *, address: str | None = None) -> state_pb2.Guards:
        request = settlement_pb2.GetGuardsRequest(consistency=_consistency(consistency))
        return await self._read("GetGuards", request, consistency, address)

    async def get_checkpoint(self, index: int = 0) -> state_pb2.Checkpoint:
        response, _ = await self._unary("GetCheckpoint", settlement_pb2.GetCheckpointRequest(index=index), leader=False)
        return response

    async def _read(self, method: str, request, consistency: str, address: str | None):
        leader = _consistency(consistency) != settlement_pb2.LOCAL
        response, _ = await self._unary(method, request, leader=leader, pinned=address if not leader else None)
        return response

    # -- cluster --------------------------------------------------------------------------

    async def status(self, address: str) -> cluster_pb2.ClusterStatus:
        """One node's own view; a single attempt (a status that retried elsewhere would lie)."""
        try:
            return await self._node(address).cluster.Status(cluster_pb2.StatusRequest(), timeout=self._attempt_timeout_s)
        except grpc.aio.AioRpcError as error:
            raise ClusterUnavailable(f"{address}: {error.code().name}: {error.details()}", error.code(), error.details() or "") from None

    async def statuses(self) -> list[tuple[str, cluster_pb2.ClusterStatus | SettlementError]]:
        """Every known node's status (or why it did not answer), in address order."""
        addresses = self.addresses
        answers = await asyncio.gather(*(self.status(a) for a in addresses), return_exceptions=True)
        for answer in answers:
            if isinstance(answer, BaseException) and not isinstance(answer, SettlementError):
                raise answer
        return list(zip(addresses, answers))  # type: ignore[arg-type]

    # -- events ---------------------------------------------------------------------------

    async def watch_events(
        self, kinds: Iterable[int] = (), from_index: int | None = None, *, address: str | None = None
    ) -> AsyncIterator[events_pb2.Event]:
        """Events applied from the subscription on (kinds: events_pb2.EventKind numbers; empty =
        all), or, with `from_index`, the ones a node kept from that index first. Each event
        once, in log order; (applied_index, position) identifies it.

        Connecting tries `address`, or the known nodes in turn. When the stream breaks (its node
        went away or restarted, a leader change, it fell behind, it is diverged), the watch
        subscribes again from the last index it delivered, on that node or another, and skips
        what it already delivered (event_watch.py). Raises RequestRejected when the first
        subscription is refused, StreamBroken when no node could resume it within the client's
        deadline and attempts (for example no node still keeps the index it needs:
        OUT_OF_RANGE)."""
        position = WatchPosition(from_index or 0, list(kinds))
        call, serving = await self._subscribe(position, [address] if address else self._rotation())
        resumes_without_progress = 0
        try:
            while True:
                try:
                    async for event in call:
                        if position.deliver(event):
                            resumes_without_progress = 0
                            yield event
                    broken = "the server ended the stream"
                except grpc.aio.AioRpcError as error:
                    if is_final(error) or not position.resumable:
                        raise StreamBroken(f"event stream ended: {error.code().name}: {error.details()}",
                                           error.code(), error.details() or "") from None
                    broken = f"{error.code().name}: {error.details()}"
                call.cancel()
                resumes_without_progress += 1
                if resumes_without_progress > self._attempts_max:
                    raise StreamBroken(f"event stream broke {resumes_without_progress} times without a new event: {broken}")
                try:
                    call, serving = await self._subscribe(position, self._rotation(starting_at=serving))
                except SettlementError as error:
                    raise StreamBroken(f"event stream broke ({broken}) and could not resume from index "
                                       f"{position.resume_index}: {error}", error.code, error.details) from None
        finally:
            call.cancel()

    async def _subscribe(self, position: WatchPosition, candidates: list[str]) -> tuple[grpc.aio.UnaryStreamCall, str]:
        """(subscribed call, its node): the candidates in turn, a pause between rounds, within
        the client's deadline and attempts. A node that refuses for a reason another node may
        not have (unavailable, diverged, no longer keeping the index) sends it to the next."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        request = position.request()
        last: grpc.aio.AioRpcError | None = None
        for attempt in range(self._attempts_max):
            remaining_s = deadline - loop.time()
            if remaining_s <= 0:
                break
            if attempt and attempt % len(candidates) == 0:
                pause_s = backoff_s(attempt // len(candidates), self._backoff_base_ms, self._backoff_max_ms)
                await asyncio.sleep(min(pause_s, remaining_s))
            candidate = candidates[attempt % len(candidates)]
            call = self._node(candidate).settlement.WatchEvents(request)
            try:
                # The server sends its headers once it has subscribed: from then on no event is missed.
                async with asyncio.timeout(max(0.0, min(deadline - loop.time(), self._attempt_timeout_s))):
                    headers = await call.initial_metadata()
            except TimeoutError:
                call.cancel()
                continue
            if not call.done():
                position.subscribed(headers)
                return call, candidate
            try:
                await call.read()  # a finished call: this raises its error
            except grpc.aio.AioRpcError as error:
                if is_final(error):
                    raise _rejected("WatchEvents", error) from None
                last = error
                continue
        if last is not None and last.code() == grpc.StatusCode.OUT_OF_RANGE:
            raise _rejected("WatchEvents", last)  # no node asked keeps the index: not a passing state
        raise _exhausted("WatchEvents", last, maybe_applied=False)

    # -- the retry loop -------------------------------------------------------------------

    def _node(self, address: str) -> _Node:
        node = self._nodes.get(address)
        if node is None:
            from node.tls.client import aio_channel  # mTLS when the identity has a certificate, else plaintext

            channel = aio_channel(
                address,
                self._identity.tls,
                options=[
                    ("grpc.max_receive_message_length", limits.message_bytes_max),
                    ("grpc.initial_reconnect_backoff_ms", limits.reconnect_backoff_initial_ms),
                    ("grpc.min_reconnect_backoff_ms", limits.reconnect_backoff_initial_ms),
                    ("grpc.max_reconnect_backoff_ms", limits.reconnect_backoff_max_ms),
                ],
            )
            submit = channel.unary_unary(SUBMIT_METHOD, request_serializer=log_pb2.SubmittedBatch.SerializeToString,
                                         response_deserializer=settlement_pb2.SubmitResponse.FromString)
            node = _Node(channel, settlement_pb2_grpc.SettlementStub(channel), cluster_pb2_grpc.ClusterStub(channel), submit)
            self._nodes[address] = node
        return node

    def _learn(self, address: str) -> None:
        if address not in self._addresses:
            self._addresses.append(address)

    def _rotation(self, starting_at: str | None = None) -> list[str]:
        """Known addresses, `starting_at` (default: the believed leader) first, then the rest in
        the order given."""
        first = starting_at if starting_at in self._addresses else self._leader
        first = first if first in self._addresses else self._addresses[0]
        start = self._addresses.index(first)
        return self._addresses[start:] + self._addresses[:start]

    def _after(self, address: str) -> str:
        if address not in self._addresses:
            return self._addresses[0]
        return self._addresses[(self._addresses.index(address) + 1) % len(self._addresses)]

    async def _unary(self, method: str, request, *, leader: bool, pinned: str | None = None):
        """(response, address that answered). `leader`: the call needs the leader (follow hints,
        remember who answered). `pinned`: only this node is asked (LOCAL reads of one node)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        address = pinned or self._rotation()[0]
        last: grpc.aio.AioRpcError | None = None
        maybe_applied = False
        pauses = 0
        redirects = 0
        for _ in range(self._attempts_max):
            remaining_s = deadline - loop.time()
            if remaining_s <= 0:
                break
            node = self._node(address)
            call = node.submit if method == "Submit" else getattr(node.settlement, method)
            try:
                response = await call(request, timeout=min(remaining_s, self._attempt_timeout_s))
            except grpc.aio.AioRpcError as error:
                last = error
                verdict = judge(error)
                maybe_applied = maybe_applied or verdict.maybe_applied
                if verdict.next is Next.FAIL:
                    raise _rejected(method, error) from None
                pause = True
                if verdict.next is Next.REDIRECT and pinned is None:
                    assert verdict.leader is not None
                    self._learn(verdict.leader)
                    # The first hint is followed at once; hints that keep bouncing (an election
                    # under way) are followed after a pause.
                    pause = redirects > 0 or verdict.leader == address
                    redirects += 1
                    self._leader = address = verdict.leader
                elif verdict.next in (Next.ELSEWHERE, Next.REDIRECT) and pinned is None:
                    if self._leader == address:
                        self._leader = None
                    address = self._after(address)
                if pause:
                    pauses += 1
                    delay_s = backoff_s(pauses, self._backoff_base_ms, self._backoff_max_ms)
                    await asyncio.sleep(max(0.0, min(delay_s, deadline - loop.time())))
                continue
            if leader:
                self._leader = address
            return response, address
        raise _exhausted(method, last, maybe_applied=maybe_applied and method == "Submit")


def _consistency(consistency: str | int) -> int:
    if isinstance(consistency, int):
        return consistency
    try:
        return _CONSISTENCY[consistency.lower()]
    except KeyError:
        raise ValueError(f"consistency must be one of {sorted(_CONSISTENCY)}, not {consistency!r}") from None


def _rejected(method: str, error: grpc.aio.AioRpcError) -> RequestRejected:
    code, details = error.code(), error.details() or ""
    if method == "Submit":
        return SubmitRejected(code, details)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(code, details)
    return RequestRejected(code, details)


def _exhausted(method: str, last: grpc.aio.AioRpcError | None, *, maybe_applied: bool) -> ClusterUnavailable:
    why = f"{last.code().name}: {last.details()}" if last is not None else "deadline passed"
    if maybe_applied:
        return OutcomeUnknown(
            f"{method}: gave up; the batch may have been applied ({why}); submit the same commands again",
            last.code() if last else None, (last.details() or "") if last else "",
        )
    return ClusterUnavailable(
        f"{method}: no node could serve it ({why})", last.code() if last else None, (last.details() or "") if last else ""
    )
