"""Bounded load for cluster tests: unique ids, recorded outcomes, exactly-once checks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from cluster.demo.oracle import demo_price, demo_source
from node.client.commands import now_ms
from node.ledger.commands import CreateMarket, Deposit, MarketKind, SettleTrade
from node.ledger.results import ResultCode

MARKET = "LOAD-PERP"
MARK = 50_000
# The load's one signed price must outlast the test (the default 60 s would make it REDUCE_ONLY).
STALE_AFTER_MS = 3_600_000


@dataclass
class LoadRecord:
    acknowledged: list[tuple] = field(default_factory=list)  # (command, result)
    failures: list[str] = field(default_factory=list)
    ambiguous: list[tuple] = field(default_factory=list)  # batches whose submit raised: applied or not
    highest_index: int = 0  # the highest Raft index of an acknowledged batch
    tag: str = ""


def setup_market(client, tag: str) -> None:
    """A market with a mark and two well-funded traders for the load's fills."""
    client.submit([
        CreateMarket(f"{tag}-list", MARKET, MarketKind.PERPETUAL, 1, 1, 1_000, 500, 100, 10**9, 1_000, 2_000, 60_000, 60_000,
                     sources=(demo_source(),), stale_after_ms=STALE_AFTER_MS),
        demo_price(f"{tag}-px", MARKET, MARK, now_ms()),
        Deposit(f"{tag}-fund-buyer", f"{tag}-buyer", 10**12),
        Deposit(f"{tag}-fund-seller", f"{tag}-seller", 10**12),
    ])


def load_batch(tag: str, n: int, size: int) -> tuple:
    """size - 1 deposits, one per new account (its collateral then says how often it applied),
    and one fill between the two traders, alternating side so positions stay small."""
    deposits = tuple(Deposit(f"{tag}-{n}-{k}", f"{tag}-acct-{n}-{k}", 1_000 + k) for k in range(size - 1))
    buyer, seller = (f"{tag}-buyer", f"{tag}-seller") if n % 2 == 0 else (f"{tag}-seller", f"{tag}-buyer")
    return deposits + (SettleTrade(f"{tag}-fill-{n}", MARKET, buyer, seller, MARK, 1 + n % 3),)


def run_load(client, tag: str, batches_max: int, batch_size: int, stop: threading.Event | None = None,
             seconds_max: float = 60.0) -> LoadRecord:
    """Submit up to `batches_max` batches (bounded in count and time); record what was acknowledged."""
    record = LoadRecord()
    record.tag = tag
    setup_market(client, tag)
    deadline = time.monotonic() + seconds_max
    for n in range(batches_max):
        if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
            break
        commands = load_batch(tag, n, batch_size)
        try:
            results, applied_index = client.submit(list(commands))
        except Exception as error:  # noqa: BLE001 - the load records what failed and goes on
            record.failures.append(repr(error))
            record.ambiguous.append(commands)
            continue
        for command, result in zip(commands, results):
            record.acknowledged.append((command, result))
        record.highest_index = max(record.highest_index, applied_index)
    return record


