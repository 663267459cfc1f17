"""Ledger time: the leader's stamp, but never backwards and never far ahead of the submitters.

The leader stamps each entry with its clock. Time never runs backwards (a new leader's clock may
be behind). And once a signer set is installed it may not run more than the policy's
`clock_lead_max_ms` ahead of the newest clock a submitter signed (signed_batches.CLOCK_ROLES,
recorded by record_batch), so a rogue leader cannot fast-forward futures expiry, oracle
staleness or timelocks: it can only move time as far as honest submitters' clocks allow.
"""

from __future__ import annotations

from .governance import policy
from .state import META_NEWEST_SIGNED_MS, LedgerState


def entry_time_ms(state: LedgerState, stamped_ms: int) -> int:
    """The ledger time of an entry the leader stamped `stamped_ms`."""
    rules = policy(state)
    if rules is not None:
        # Genesis sets the reference to its own time (emergency._install_genesis).
        stamped_ms = min(stamped_ms, state.meta[META_NEWEST_SIGNED_MS] + rules["clock_lead_max_ms"])
    return max(state.ledger_time_ms, stamped_ms)
