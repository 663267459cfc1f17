"""Exactly-once in bounded memory: what the ledger forgets, and why that is safe.

A command id's dedup record (the first outcome, answered to any retry) and a submitter stream's
replay window (which sequences it used) would otherwise be kept forever: about 400 bytes of memory
and 200 of disk per settled trade. Once a signer set is installed, each is retained from the later
of two times, the ledger time of the entry that wrote it and the newest signed clock of the
batches behind it, for the policy's `dedup_retention_ms`, then pruned, at the start of an entry,
oldest first, at most a few per entry (limits.retention_prune_*), so every replica prunes the same
records at the same index.

Why no id can be applied twice after its record is gone: a batch signed at S is accepted only if
S >= ledger time - dedup_retention_ms (else BATCH_EXPIRED, signed_batches.py, changing nothing).
Its records are retained from a time T >= S and pruned once ledger time passed T +
dedup_retention_ms > S + dedup_retention_ms: from then on that very batch is expired. A stream's
window is retained from the latest such time over every batch it carried, so once it is pruned
every batch it ever carried is expired too.
A client that signs the same command ids again, with a new clock, after the retention is outside
the contract (the SDK never does: a retry keeps the batch's first signed time).

Raising the retention (a new signer-set policy) must not bring a forgotten batch back: right after
a raise, ledger time minus the new retention lies before records already forgotten. So the ledger
keeps `forgotten_through_ms`, the newest "retained since" time it has forgotten, and a batch signed
at or before it is expired too: its records may be gone. Until ledger time minus the new retention
passes that time, nothing more is pruned and the window grows to its new length.

Before the genesis signer set there is no policy and no signed clock: nothing is pruned (the
bootstrap is short, and unsigned batches are refused once a signer set exists).
"""

from __future__ import annotations

import heapq

from .governance import policy
from .limits import retention_prune_dedup_entries_max, retention_prune_windows_max
from .state import META_FORGOTTEN_THROUGH_MS, LedgerState


def retention_cutoff_ms(state: LedgerState) -> int | None:
    """Records retained since before this ledger time may be pruned, and a batch signed before it
    is expired; None before genesis. Never at or before what was already forgotten."""
    rules = policy(state)
    if rules is None:
        return None
    return max(state.ledger_time_ms - rules["dedup_retention_ms"], state.meta[META_FORGOTTEN_THROUGH_MS] + 1)


def prune_expired(state: LedgerState) -> None:
    """Forget dedup records and replay windows past the retention, oldest first, bounded."""
    cutoff = retention_cutoff_ms(state)
    if cutoff is None:
        return
    forgotten_through = state.meta[META_FORGOTTEN_THROUGH_MS]
    expiry = state.dedup_expiry
    for _ in range(retention_prune_dedup_entries_max):
        if not expiry or expiry[0][0] >= cutoff:
            break
        forgotten_through = max(forgotten_through, expiry[0][0])
        state.drop_dedup_batch()
    budget = retention_prune_windows_max
    times, uses = state.window_use_times, state.window_uses
    while budget and times and times[0] < cutoff:
        forgotten_through = max(forgotten_through, times[0])
        group = uses[times[0]]
        for key in sorted(group)[:budget]:
            state.put_governance(key, None)  # also takes it out of `group`
            budget -= 1
        if not group:
            del uses[heapq.heappop(times)]
    if forgotten_through != state.meta[META_FORGOTTEN_THROUGH_MS]:
        state.put_meta(META_FORGOTTEN_THROUGH_MS, forgotten_through)
