"""Structured logs: one JSON object per line (the default) or a readable text line.

Why JSON: an operator's log shipper can index it without parsing prose, and every line carries
the node id and the Raft term and applied index it was written at, so lines from several nodes
can be lined up. State changes carry an `event` field (names in EVENTS), so alerts can key on it
rather than on wording.

What is never logged: the Raft password and key material. Nothing here reads them; messages
only name files (a key *file*'s path, never its bytes). `tests/cluster/test_logs.py` greps a real
run's logs to keep it so.

The context fields are read from the replica without its lock (two attribute reads on whatever
thread logs): a line may show an index one entry stale, never a wrong node.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections import Counter
from typing import Any

from node.ledger import events as ledger_events
from node.ledger.commands import ActionKind
from node.ledger.records import MarketStatus, StatusReason

EVENTS = (
    "node_start", "node_stop", "leader_change", "breaker_trip", "market_status", "liquidation",
    "emergency_action", "checkpoint_certified", "divergence", "snapshot_installed",
)
leader_poll_interval_s = 0.25  # how soon a leader change is logged; the check is two attribute reads
liquidation_accounts_listed_max = 10  # one line per entry; beyond this many accounts only counts

event_log = logging.getLogger("settle.events")


class ReplicaContext(logging.Filter):
    """Adds node, term and applied index to every record; the replica is attached once it exists."""

    def __init__(self, node_id: str = "") -> None:
        super().__init__()
        self.node_id = node_id
        self.replica = None

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node_id
        replica = self.replica
        term = applied = None
        if replica is not None:
            term = replica.raft.current_term if replica.raft is not None else None
            applied = replica.state.applied_index
        record.term, record.applied = term, applied
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "node": getattr(record, "node", ""),
            "term": getattr(record, "term", None),
            "applied": getattr(record, "applied", None),
        }
        event = getattr(record, "event", None)
        if event:
            line["event"] = event
            line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(node)s t%(term)s @%(applied)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        event = getattr(record, "event", None)
        return f"{line} [event={event}]" if event else line


def setup(log_format: str, level: str, node_id: str = "") -> ReplicaContext:
    """Configures the root logger on stderr; returns the filter to attach the replica to."""
    context = ReplicaContext(node_id)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(context)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return context


def log_event(event: str, message: str, level: int = logging.INFO, **fields: Any) -> None:
    event_log.log(level, message, extra={"event": event, "fields": fields})


def log_ledger_events(index: int, events) -> None:
    """One line per state change an entry made; liquidations are summed into one line per entry.
    Called on the apply path, so it never raises: a logging bug must not stop the node."""
    try:
        _log_ledger_events(index, events)
    except Exception:  # noqa: BLE001
        event_log.exception("could not log the events of entry %d", index)


def _log_ledger_events(index: int, events) -> None:
    liquidated: Counter = Counter()
    slices = 0
    for event in events:
        if isinstance(event, ledger_events.Liquidation):
            slices += 1
            liquidated[(event.market, event.account)] += 1
        elif isinstance(event, ledger_events.BreakerTripped):
            log_event("breaker_trip", f"breaker tripped in {event.market}", logging.WARNING, index=index,
                      market=event.market, price=event.price, reference=event.reference, until_ms=event.until_ms)
        elif isinstance(event, ledger_events.MarketStatusChanged):
            status, reason = _name(MarketStatus, event.status), _name(StatusReason, event.reason)
            log_event("market_status", f"market {event.market} is {status} ({reason})", index=index,
                      market=event.market, status=status, reason=reason)
        elif isinstance(event, ledger_events.ActionTaken):
            kind = _name(ActionKind, event.kind)
            log_event("emergency_action", f"emergency action {kind} {event.outcome}", logging.WARNING,
                      index=index, kind=kind, nonce=event.nonce, market=event.market,
                      outcome=event.outcome, effective_at_ms=event.effective_at_ms)
        elif isinstance(event, ledger_events.CheckpointCertified):
            log_event("checkpoint_certified", f"checkpoint {event.index} certified", index=index,
                      checkpoint=event.index, state_hash=event.state_hash.hex()[:16], epoch=event.epoch,
                      signers=list(event.signers))
    if slices:
        listed = sorted(liquidated)[:liquidation_accounts_listed_max]
        log_event("liquidation", f"{slices} liquidation slices of {len(liquidated)} positions", logging.WARNING,
                  index=index, slices=slices, positions=len(liquidated),
                  markets=sorted({m for m, _ in liquidated}), accounts=[a for _, a in listed],
                  accounts_truncated=len(liquidated) > len(listed))


def _name(enum_type, value: int) -> str:
    try:
        return enum_type(value).name
    except ValueError:
        return str(value)


async def watch_leader(replica) -> None:
    """Logs a leader_change line whenever this node sees a new leader or term (until cancelled).
    Polling: pysyncobj has no leader-change callback, and a quarter second is soon enough."""
    seen = None
    while True:
        try:
            now = (replica.raft.current_term, replica.raft.leader_raft_address())
            if now != seen and now[1] is not None:
                seen = now
                leader_id = replica.member_id(now[1])
                log_event("leader_change", f"term {now[0]}: leader is {leader_id}",
                          new_term=now[0], leader=leader_id, is_self=leader_id == replica.node_id)
        except Exception:  # noqa: BLE001 - a watcher's bug must not end the node
            event_log.exception("leader watch failed")
        await asyncio.sleep(leader_poll_interval_s)
