"""A watcher attached to one node of a real 3-node cluster, under a load that trips breakers: that
node is killed with SIGKILL, the SDK resumes on another node, and in the end the watcher saw every
event exactly once: exactly what a fresh replay from index 1 returns on every surviving node."""

from __future__ import annotations

import asyncio
import threading
import time

from cluster.demo.oracle import demo_price, demo_source
from cluster.local import LocalCluster
from node.api.settlement.v1 import events_pb2
from node.client import SettlementClient, now_ms
from node.ledger.commands import CreateMarket, MarketKind

from .probe import wait_for_leader
from .workload import STALE_AFTER_MS, list_swinging_market, swing_prices

swings_max = 400
load_seconds_max = 60.0
watch_seconds_max = 150.0
events_before_kill = 200  # the load's events the watcher has seen when its node is killed (~4 a swing)


class Watcher:
    """The SDK's watch from index 1 on one node, on its own thread and event loop, keeping every
    event it yields until it has seen one at or past the index finish() names, or its time is up."""

    def __init__(self, cluster: LocalCluster, address: str) -> None:
        self.events: list[events_pb2.Event] = []
        self.stop_at = 0
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._watch(cluster, address),), daemon=True)
        self._thread.start()
        self._started.wait(timeout=10)

    async def _watch(self, cluster: LocalCluster, address: str) -> None:
        self._loop, self._task = asyncio.get_running_loop(), asyncio.current_task()
        self._started.set()
        try:
            async with SettlementClient(cluster.grpc_addresses, identity=cluster.identity()) as client:
                async with asyncio.timeout(watch_seconds_max):
                    async for event in client.watch_events(from_index=1, address=address):
                        with self._lock:
                            self.events.append(event)
                        if self.stop_at and event.applied_index >= self.stop_at:
                            return
        except asyncio.CancelledError:
            pass  # finish() saw the last event arrive before it named it
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def seen(self) -> list[events_pb2.Event]:
        with self._lock:
            return list(self.events)

    def finish(self, stop_at: int) -> list[events_pb2.Event]:
        """Every event up to the first at or past `stop_at`, which may have arrived already."""
        self.stop_at = stop_at
        if any(e.applied_index >= stop_at for e in self.seen()):
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=watch_seconds_max + 10)
        assert not self._thread.is_alive(), "the watcher did not finish"
        assert self.error is None, repr(self.error)
        return self.seen()


async def replay_from_1(cluster: LocalCluster, address: str, stop_at: int) -> list[events_pb2.Event]:
    """A fresh watch from index 1 on one node, up to the first event at or past `stop_at`."""
    replayed = []
    async with SettlementClient([address], identity=cluster.identity()) as client:
        async with asyncio.timeout(60):
            async for event in client.watch_events(from_index=1, address=address):
                replayed.append(event)
                if event.applied_index >= stop_at:
                    return replayed
    return replayed


def before(events: list[events_pb2.Event], index: int) -> list[tuple[int, int, bytes]]:
    return [(e.applied_index, e.position, e.SerializeToString(deterministic=True)) for e in events if e.applied_index < index]


def test_a_watcher_whose_node_is_killed_resumes_on_another_and_sees_every_event_once(make_cluster):
    cluster: LocalCluster = make_cluster(nodes=3)
    cluster.install_genesis()
    watched = wait_for_leader(cluster)  # the leader: its death is a leader change too
    survivors = [spec for spec in cluster.specs if spec.number != watched]
    with cluster.client(timeout_s=10.0) as client:
        listed_at = list_swinging_market(client)
        watcher = Watcher(cluster, cluster.specs[watched - 1].grpc_address)
        outcome: list = []
        load = threading.Thread(target=lambda: outcome.append(swing_prices(client, swings_max, load_seconds_max)), daemon=True)
        load.start()
        deadline = time.monotonic() + load_seconds_max
        while sum(e.applied_index > listed_at for e in watcher.seen()) < events_before_kill:
            assert time.monotonic() < deadline and watcher.error is None, (len(watcher.seen()), watcher.error)
            time.sleep(0.05)
        seen_at_kill = max(e.applied_index for e in watcher.seen())
        cluster.kill(watched)  # SIGKILL
        load.join(timeout=load_seconds_max + 30)
        assert not load.is_alive(), "the load did not finish"
        acknowledged, _ = outcome[0]
        # The last entry: a new market's first mark, an oracle verdict event at a known index.
        end = client.submit([
            CreateMarket("list-END-PERP", "END-PERP", MarketKind.PERPETUAL, 1, 1, 1_000, 500, 100, 10**9, 1_000, 500, 60_000, 1,
                         sources=(demo_source(),), stale_after_ms=STALE_AFTER_MS),
            demo_price("px-END-PERP", "END-PERP", 1_000, now_ms()),
        ])
    assert all(r.ok for r in end.results), end
    watched_events = watcher.finish(stop_at=end.applied_index)

    assert acknowledged > 0
    ids = [(e.applied_index, e.position) for e in watched_events]
    assert ids == sorted(set(ids)), "an event came twice or out of order"
    assert max(index for index, _ in ids) >= end.applied_index
    assert any(index > seen_at_kill for index, _ in ids), "nothing after the kill: the watch did not resume"
    kinds = {e.WhichOneof("kind") for e in watched_events}
    assert {"breaker_tripped", "market_status_changed", "oracle_verdict_changed"} <= kinds, kinds
    for spec in survivors:
        replayed = asyncio.run(replay_from_1(cluster, spec.grpc_address, end.applied_index))
        assert before(watched_events, end.applied_index) == before(replayed, end.applied_index), spec.node_id
