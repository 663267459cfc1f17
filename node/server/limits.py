"""Every limit and period of the gRPC shell, named once with its unit in its name.

The ledger's own limits (node.ledger.limits) bound one request; these bound what the server
holds in memory and how long it waits on the replica.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.ledger import limits as ledger_limits

# A request larger than this is refused by grpc itself with RESOURCE_EXHAUSTED before any of our
# code runs. A full batch of 1,000 fills is about 100 KB; the rest is room for signatures.
message_bytes_max = 4 * 1024 * 1024

# Group commit: concurrent Submit calls share one Raft entry of at most this many commands (a
# batch never splits across entries). The ledger asserts its own entry_commands_max on every
# entry, so this may be lower, never higher.
entry_commands_max = ledger_limits.entry_commands_max
# How long the first waiting request of an entry may wait for company before it is logged.
coalesce_wait_ms = 2
# Entries handed to the replica and not yet answered: a bounded pipeline, so throughput is not
# one Raft round trip per entry, and a slow replica pushes back on callers.
submits_in_flight_max = 4
# Commands waiting for a slot in the pipeline; beyond this Submit answers RESOURCE_EXHAUSTED
# (back-pressure: nothing was logged, the caller may retry later).
submits_queued_commands_max = 64 * ledger_limits.batch_commands_max

submit_timeout_ms = 5_000
read_barrier_timeout_ms = 2_000

# Events buffered per WatchEvents subscriber before it is cut off as fallen behind.
watch_queue_events_max = 4_096
# Entries (those that had events) a WatchEvents replay reads from the store at once, under the
# replica's lock: short enough not to hold up apply, long enough that the lock costs nothing.
watch_replay_entries_per_read = 256

health_period_ms = 500


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Tunables of one server; the defaults are the named limits above."""

    message_bytes_max: int = message_bytes_max
    entry_commands_max: int = entry_commands_max
    coalesce_wait_ms: float = coalesce_wait_ms
    submits_in_flight_max: int = submits_in_flight_max
    submits_queued_commands_max: int = submits_queued_commands_max
    submit_timeout_ms: int = submit_timeout_ms
    read_barrier_timeout_ms: int = read_barrier_timeout_ms
    watch_queue_events_max: int = watch_queue_events_max
    watch_replay_entries_per_read: int = watch_replay_entries_per_read
    health_period_ms: int = health_period_ms

    def __post_init__(self) -> None:
        # The ledger must accept every entry the coalescer builds, including a lone full request.
        assert 1 <= self.entry_commands_max, self.entry_commands_max
        assert max(self.entry_commands_max, ledger_limits.batch_commands_max) <= ledger_limits.entry_commands_max, (
            self.entry_commands_max
        )
        assert self.message_bytes_max > 0, self.message_bytes_max
        assert self.coalesce_wait_ms >= 0, self.coalesce_wait_ms
        assert self.submits_in_flight_max >= 1, self.submits_in_flight_max
        assert self.submits_queued_commands_max >= ledger_limits.batch_commands_max, self.submits_queued_commands_max
        assert self.submit_timeout_ms > 0 and self.read_barrier_timeout_ms > 0
        assert self.watch_queue_events_max >= 1, self.watch_queue_events_max
        assert self.watch_replay_entries_per_read >= 1, self.watch_replay_entries_per_read
        assert self.health_period_ms > 0, self.health_period_ms
