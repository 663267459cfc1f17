"""The soak's load: client processes that keep submitting signed 1,000-trade batches for minutes.

The cluster benchmark (cluster/bench/cluster.py) pre-builds and pre-signs all its requests, which
a soak cannot: a batch signed more than the policy's dedup_retention_ms before ledger time is
refused BATCH_EXPIRED, so every batch is signed just before it is sent. To keep the load
generator's own Python work small beside the nodes on the same cores, a batch is assembled from
pre-encoded trades: each command's protobuf bytes are its id field followed by one of a pool of
SettleTrade fields encoded once, and the commands digest every replica recomputes
(node/codec/batch.py: over the commands' bytes as sent, each framed by its length) is taken over
those same bytes. tests/bench/test_soak_load.py checks that what this builds parses, digests and
verifies as a node would.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from node.api.settlement.v1 import commands_pb2, results_pb2, settlement_pb2
from node.codec.batch import commands_digest
from node.identity.batch_signing import BatchSigner
from node.identity.clock import now_ms
from node.identity.credentials import SigningKey
from node.ledger.signed_batches import batch_signing_bytes

batch_commands = 1_000
trade_pool_size = 4_096  # distinct pre-encoded (buyer, seller) trades each client draws from
in_flight_per_client = 2  # batches each client keeps outstanding (as the cluster benchmark at batch 1,000)
submit_timeout_s = 30.0
submit_attempts_max = 5  # per batch: a redirect or an ambiguous outcome resends the same signed bytes
retry_pause_s = 0.05
grpc_message_bytes_max = 64 << 20
submit_method = "/settlement.v1.Settlement/Submit"
leader_metadata_key = "x-leader"

# Slots of each client's row in the shared counters the soak reads every few seconds.
COUNTER_SETTLED = 0  # trades answered OK
COUNTER_REFUSED = 1  # trades answered anything else
COUNTER_SUBMITS = 2  # answered Submit calls
COUNTER_RPC_ERRORS = 3  # Submit calls that failed (redirects, timeouts, ambiguous outcomes)
counters_per_client = 4

_COMMANDS_FIELD = 0x0A  # field 1, length-delimited: SubmitRequest.commands and Command.id alike


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if not value:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _length_delimited(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _varint(len(payload)) + payload


class TradeBatches:
    """Signed SubmitRequests (serialized) of `batch` SettleTrades between random accounts a0..a<accounts-1>
    of `market` at `price`, command ids `<prefix>-<batch number>-<position>`, each batch on the
    next sequence of `signing`'s key and signed at the time it is built (`clock`)."""

    def __init__(self, signing: SigningKey, cluster_id: str, prefix: str, market: str, price: int,
                 accounts: int, seed: int, batch: int = batch_commands, pool_size: int = trade_pool_size,
                 clock: Callable[[], int] = now_ms) -> None:
        rng = random.Random(seed)
        self._rng = rng
        self._trades = []
        for _ in range(pool_size):
            buyer, seller = rng.sample(range(accounts), 2)
            trade = commands_pb2.SettleTrade(market=market, buyer=f"a{buyer}", seller=f"a{seller}", price=price, quantity=1)
            self._trades.append(commands_pb2.Command(settle_trade=trade).SerializeToString())  # the oneof field alone
        self._signing = signing
        self._cluster_id = cluster_id
        self._prefix = prefix
        self._batch = batch
        self._signer = BatchSigner()
        self._clock = clock  # ms since the epoch: what each batch is signed at
        self.built = 0

    def commands(self, number: int) -> list[bytes]:
        """Each command of batch `number`, encoded: what is sent and what its digest is taken over."""
        trades, draw = self._trades, self._rng.randrange
        size = len(trades)
        return [_length_delimited(_COMMANDS_FIELD, f"{self._prefix}-{number}-{position}".encode()) + trades[draw(size)]
                for position in range(self._batch)]

    def next(self) -> tuple[bytes, int]:
        """(the next signed request's bytes, its signed_at_ms)."""
        commands = self.commands(self.built)
        self.built += 1
        key_id = self._signing.key_id
        sequence = self._signer.next_sequence(key_id)
        signed_at_ms = self._clock()
        digest = commands_digest(commands)
        signature = self._signing.key.sign(batch_signing_bytes(self._cluster_id, key_id, sequence, signed_at_ms, digest))
        # Concatenated protobuf encodings merge: the repeated commands field, then the signed-batch fields.
        tail = settlement_pb2.SubmitRequest(key_id=key_id, sequence=sequence, signature=signature,
                                            signed_at_ms=signed_at_ms).SerializeToString()
        return b"".join(_length_delimited(_COMMANDS_FIELD, command) for command in commands) + tail, signed_at_ms


