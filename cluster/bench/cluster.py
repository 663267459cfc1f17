"""Cluster benchmark: a fresh durable 3-node cluster on 127.0.0.1, several client processes.

    python -m cluster.bench.cluster [--seconds 10] [--clients 4] [--out bench-results]

Reports settled trades per second and Submit latency (p50, p99) at batch sizes 1, 100 and 1,000,
for uniformly random counterparties (the worst case: no account repeats within an entry) and for a
market-maker-heavy mix, and the time from kill -9 of the leader to the first successful write, all
as in production: mTLS, every batch signed by the settler key (checked by every replica), Raft
traffic encrypted. Prints JSON and writes it
to OUT/cluster-bench.json. Every load loop is bounded in time and count. The client processes
build their serialized requests before the timed window and send raw bytes to the leader, so the
load generator's own Python work does not compete with the nodes for the two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from cluster.demo.oracle import demo_price, demo_source
from cluster.local import LocalCluster
from node.identity.clock import now_ms
from node.ledger.commands import CreateMarket, Deposit, MarketKind

MARKET = "BENCH-PERP"
SETTLER = "settler"  # the local cluster's settler identity signs the load
PRICE = 50_000_000_000
ACCOUNTS = 2_000
# The benchmark measures settlement, not the oracle: its one signed price must stay fresh for the
# whole run (the default 60 s would turn the market REDUCE_ONLY half way through).
STALE_AFTER_MS = 24 * 3_600_000


def _in_flight_for(batch: int) -> int:
    return {1: 64, 100: 8}.get(batch, 2)


def _requests(batch: int, count: int, seed: int, makers: int, signer: tuple | None = None) -> list[bytes]:
    """Serialized SubmitRequests with unique ids, built (and signed by the settler key when
    `signer` is (BatchSigner, SigningKey, cluster id)) before the clock starts: the load
    generator shares the cores with the nodes and must not be what is measured."""
    from node.api.settlement.v1 import commands_pb2
    from node.identity.batch_signing import batch_to_send

    rng = random.Random(seed)
    requests = []
    for n in range(count):
        commands = []
        for k in range(batch):
            buyer, seller = rng.sample(range(ACCOUNTS), 2)
            if makers:  # one side is one of a few market makers, as on a real venue
                maker, taker = rng.randrange(makers), rng.randrange(makers, ACCOUNTS)
                buyer, seller = (maker, taker) if rng.random() < 0.5 else (taker, maker)
            commands.append(commands_pb2.Command(
                id=f"b{seed}-{n}-{k}",
                settle_trade=commands_pb2.SettleTrade(market=MARKET, buyer=f"a{buyer}", seller=f"a{seller}", price=PRICE, quantity=1),
            ))
        request = batch_to_send(commands)  # a SubmitRequest's bytes, each command encoded once
        if signer is not None:
            batch_signer, signing, cluster_id = signer
            batch_signer.sign(request, signing, cluster_id)
        requests.append(request.SerializeToString())
    return requests


async def _client_load(leader: str, requests: list[bytes], in_flight: int, seconds: float, start_at: float, tls=None) -> dict:
    import grpc

    from node.api.settlement.v1 import settlement_pb2
    from node.tls.client import aio_channel

    latencies: list[float] = []
    settled = 0
    pending = iter(requests)
    async with aio_channel(leader, tls, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
        submit = channel.unary_unary("/settlement.v1.Settlement/Submit")  # raw bytes both ways
        await asyncio.sleep(max(0.0, start_at - time.time()))
        deadline = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal settled
            for request in pending:  # bounded by the pre-built count and by the deadline
                if time.monotonic() >= deadline:
                    return
                started = time.perf_counter()
                try:
                    reply = settlement_pb2.SubmitResponse.FromString(await submit(request, timeout=30))
                except grpc.aio.AioRpcError:
                    continue
                latencies.append(time.perf_counter() - started)
                settled += sum(1 for r in reply.results if r.code == 0)

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return {"settled": settled, "latencies": latencies}


def _client_process(leader, batch, seconds, seed, makers, start_at, queue, data_dir=None, signed=False) -> None:
    """One load client: the settler identity of the cluster under `data_dir` (its TLS pair; its
    key signs every batch when `signed`)."""
    from node.identity.batch_signing import BatchSigner
    from node.identity.credentials import load_keyring

    in_flight = _in_flight_for(batch)
    # Enough requests for ~30K trades/s per client for the whole window, and never fewer than
    # four per in-flight slot.
    count = max(in_flight * 4, int(30_000 * seconds / batch) + in_flight)
    identity = load_keyring(data_dir, SETTLER) if data_dir is not None else None
    signer = (BatchSigner(), identity.signing_keys[0], identity.cluster) if signed and identity else None
    requests = _requests(batch, count, seed, makers, signer)
    tls = identity.tls if identity else None
    queue.put(asyncio.run(_client_load(leader, requests, in_flight, seconds, start_at, tls)))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def measure_batch(leader: str, batch: int, seconds: float, clients: int, makers: int, run: int,
                  data_dir: Path | None = None, signed: bool = True) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start_at = time.time() + 8 + batch / 200  # every client has built its requests by then
    processes = [
        context.Process(target=_client_process, args=(leader, batch, seconds, 100 * run + i, makers, start_at, queue, data_dir, signed))
        for i in range(clients)
    ]
    for p in processes:
        p.start()
    outcomes = [queue.get(timeout=seconds + 300) for _ in processes]
    for p in processes:
        p.join(timeout=30)
    latencies = [l for o in outcomes for l in o["latencies"]]
    settled = sum(o["settled"] for o in outcomes)
    return {
        "batch": batch,
        "signed_batches": signed,
        "makers": makers,
        "clients": clients,
        "in_flight_per_client": _in_flight_for(batch),
        "seconds": seconds,
        "submits": len(latencies),
        "settled_trades": settled,
        "trades_per_second": round(settled / seconds),
        "latency_ms_p50": round(_percentile(latencies, 0.50) * 1000, 2),
        "latency_ms_p99": round(_percentile(latencies, 0.99) * 1000, 2),
    }


def prepare_market(cluster: LocalCluster, client, signed: bool = True) -> str:
    """Installs the genesis signer set (so batches are checked) when `signed`, lists the market,
    funds the accounts; returns the leader's address."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if signed:
                cluster.install_genesis()
            client.submit([CreateMarket("bench-list", MARKET, MarketKind.PERPETUAL, 1_000, 1, 1_000, 500, 100,
                                        10**12, 1_000, 2_000, 60_000, 60_000,
                                        sources=(demo_source(),), stale_after_ms=STALE_AFTER_MS)])
            break
        except Exception:  # noqa: BLE001 - the cluster is still electing
            time.sleep(0.2)
    client.submit([demo_price("bench-px", MARKET, PRICE, now_ms())])
    for start in range(0, ACCOUNTS, 1_000):
        client.submit([Deposit(f"bench-dep-{i}", f"a{i}", 10**15) for i in range(start, min(start + 1_000, ACCOUNTS))])
    return client.leader or cluster.grpc_addresses[0]