def assert_applied_exactly_once(client, record: LoadRecord, chunk: int = 500) -> None:
    """Resubmit every acknowledged command: each must come back DUPLICATE of its first outcome,
    and each deposit's account must hold exactly its amount (applied once, not twice)."""
    acknowledged = [(c, r) for c, r in record.acknowledged]
    assert acknowledged, "the load acknowledged nothing"
    for start in range(0, len(acknowledged), chunk):
        part = acknowledged[start:start + chunk]
        results, _ = client.submit([c for c, _ in part])
        for (command, first), again in zip(part, results):
            # The SDK presents a DUPLICATE as the first outcome with duplicate=True.
            assert again.duplicate, (command.id, again)
            assert again.code == first.code, (command.id, again, first)
    for command, first in acknowledged[:: max(1, len(acknowledged) // 50)]:
        if isinstance(command, Deposit) and first.code == ResultCode.OK:
            account = client.get_account(command.account)
            assert account.collateral == command.amount, (command, account)
    # Batches that failed mid-crash may or may not have been applied: resolve them as a client
    # would, by resubmitting with the same ids. Then every fill counts exactly once.
    resolved = list(acknowledged)
    for commands in record.ambiguous:
        results, _ = client.submit(list(commands))
        resolved += list(zip(commands, results))
    # Every fill moved the buyer's position once: no acknowledged fill lost, none doubled.
    expected = 0
    for command, outcome in resolved:
        if isinstance(command, SettleTrade) and outcome.code == ResultCode.OK:
            expected += command.quantity if command.buyer == f"{record.tag}-buyer" else -command.quantity
    assert any(isinstance(c, SettleTrade) and r.code == ResultCode.OK for c, r in acknowledged), "no fill was acknowledged"
    buyer = client.get_account(f"{record.tag}-buyer")
    held = {p.market: p.size for p in buyer.positions}.get(MARKET, 0)
    assert held == expected, (held, expected)


class BackgroundLoad:
    """run_load on its own thread, started at once; finish() waits for it and returns the record."""

    def __init__(self, client, tag: str, batches_max: int, batch_size: int, seconds_max: float) -> None:
        self.stop = threading.Event()
        self._record: LoadRecord | None = None
        self._seconds_max = seconds_max
        self._thread = threading.Thread(
            target=self._run, args=(client, tag, batches_max, batch_size), daemon=True
        )
        self._thread.start()

    def _run(self, client, tag: str, batches_max: int, batch_size: int) -> None:
        self._record = run_load(client, tag, batches_max, batch_size, self.stop, self._seconds_max)

    def finish(self, stop: bool = False) -> LoadRecord:
        if stop:
            self.stop.set()
        self._thread.join(timeout=self._seconds_max + 30)
        assert self._record is not None, "the load did not finish"
        return self._record


# -- a load that produces ledger events -----------------------------------------------------------

SWING_MARKET = "SWING-PERP"
SWING_LOW, SWING_HIGH = 50_000, 55_000  # 10% apart: beyond the market's 5% price band


def list_swinging_market(client, market: str = SWING_MARKET) -> int:
    """A perpetual whose price-band breaker trips on a 5% move and cools down within 1 ms, marked
    by the demo source (its first mark is an oracle verdict event). Returns the entry's index."""
    reply = client.submit([
        CreateMarket(f"list-{market}", market, MarketKind.PERPETUAL, 1, 1, 1_000, 500, 100, 10**9, 1_000, 500, 60_000, 1,
                     sources=(demo_source(),), stale_after_ms=STALE_AFTER_MS),
        demo_price(f"px-{market}-first", market, SWING_LOW, now_ms()),
    ])
    assert all(r.ok for r in reply.results), reply
    return reply.applied_index


def swing_prices(client, count_max: int, seconds_max: float, stop: threading.Event | None = None,
                 market: str = SWING_MARKET) -> tuple[int, list[str]]:
    """Signed marks alternating 10% apart, one entry each: every one trips the band breaker or
    moves the market through its cooldown (breaker, status and verdict events). Bounded in count
    and time; failures (a leader killed mid-call) are recorded, not raised. Returns (updates
    acknowledged, failures)."""
    start_ms = now_ms() + 1  # after the listing's first mark
    deadline = time.monotonic() + seconds_max
    acknowledged, failures = 0, []
    for n in range(count_max):
        if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
            break
        price = SWING_HIGH if n % 2 == 0 else SWING_LOW
        try:
            # Source times strictly increase, and stay well within the ledger's 10 s lead.
            client.submit([demo_price(f"swing-{market}-{n}", market, price, start_ms + n)])
            acknowledged += 1
        except Exception as error:  # noqa: BLE001 - the load records what failed and goes on
            failures.append(repr(error))
    return acknowledged, failures