def code_name(code: int) -> str:
    """A result code's name on the wire (its number if this version does not know it)."""
    return results_pb2.ResultCode.Name(code) if code in results_pb2.ResultCode.values() else str(code)


def leader_hint(metadata) -> str | None:
    """The `x-leader: host:port` a follower sends back with UNAVAILABLE, if any."""
    for key, value in metadata or ():
        if key == leader_metadata_key and value:
            return value
    return None


def next_address(addresses: list[str], address: str) -> str:
    """The address after `address` in `addresses`, round; the first if it is not among them."""
    return addresses[(addresses.index(address) + 1) % len(addresses)] if address in addresses else addresses[0]


async def run_client(addresses: list[str], tls, batches: TradeBatches, seconds: float, start_at: float,
                     counters, row: int, in_flight: int = in_flight_per_client) -> dict:
    """Submit from `in_flight` concurrent loops until `seconds` after the wall-clock `start_at`;
    returns every result code seen (name: count) and the answered Submits' latency count, sum and max."""
    import grpc

    from node.tls.client import aio_channel

    base = row * counters_per_client
    codes: Counter[int] = Counter()
    leader = [addresses[0]]
    submits: dict[str, object] = {}
    latency = {"count": 0, "sum_s": 0.0, "max_s": 0.0}
    async with contextlib.AsyncExitStack() as stack:

        async def submit_to(address: str):
            if address not in submits:
                channel = aio_channel(address, tls, options=[("grpc.max_receive_message_length", grpc_message_bytes_max)])
                await stack.enter_async_context(channel)
                submits[address] = channel.unary_unary(submit_method)  # raw bytes both ways
            return submits[address]

        await asyncio.sleep(max(0.0, start_at - time.time()))
        deadline = time.monotonic() + seconds

        async def send(request: bytes):
            for _ in range(submit_attempts_max):
                address = leader[0]
                started = time.perf_counter()
                try:
                    reply = await (await submit_to(address))(request, timeout=submit_timeout_s)
                except grpc.aio.AioRpcError as error:
                    counters[base + COUNTER_RPC_ERRORS] += 1
                    if error.code() == grpc.StatusCode.UNAVAILABLE:  # a follower, or a node that is down
                        hint = leader_hint(error.trailing_metadata())
                        leader[0] = hint or next_address(addresses, address)
                    if time.monotonic() >= deadline:
                        return None
                    await asyncio.sleep(retry_pause_s)
                    continue  # the same signed bytes: if the first attempt was applied, dedup answers
                elapsed = time.perf_counter() - started
                latency["count"] += 1
                latency["sum_s"] += elapsed
                latency["max_s"] = max(latency["max_s"], elapsed)
                return settlement_pb2.SubmitResponse.FromString(reply)
            return None

        async def loop() -> None:
            while time.monotonic() < deadline:  # bounded in time; each send bounded in attempts
                request, _ = batches.next()
                response = await send(request)
                if response is None:
                    continue
                counters[base + COUNTER_SUBMITS] += 1
                seen = Counter(result.code for result in response.results)
                codes.update(seen)
                ok = seen.get(results_pb2.OK, 0)
                counters[base + COUNTER_SETTLED] += ok
                counters[base + COUNTER_REFUSED] += sum(seen.values()) - ok

        await asyncio.gather(*(loop() for _ in range(in_flight)))
    return {"codes": {code_name(code): n for code, n in sorted(codes.items())},
            "batches_built": batches.built, "submit_latency": latency}


def client_process(number: int, addresses: list[str], data_dir: Path, key_id: str, market: str, price: int,
                   accounts: int, seconds: float, start_at: float, counters, queue) -> None:
    """One load client process: the `key_id` identity of the local cluster under `data_dir`
    (its TLS pair and its key), its own command-id prefix and random stream."""
    from node.identity.credentials import load_keyring

    identity = load_keyring(data_dir, key_id)
    batches = TradeBatches(identity.signing_keys[0], identity.cluster, f"soak{number}", market, price, accounts, seed=number)
    outcome = asyncio.run(run_client(list(addresses), identity.tls, batches, seconds, start_at, counters, number))
    queue.put({"client": number, **outcome})
