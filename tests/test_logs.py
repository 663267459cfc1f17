"""node/logs.py without processes: the JSON line's fields, the context from a replica, and a
liquidation storm summed into one bounded line per entry."""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace

import pytest

from node import logs
from node.ledger import events


@pytest.fixture(autouse=True)
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def capture(log_format: str = "json"):
    context = logs.setup(log_format, "INFO", "node7")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)
    return context, stream


def test_json_lines_carry_context_and_event_fields():
    context, stream = capture()
    context.replica = SimpleNamespace(raft=SimpleNamespace(current_term=4), state=SimpleNamespace(applied_index=99))
    logging.getLogger("settle.test").info("hello %s", "there")
    logs.log_ledger_events(12, [events.CheckpointCertified(10, b"\x01" * 32, 2, ("node1", "node2"))])
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "message", "node", "term", "applied")} == {
        "level": "INFO", "logger": "settle.test", "message": "hello there", "node": "node7", "term": 4, "applied": 99}
    assert "event" not in first and first["time"].endswith("Z")
    assert (second["event"], second["checkpoint"], second["signers"]) == ("checkpoint_certified", 10, ["node1", "node2"])


def test_liquidations_of_one_entry_are_one_bounded_line():
    _, stream = capture()
    storm = [events.Liquidation(f"acct{i:04d}", "BTC-PERP", 1, 100, 0, 0, 0) for i in range(5_000)]
    logs.log_ledger_events(3, storm)
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert (record["event"], record["slices"], record["positions"]) == ("liquidation", 5_000, 5_000)
    assert len(record["accounts"]) == logs.liquidation_accounts_listed_max and record["accounts_truncated"]


def test_text_format_is_one_readable_line():
    _, stream = capture("text")
    logging.getLogger("settle.test").warning("plain")
    (line,) = stream.getvalue().splitlines()
    assert "WARNING settle.test [node7" in line and line.endswith(": plain")
