"""settlement.v1.Settlement: Submit through the coalescer, reads through views, the event stream.

The service decides nothing about money: it decodes, hands batches to the replica through the
coalescer (which first asks the ledger's verdict on each, batch_precheck.py), and copies state out.
Every failure is mapped to a status in node/server/errors.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import grpc

from node.api.settlement.v1 import events_pb2, log_pb2, settlement_pb2, settlement_pb2_grpc, state_pb2
from node.codec.batch import batch_from_submitted
from node.codec.errors import CodecError
from node.codec.results import result_to_proto
from node.ledger.limits import account_id_bytes_max, market_id_bytes_max
from node.ledger.state import LedgerState
from node.ledger.validation import is_valid_id
from node.metrics import NodeMetrics
from node.replica.port import AmbiguousOutcome, ReplicaPort, Unavailable
from node.server.coalescer import SubmitCoalescer
from node.server.errors import Refused, answer, refusal, require_serving
from node.server.event_stream import EVENTS_FROM_METADATA_KEY, EventStream
from node.server.events import event_to_proto, kinds_filter
from node.server.views import account_view, checkpoint_view, guards_view, market_view

log = logging.getLogger(__name__)

M = TypeVar("M")

_LINEARIZABLE = (settlement_pb2.CONSISTENCY_UNSPECIFIED, settlement_pb2.LINEARIZABLE)

# Bytes per GetCheckpointDump message, well under the message limit.
dump_chunk_bytes = 1024 * 1024


class SettlementService(settlement_pb2_grpc.SettlementServicer):
    def __init__(
        self,
        replica: ReplicaPort,
        coalescer: SubmitCoalescer,
        *,
        read_barrier_timeout_ms: int,
        watch_queue_events_max: int,
        watch_replay_entries_per_read: int,
        metrics: NodeMetrics | None = None,
    ) -> None:
        self._replica = replica
        self._coalescer = coalescer
        self._read_barrier_timeout_s = read_barrier_timeout_ms / 1000
        self._watch_queue_events_max = watch_queue_events_max
        self._watch_replay_entries_per_read = watch_replay_entries_per_read
        self._metrics = metrics  # node/metrics instruments (None: in-process tests without metrics)

    # -- writes ---------------------------------------------------------------------------

    async def Submit(self, request: log_pb2.SubmittedBatch, context: grpc.aio.ServicerContext):
        """`request` is the SubmitRequest's bytes parsed as a SubmittedBatch: each command's bytes
        as sent (node/server/app.py)."""
        if self._metrics is None:
            return await answer(context, self._submit(request))
        started = time.perf_counter()
        try:
            return await answer(context, self._submit(request))
        finally:
            self._metrics.submit_seconds.observe(time.perf_counter() - started)

    async def _submit(self, request: log_pb2.SubmittedBatch) -> settlement_pb2.SubmitResponse:
        # Decoding first: a malformed request is malformed on every node, so the answer does not
        # depend on this node's role and the client does not retry it elsewhere.
        batch = batch_from_submitted(request)
        if self._metrics is not None:
            self._metrics.submit_batch_commands.observe(len(batch.commands))
        require_serving(self._replica)
        results, applied_index = await self._coalescer.submit(batch)
        return settlement_pb2.SubmitResponse(
            results=[result_to_proto(result) for result in results],
            applied_index=applied_index,
        )

    # -- reads ----------------------------------------------------------------------------

    async def GetAccount(self, request: settlement_pb2.GetAccountRequest, context: grpc.aio.ServicerContext):
        return await answer(context, self._get_account(request))

    async def _get_account(self, request: settlement_pb2.GetAccountRequest) -> state_pb2.Account:
        if not is_valid_id(request.account, account_id_bytes_max):
            raise CodecError("account", f"must be 1-{account_id_bytes_max} bytes of [A-Za-z0-9._:-]")
        account = await self._read(request.consistency, account_view(request.account))
        if account is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"no account {request.account}")
        return account

    async def GetMarket(self, request: settlement_pb2.GetMarketRequest, context: grpc.aio.ServicerContext):
        return await answer(context, self._get_market(request))

    async def _get_market(self, request: settlement_pb2.GetMarketRequest) -> state_pb2.Market:
        if not is_valid_id(request.market, market_id_bytes_max):
            raise CodecError("market", f"must be 1-{market_id_bytes_max} bytes of [A-Za-z0-9._:-]")
        market = await self._read(request.consistency, market_view(request.market))
        if market is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"no market {request.market}")
        return market

    async def GetGuards(self, request: settlement_pb2.GetGuardsRequest, context: grpc.aio.ServicerContext):
        return await answer(context, self._read(request.consistency, guards_view))

    async def GetCheckpoint(self, request: settlement_pb2.GetCheckpointRequest, context: grpc.aio.ServicerContext):
        return await answer(context, self._get_checkpoint(request))

    async def _get_checkpoint(self, request: settlement_pb2.GetCheckpointRequest) -> state_pb2.Checkpoint:
        """The latest certified checkpoint (the ledger keeps the latest only): NOT_FOUND before
        the first, or when an older index is asked for."""
        checkpoint = await self._read(settlement_pb2.LOCAL, checkpoint_view)
        if checkpoint is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, "no certified checkpoint yet")
        if request.index and request.index != checkpoint.index:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"the latest certified checkpoint is at {checkpoint.index}, not {request.index}")
        return checkpoint

    async def GetCheckpointDump(
        self, request: settlement_pb2.GetCheckpointDumpRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[state_pb2.CheckpointDumpChunk]:
        """The dump file this node kept of a certified checkpoint, as it is on disk, in pieces.
        NOT_FOUND when this node kept none of that index (it was not caught up then, or the dump
        was pruned): another node may have it."""
        try:
            require_serving(self._replica)
            found = self._replica.checkpoint_dump(request.index)
            if found is None:
                what = f"of checkpoint {request.index}" if request.index else "of a certified checkpoint"
                raise Refused(grpc.StatusCode.NOT_FOUND, f"this node kept no dump {what}")
            index, path = found
            try:
                dump = open(path, "rb")  # held open: pruning the file meanwhile does not cut the stream
            except FileNotFoundError:
                raise Refused(grpc.StatusCode.NOT_FOUND, f"the dump of checkpoint {index} was just pruned") from None
        except Exception as error:  # noqa: BLE001 - mapped like every unary call
            refused = refusal(error)
            if refused is None:
                raise
            await context.abort(refused.code, refused.details, refused.trailing)
        loop = asyncio.get_running_loop()
        with dump:
            while data := await loop.run_in_executor(None, dump.read, dump_chunk_bytes):
                yield state_pb2.CheckpointDumpChunk(index=index, data=data)

    async def _read(self, consistency: int, view: Callable[[LedgerState], M | None]) -> M | None:
        """LINEARIZABLE (also when unspecified): after a replicated read barrier, so the reply
        includes every write acknowledged before the call. LOCAL: this replica's state as is."""
        if consistency not in settlement_pb2.Consistency.values():
            raise CodecError("consistency", f"{consistency} is not a Consistency")
        require_serving(self._replica)
        barrier_index = 0
        if consistency in _LINEARIZABLE:
            try:
                barrier_index = await self._replica.read_barrier(self._read_barrier_timeout_s)
            except AmbiguousOutcome as error:
                # A barrier changes nothing, so it is not ambiguous to the reader: it just did not
                # complete here (a leader change, a lost quorum). Another node may serve it.
                raise Unavailable(f"read barrier did not complete: {error}") from None
        message, applied_index = self._replica.read(view)
        assert applied_index >= barrier_index, (applied_index, barrier_index)
        if message is not None:
            message.applied_index = applied_index  # type: ignore[attr-defined]
        return message

    # -- events ---------------------------------------------------------------------------

    async def WatchEvents(
        self, request: settlement_pb2.WatchEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[events_pb2.Event]:
        """The stored events from `from_index`, then the live ones (event_stream.py); 0 or unset:
        live ones from now. Headers carry the first index covered once subscribed."""
        stream: EventStream | None = None
        try:
            wanted = kinds_filter(request.kinds)
            require_serving(self._replica)
            stream = EventStream(self._replica, request.from_index, queue_events_max=self._watch_queue_events_max,
                                 entries_per_read=self._watch_replay_entries_per_read)
            first_index = await stream.open()
        except Exception as error:  # noqa: BLE001 - mapped like every unary call
            if stream is not None:
                stream.close()
            await context.abort(*_watch_refusal(error, request.from_index))
        try:
            # Headers now tell the client it is subscribed: no event from first_index on is missed.
            await context.send_initial_metadata(((EVENTS_FROM_METADATA_KEY, str(first_index)),))
            async for applied in stream.events():
                encoded = event_to_proto(applied)
                if encoded is None:
                    log.warning("WatchEvents: no encoding for event type %s; skipped", type(applied.event).__name__)
                    continue
                kind, event = encoded
                if not wanted or kind in wanted:
                    yield event
        except Exception as error:  # noqa: BLE001 - fell behind, pruned while replaying, stopping, or a bug
            await context.abort(*_watch_refusal(error, request.from_index))
        finally:
            stream.close()


def _watch_refusal(error: Exception, from_index: int) -> tuple[grpc.StatusCode, str, tuple[tuple[str, str], ...]]:
    """The status a WatchEvents failure ends the stream with; a bug (or a stored event that does
    not decode) is INTERNAL, logged with its traceback, and ends this stream only."""
    refused = refusal(error)
    if refused is None:
        log.error("WatchEvents from index %d failed", from_index, exc_info=error)
        refused = Refused(grpc.StatusCode.INTERNAL, "internal error")
    return refused.code, refused.details, refused.trailing
