"""Bounded load for cluster tests: unique ids, recorded outcomes, exactly-once checks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from node.ledger.commands import Deposit
from node.ledger.results import ResultCode


@dataclass
class LoadRecord:
    acknowledged: list[tuple] = field(default_factory=list)  # (command, result)
    failures: list[str] = field(default_factory=list)
    highest_index: int = 0  # the highest Raft index of an acknowledged batch


def deposit_batch(tag: str, n: int, size: int) -> tuple:
    # One account per command: after any crash its collateral says exactly how often it applied.
    return tuple(Deposit(f"{tag}-{n}-{k}", f"{tag}-acct-{n}-{k}", 1_000 + k) for k in range(size))


def run_load(client, tag: str, batches_max: int, batch_size: int, stop: threading.Event | None = None,
             seconds_max: float = 60.0) -> LoadRecord:
    """Submit up to `batches_max` batches (bounded in count and time); record what was acknowledged."""
    record = LoadRecord()
    deadline = time.monotonic() + seconds_max
    for n in range(batches_max):
        if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
            break
        commands = deposit_batch(tag, n, batch_size)
        try:
            results, applied_index = client.submit(list(commands))
        except Exception as error:  # noqa: BLE001 - the load records what failed and goes on
            record.failures.append(repr(error))
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
