"""The replay's default full check, linear in the number of entries (`--quick` skips it).

`node.ledger.check_full` recomputes every invariant over every record and the state hash from
every record. The records include one dedup record per entry, kept for the retention (400 days in
a replay with backstops, forever in one without a signer set), so after each entry it hashes every
entry so far: O(entries²) over a replay (19,003 entries: 659 s against 130 s with `--quick`
on a loaded 2-core machine; with this check 29.8 s of CPU against 28.3 s).

FullCheck proves the same two things for a cost that grows linearly:
- after every entry, every invariant over every record (`check_every_record`: running totals
  against the records, conservation, zero net position, open interest, funding weight, solvency).
  It reads accounts, positions and markets, the scenario's population, not the dedup records, so
  its cost does not grow with the entries;
- the incremental state hash equals the hash recomputed from every record after entries 1, 2, 4,
  8, ... (powers of two) and after the last entry. With about n records at entry n, that hashes
  fewer than 2n + (population x log2 n) records over a replay, instead of n²/2.

What it gives up: the hash is a sum over records, so a drift the ledger makes stays in it and is
found at the next power of two (or at the end) rather than at the entry that made it; only a later
drift cancelling it exactly, before that point, would hide it. The per-entry check of every
record is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.ledger import LedgerInvariantError, LedgerState
from node.ledger.invariants import check_every_record
from node.ledger.state_hash import hash_modulus, record_hash


def is_hash_checkpoint(entry: int) -> bool:
    """Entries 1, 2, 4, 8, ...: the hash is recomputed from every record after these."""
    return entry > 0 and entry & (entry - 1) == 0


@dataclass(slots=True)
class FullCheck:
    """Counts what it did, so a test can bound it without timing anything."""

    entries_checked: int = 0  # check_every_record runs: one per entry
    hash_recomputations: int = 0  # full recomputations of the state hash
    records_hashed: int = 0  # records hashed by them, in all
    last_hashed_entry: int = 0

    def after_entry(self, state: LedgerState) -> None:
        check_every_record(state)
        self.entries_checked += 1
        if is_hash_checkpoint(state.applied_index):
            self._recompute_hash(state)

    def at_end(self, state: LedgerState) -> None:
        """After the last entry: the hash once more unless that entry was a checkpoint."""
        if self.last_hashed_entry != state.applied_index:
            self._recompute_hash(state)

    def _recompute_hash(self, state: LedgerState) -> None:
        recomputed = 0
        for table, key, value in state.records():
            recomputed += record_hash(table, key, value)
            self.records_hashed += 1
        self.hash_recomputations += 1
        if recomputed % hash_modulus != state.state_hash:
            raise LedgerInvariantError(
                f"incremental state hash differs from a full recomputation after entry {state.applied_index} "
                f"(it agreed after entry {self.last_hashed_entry})")
        self.last_hashed_entry = state.applied_index
