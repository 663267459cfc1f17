"""Applying one logged entry, exactly as every replica applies it.

A Raft entry holds a `LogEntry` (node/codec/log.py): the leader's timestamp and the batches of the
Submit calls it coalesced. Applying it is: decode, run the pure ledger, split the results back per
batch by the batches' lengths. The live replica, the chaos checker's journal replay and the
server tests' fake replica all call this one function, so the three cannot drift apart.

An entry whose bytes do not decode as a LogEntry is applied as an empty entry at its index: every
replica sees the same bytes and refuses them the same way, so they still agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.codec import CodecError, decode_log_entry
from node.identity.keys import verify_ed25519
from node.ledger import LedgerState, apply
from node.ledger.apply import EntryOutcome
from node.ledger.commands import LogEntry
from node.ledger.results import Result


@dataclass(frozen=True, slots=True)
class AppliedEntry:
    entry: LogEntry  # what the ledger applied (empty if the bytes did not decode)
    outcome: EntryOutcome  # every command's result in order, and the events
    results_per_batch: tuple[tuple[Result, ...], ...]  # outcome.results split per logged batch
    decodable: bool


def decode_logged_entry(data: bytes, index: int) -> tuple[LogEntry, tuple[int, ...], bool]:
    """(entry, commands per batch, decodable) of the bytes logged at `index`."""
    try:
        decoded = decode_log_entry(data, index)
    except CodecError:
        return LogEntry(index, 0, ()), (), False
    return decoded.entry, decoded.batch_sizes, True


def split_per_batch(results: tuple[Result, ...], batch_sizes: tuple[int, ...]) -> tuple[tuple[Result, ...], ...]:
    per_batch, start = [], 0
    for size in batch_sizes:
        per_batch.append(tuple(results[start:start + size]))
        start += size
    return tuple(per_batch)


def apply_logged_entry(state: LedgerState, index: int, data: bytes) -> AppliedEntry:
    """Applies the entry logged at `index` to `state` (in place) with the real Ed25519 verifier."""
    entry, batch_sizes, decodable = decode_logged_entry(data, index)
    outcome = apply(state, entry, verify_ed25519)
    return AppliedEntry(entry, outcome, split_per_batch(outcome.results, batch_sizes), decodable)
