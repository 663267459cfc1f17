"""Every limit of the node's checkpoint work, named once with its unit in its name."""

from __future__ import annotations

# Due checkpoints waiting for their store check (each holds an LMDB read transaction, which pins
# the pages it sees). When a check cannot keep up, the oldest waiting one is dropped, logged, and
# not voted: the ledger schedules the same indexes on every node, so the newest ones are the
# ones all nodes still have.
store_checks_queued_max = 2

# The in-memory state hash at each recent due index, compared with certificates as they arrive.
own_hashes_kept = 64

# A vote is one command, submitted through the SDK like a client's: each submit is bounded by
# vote_submit_timeout_ms (the SDK's own retries and redirects included), and a vote is given up
# after vote_attempts_max submits, vote_retry_pause_ms apart. Retries reuse the command id, so
# the ledger applies a vote at most once.
vote_attempts_max = 5
vote_submit_timeout_ms = 5_000
vote_retry_pause_ms = 500
# Votes being submitted at once; beyond, a new vote is dropped (an older one is still trying).
votes_in_flight_max = 4

# Dumps kept on disk: of the newest certified checkpoints (so an export that fetched the
# certificate just before the next one still finds its dump), and of due checkpoints not yet
# certified.
certified_dumps_kept = 3
pending_dumps_kept = 3

# Recovery after a divergence: each one keeps the diverged data as DIR.diverged-<index>; only
# the newest diverged_copies_kept are kept. More than recoveries_max divergences within
# recovery_window_s stop the automatic recovery: the node stays fenced for an operator, since a
# node that keeps diverging has a problem a restore does not fix (disk, memory, build).
diverged_copies_kept = 3
recoveries_max = 3
recovery_window_s = 3_600
# How long the node waits for its replica to stop before it restarts anyway.
recovery_stop_timeout_s = 10.0
