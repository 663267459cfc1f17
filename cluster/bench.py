"""Cluster benchmark: a fresh durable 3-node cluster on 127.0.0.1, several client processes.

    python -m cluster.bench [--seconds 10] [--clients 4] [--out bench-results]

Reports settled trades per second and Submit latency (p50, p99) at batch sizes 1, 100 and 1,000,
for uniformly random counterparties (the worst case: no account repeats within an entry) and for a
market-maker-heavy mix, and the time from kill -9 of the leader to the first successful write. Prints JSON and writes it
to OUT/cluster-bench.json. Every load loop is bounded in time and count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from cluster.local import LocalCluster
from node.ledger.commands import CreateMarket, Deposit, MarketKind, PriceUpdate, SettleTrade
from node.ledger.results import ResultCode

MARKET = "BENCH-PERP"
PRICE = 50_000_000_000
ACCOUNTS = 2_000
submits_per_client_max = 1_000_000  # a hard bound on every loop, on top of the time bound


def _in_flight_for(batch: int) -> int:
    return {1: 64, 100: 8}.get(batch, 2)


async def _client_load(addresses: list[str], batch: int, seconds: float, seed: int, makers: int) -> dict:
    from node.client import SettlementClient

    rng = random.Random(seed)
    latencies: list[float] = []
    settled = 0
    counter = 0
    deadline = time.monotonic() + seconds
    async with SettlementClient(addresses, timeout_s=10.0) as client:

        async def worker(worker_id: int) -> None:
            nonlocal settled, counter
            while time.monotonic() < deadline and counter < submits_per_client_max:
                counter += 1
                commands = []
                for k in range(batch):
                    buyer, seller = rng.sample(range(ACCOUNTS), 2)
                    if makers:  # one side is one of a few market makers, as on a real venue
                        maker, taker = rng.randrange(makers), rng.randrange(makers, ACCOUNTS)
                        buyer, seller = (maker, taker) if rng.random() < 0.5 else (taker, maker)
                    commands.append(SettleTrade(f"b{seed}-{worker_id}-{counter}-{k}", MARKET, f"a{buyer}", f"a{seller}", PRICE, 1))
                started = time.perf_counter()
                try:
                    reply = await client.submit(commands)
                except Exception:  # noqa: BLE001 - a failed submit counts as no trades
                    continue
                latencies.append(time.perf_counter() - started)
                settled += sum(1 for r in reply.results if r.code == ResultCode.OK)

        await asyncio.gather(*(worker(w) for w in range(_in_flight_for(batch))))
    return {"settled": settled, "latencies": latencies}


def _client_process(addresses, batch, seconds, seed, makers, queue) -> None:
    queue.put(asyncio.run(_client_load(addresses, batch, seconds, seed, makers)))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def measure_batch(addresses: list[str], batch: int, seconds: float, clients: int, makers: int) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_client_process, args=(addresses, batch, seconds, 1000 * batch + i, makers, queue)) for i in range(clients)]
    started = time.monotonic()
    for p in processes:
        p.start()
    outcomes = [queue.get(timeout=seconds + 120) for _ in processes]
    for p in processes:
        p.join(timeout=30)
    elapsed = time.monotonic() - started
    latencies = [l for o in outcomes for l in o["latencies"]]
    settled = sum(o["settled"] for o in outcomes)
    return {
        "batch": batch,
        "makers": makers,
        "clients": clients,
        "in_flight_per_client": _in_flight_for(batch),
        "seconds": round(elapsed, 2),
        "submits": len(latencies),
        "settled_trades": settled,
        "trades_per_second": round(settled / seconds),
        "latency_ms_p50": round(_percentile(latencies, 0.50) * 1000, 2),
        "latency_ms_p99": round(_percentile(latencies, 0.99) * 1000, 2),
    }


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

    from node.client import SyncSettlementClient

    data = Path(tempfile.mkdtemp(prefix="settle-bench-"))
    cluster = LocalCluster(data, nodes=3, base_port=args.base_port)
    cluster.prepare()
    cluster.start()
    report: dict = {"benchmark": "cluster", "nodes": 3, "durable_journal": True, "cpus": os.cpu_count(),
                    "python": platform.python_version(), "runs": []}
    try:
        with SyncSettlementClient(cluster.grpc_addresses, timeout_s=20.0) as client:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    client.submit([CreateMarket("bench-list", MARKET, MarketKind.PERPETUAL, 1_000, 1, 1_000, 500, 100,
                                                10**12, 1_000, 2_000, 60_000, 60_000),
                                   PriceUpdate("bench-px", MARKET, "feed", PRICE, 1)])
                    break
                except Exception:  # noqa: BLE001 - the cluster is still electing
                    time.sleep(0.2)
            for start in range(0, ACCOUNTS, 1_000):
                client.submit([Deposit(f"bench-dep-{i}", f"a{i}", 10**15) for i in range(start, min(start + 1_000, ACCOUNTS))])
            for makers in [int(m) for m in args.makers.split(",")]:
                for batch in [int(b) for b in args.batches.split(",")]:
                    run = measure_batch(cluster.grpc_addresses, batch, args.seconds, args.clients, makers)
                    report["runs"].append(run)
                    print(json.dumps(run), flush=True)
            report["failover"] = measure_failover(cluster, client)
            print(json.dumps(report["failover"]), flush=True)
    finally:
        cluster.stop()
    args.out.mkdir(exist_ok=True)
    (args.out / "cluster-bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
