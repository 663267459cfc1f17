"""`settle node drain` under a continuous load: the leader hands its leadership over while a few
clients keep depositing, and no client sees a failed write. Every submit is acknowledged (no
ClusterUnavailable, no OutcomeUnknown, no rejected result), leadership moved to another node, and
every acknowledged deposit is applied exactly once on every node.

This test found a gap, now closed in Replica.drain (node/replica/replica.py): the drain asked
pysyncobj for the transfer only every 0.5 s, and under load the first request is often denied
(no follower has matched the last entry yet); meanwhile the draining leader refused writes
without a leader hint, and the SDK's attempts ran out (ClusterUnavailable) in about a third of
runs. The drain now asks again every 20 ms until a request is sent, and a drained node names the
new leader at once.
"""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass, field


from node.cli.cli import main as settle
from node.client import SettlementClient
from node.client.sdk import LINEARIZABLE, LOCAL
from node.ledger.commands import Deposit

from .probe import node_status, wait_converged, wait_for_leader

workers = 8
accounts = [f"drain-acct-{i}" for i in range(3)]
deposits_per_worker_max = 3_000  # bounded in count ...
load_s_max = 25.0  # ... and in time, even if the drain never returns
warmup_acked_min = 20  # every worker has written before the drain starts ...
warmup_s = 1.0  # ... and the load has run this long
after_move_s = 3.0  # the load keeps running this long after leadership moved
leader_moved_s_max = 20.0  # the server gives a drain 15 s
RAN_OUT_OF_ATTEMPTS = "ClusterUnavailable"  # the SDK's attempts ran out during the drain; nothing was applied


@dataclass
class Outcomes:
    acked: dict[str, Deposit] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (exception type or "rejected", what and when)
    slowest_s: float = 0.0
    drain_s: float = 0.0
    moved_at: float | None = None  # when the test saw another node lead (monotonic)
    acked_after_move: int = 0  # acknowledged submits sent after that


async def _worker(number: int, cluster, outcomes: Outcomes, stop: asyncio.Event, started: float) -> None:
    deadline = started + load_s_max
    # Each client signs its batches as the custodian, on a stream of its own (batch_signing.py).
    async with SettlementClient(cluster.grpc_addresses, identity=cluster.identity("custodian")) as client:
        for n in range(deposits_per_worker_max):
            if stop.is_set() or time.monotonic() > deadline:
                return
            # Unique amounts per id too: a deposit applied twice shows up in the balance.
            command = Deposit(f"drain-{number}-{n}", accounts[(number + n) % len(accounts)], number * 100_000 + n + 1)
            submitted = time.monotonic()
            try:
                result = await client.submit_one(command)
            except Exception as error:  # noqa: BLE001 - every failure is recorded and asserted on
                outcomes.failed.append((type(error).__name__, f"{submitted - started:.2f}s {command.id}: {error!r}"))
                continue
            outcomes.slowest_s = max(outcomes.slowest_s, time.monotonic() - submitted)
            if not result.ok:
                outcomes.failed.append(("rejected", f"{submitted - started:.2f}s {command.id}: {result}"))
                continue
            assert command.id not in outcomes.acked
            outcomes.acked[command.id] = command
            if outcomes.moved_at is not None and submitted > outcomes.moved_at:
                outcomes.acked_after_move += 1


def _drain(cluster, address: str) -> tuple[int, str]:
    """Exactly what `settle node drain --node ADDRESS --credentials DIR` runs (as the operator)."""
    out = io.StringIO()
    code = settle(["node", "drain", "--node", address, "--credentials", str(cluster.data_dir)], out=out, err=out)
    return code, out.getvalue()


async def _leader_moved_from(cluster, old: int, timeout_s: float) -> int:
    """The number of another node that leads and is ready, as the old leader's peers see it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for spec in cluster.specs:
            if spec.number == old:
                continue
            status = await asyncio.to_thread(node_status, spec.grpc_address)
            if status is not None and status.ready and status.role == status.Role.LEADER:
                return spec.number
        await asyncio.sleep(0.05)
    raise AssertionError(f"leadership did not move from node {old} within {timeout_s}s")


async def _drain_under_load(cluster, old_leader: int) -> tuple[Outcomes, tuple[int, str], int, float]:
    outcomes = Outcomes()
    stop = asyncio.Event()
    started = time.monotonic()
    tasks = [asyncio.create_task(_worker(i, cluster, outcomes, stop, started)) for i in range(workers)]
    try:
        while len(outcomes.acked) < workers * warmup_acked_min or time.monotonic() - started < warmup_s:
            assert time.monotonic() - started < 10 and not any(t.done() for t in tasks), (
                f"no load before the drain: {len(outcomes.acked)} acked, failed: {outcomes.failed[:5]}")
            await asyncio.sleep(0.05)
        drain_at = time.monotonic() - started
        drained = await asyncio.to_thread(_drain, cluster, cluster.specs[old_leader - 1].grpc_address)
        outcomes.drain_s = time.monotonic() - started - drain_at
        new_leader = await _leader_moved_from(cluster, old_leader, leader_moved_s_max)
        outcomes.moved_at = time.monotonic()
        await asyncio.sleep(after_move_s)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=load_s_max + 10)
    for task in tasks:
        assert task.exception() is None, task.exception()
    return outcomes, drained, new_leader, drain_at


async def _balances(cluster, addresses: list[str], consistency: str, address: str | None = None) -> dict[str, int]:
    async with SettlementClient(addresses, identity=cluster.identity()) as client:
        return {a: (await client.get_account(a, consistency, address=address)).collateral for a in accounts}


def test_drain_the_leader_under_load_fails_no_write(make_cluster):
    cluster = make_cluster(nodes=3)
    old_leader = wait_for_leader(cluster)

    outcomes, (code, text), new_leader, drain_at = asyncio.run(_drain_under_load(cluster, old_leader))

    print(f"drain at {drain_at:.2f}s took {outcomes.drain_s:.2f}s: {text.strip()}; {len(outcomes.acked)} acked "
          f"({outcomes.acked_after_move} after the move), {len(outcomes.failed)} failed, "
          f"slowest acknowledged submit {outcomes.slowest_s:.2f}s")
    failures = "\n".join(what for _, what in outcomes.failed[:40])
    assert {kind for kind, _ in outcomes.failed} <= {RAN_OUT_OF_ATTEMPTS}, failures  # never OutcomeUnknown or a rejection
    assert code == 0, text
    assert text.startswith("drained "), text
    assert new_leader != old_leader
    assert outcomes.acked_after_move >= workers, outcomes.acked_after_move  # the load went on on the new leader

    expected = {a: 0 for a in accounts}
    for command in outcomes.acked.values():
        expected[command.account] += command.amount
    numbers = [s.number for s in cluster.specs]
    wait_converged(cluster, numbers, timeout_s=20)
    for number in numbers:  # every node's own copy: each acknowledged deposit exactly once
        address = cluster.specs[number - 1].grpc_address
        assert asyncio.run(_balances(cluster, [address], LOCAL, address)) == expected, f"node {number}"
    assert asyncio.run(_balances(cluster, cluster.grpc_addresses, LINEARIZABLE)) == expected
    status = node_status(cluster.specs[old_leader - 1].grpc_address)
    assert status is not None and status.role != status.Role.LEADER, status

    assert not outcomes.failed, (f"{len(outcomes.failed)} of {len(outcomes.failed) + len(outcomes.acked)} writes "
                                 f"failed during a {outcomes.drain_s:.2f}s drain:\n{failures}")
