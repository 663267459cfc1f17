"""settle-node's exit codes: each reason a node stops has its own, so a supervisor or the local
launcher can say why without reading the log (README "Running a cluster" lists them)."""

from __future__ import annotations

from enum import IntEnum


class NodeExit(IntEnum):
    OK = 0  # stopped by SIGTERM / SIGINT, cleanly
    CRASHED = 1  # an unexpected exception (Python's own code for one)
    CONFIG = 2  # a bad config, key, secrets or TLS file (or bad arguments)
    REFUSED = 3  # its own data cannot be trusted (damaged store, journal behind or damaged)
    DATA_DIR_LOCKED = 4  # another live process holds its data directory (node/data_lock.py)
    GRPC_PORT_TAKEN = 5  # its gRPC address is in use
    RAFT_PORT_TAKEN = 6  # its Raft address is in use
    METRICS_PORT_TAKEN = 7  # its metrics address is in use
    HEALTH_PORT_TAKEN = 8  # its health address is in use
    STOPPED_ITSELF = 70  # EX_SOFTWARE: apply failed (a broken invariant, a full map, a store error)


REASONS = {
    NodeExit.OK: "stopped cleanly",
    NodeExit.CRASHED: "crashed (see the traceback in its log)",
    NodeExit.CONFIG: "bad configuration or arguments",
    NodeExit.REFUSED: "refused to start: its own data cannot be trusted",
    NodeExit.DATA_DIR_LOCKED: "its data directory is held by another process",
    NodeExit.GRPC_PORT_TAKEN: "its gRPC address is in use",
    NodeExit.RAFT_PORT_TAKEN: "its Raft address is in use",
    NodeExit.METRICS_PORT_TAKEN: "its metrics address is in use",
    NodeExit.HEALTH_PORT_TAKEN: "its health address is in use",
    NodeExit.STOPPED_ITSELF: "stopped itself: applying an entry failed",
}


def describe(code: int | None) -> str:
    """`code` (a process's return code; negative: killed by that signal) in words."""
    if code is None:
        return "still running"
    if code < 0:
        return f"killed by signal {-code}"
    try:
        return f"exit code {code}: {REASONS[NodeExit(code)]}"
    except ValueError:
        return f"exit code {code}"