def wait_for_followers(client, timeout_s: float = 120.0) -> None:
    """Let every node finish applying the last run before the next starts: a follower still
    catching up would steal CPU from the next measurement."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        indices = {s.applied_index for _, s in client.statuses() if not isinstance(s, Exception)}
        if len(indices) == 1:
            return
        time.sleep(0.2)


def measure_failover(cluster: LocalCluster, client) -> dict:
    leader = next(n for n, s in enumerate(client.statuses(), 1) if not isinstance(s[1], Exception) and s[1].role == 1)
    for n in range(20):
        client.submit([Deposit(f"failover-warm-{n}", "a0", 1)])
    killed_at = time.monotonic()
    cluster.kill(leader)
    attempts = 0
    while time.monotonic() - killed_at < 60:
        attempts += 1
        try:
            client.submit([Deposit(f"failover-{attempts}", "a0", 1)])
            break
        except Exception:  # noqa: BLE001 - retried until the new leader answers
            time.sleep(0.01)
    return {"killed_leader": f"node{leader}", "kill_to_first_write_ms": round((time.monotonic() - killed_at) * 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batches", default="1,100,1000")
    parser.add_argument("--base-port", type=int, default=7700)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    parser.add_argument("--makers", default="0,20", help="mixes to run: 0 = uniform counterparties, N = N market makers")
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="settle-bench-"))
    cluster = LocalCluster(data, nodes=3, base_port=args.base_port)
    cluster.prepare()
    cluster.start()
    report: dict = {"benchmark": "cluster", "nodes": 3, "durable_journal": True, "mtls": True, "signed_batches": True,
                    "raft_encryption": True, "cpus": os.cpu_count(), "python": platform.python_version(), "runs": []}
    try:
        with cluster.client(timeout_s=20.0) as client:
            leader = prepare_market(cluster, client, signed=True)
            for makers in [int(m) for m in args.makers.split(",")]:
                for batch in [int(b) for b in args.batches.split(",")]:
                    wait_for_followers(client)
                    run = measure_batch(leader, batch, args.seconds, args.clients, makers, len(report["runs"]), data)
                    report["runs"].append(run)
                    print(json.dumps(run), flush=True)
            report["failover"] = measure_failover(cluster, client)
            print(json.dumps(report["failover"]), flush=True)
    finally:
        cluster.stop()
    args.out.mkdir(exist_ok=True)
    (args.out / "cluster-bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    from cluster.bench.report import write_bench_report  # the chaos report's style: JSON, plot, summary

    print(f"plot: {write_bench_report(report, args.out)}")


if __name__ == "__main__":
    main()
