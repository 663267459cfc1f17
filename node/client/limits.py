"""Every limit and period of the client SDK, named once with its unit in its name."""

from __future__ import annotations

timeout_ms = 5_000  # overall deadline of one SDK call, retries included
attempts_max = 8  # gRPC calls one SDK call may make (redirects and retries included)
backoff_base_ms = 25  # first retry waits about this long ...
backoff_max_ms = 800  # ... doubling up to this, each wait jittered down by up to half
message_bytes_max = 4 * 1024 * 1024  # largest reply accepted (the server's request limit)
reconnect_backoff_initial_ms = 100  # a restarted node is found again quickly
reconnect_backoff_max_ms = 1_000
command_id_prefix_bytes_max = 31  # leaves room for ":" and 32 hex digits within 64 bytes
resign_attempts_max = 3  # a batch refused as below its replay window is signed again at most this often
ambiguous_ids_remembered_max = 100_000  # command ids whose outcome was unknown, with their first signed time
