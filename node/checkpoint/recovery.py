"""Recovery from a divergence: move the node's data aside and start again, empty.

An empty node is restored by its peers the way a new or wiped one is: pysyncobj ships the
leader's snapshot (which the store verifies against its hash before installing) and replays the
log after it. The diverged data is not deleted: it moves to `<data_dir>.diverged-<applied index>`
for forensics. Only the node's state moves (the LMDB store, the Raft journal and dump, the
checkpoint dumps); its config, keys and logs stay where they are, and so do its Raft term and
vote (a node that forgot them could vote twice in one term). The moving is the replica's
`empty_for_restore` (node/replica/emptying.py), handed in by the replica (this package does not
import node/replica). The process then re-executes its own command line (os.execv: same pid, so
supervisors and pid files stay right).

Bounds: the newest `diverged_copies_kept` copies are kept, older ones deleted; and when
`recoveries_max` copies were made within `recovery_window_s`, the node does not recover again
on its own: it stays fenced, for an operator.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from node.config import NodeConfig

from .limits import diverged_copies_kept, recoveries_max, recovery_window_s

log = logging.getLogger("settle.checkpoint")

DIVERGED_MARK = ".diverged-"

# empty_for_restore(data_dir, aside): moves the node's state into the new directory `aside` and
# keeps its Raft term and vote in data_dir (node/replica/emptying.py).
EmptyForRestore = Callable[[Path, Path], object]


def diverged_copies(config: NodeConfig) -> list[Path]:
    """The copies of this node's diverged data, oldest first."""
    data_dir = config.data_dir.resolve()
    copies = [p for p in data_dir.parent.glob(data_dir.name + DIVERGED_MARK + "*") if p.is_dir()]
    return sorted(copies, key=lambda p: (p.stat().st_mtime, p.name))


def recovery_refusal(config: NodeConfig, now_s: float | None = None) -> str | None:
    """Why the node must not recover on its own now, or None."""
    now_s = time.time() if now_s is None else now_s
    recent = [p for p in diverged_copies(config) if now_s - p.stat().st_mtime < recovery_window_s]
    if len(recent) >= recoveries_max:
        return (f"{len(recent)} recoveries within {recovery_window_s} s (at most {recoveries_max}): this node keeps "
                f"diverging; inspect {', '.join(str(p) for p in recent)} and restore it by hand")
    return None


def move_state_aside(config: NodeConfig, applied_index: int, empty_for_restore: EmptyForRestore) -> Path:
    """Moves the node's state into a new `<data_dir>.diverged-<index>` directory (keeping its
    Raft term and vote) and prunes old copies; returns the new copy. The store and the journal
    must be closed."""
    data_dir = config.data_dir.resolve()
    copy = data_dir.parent / f"{data_dir.name}{DIVERGED_MARK}{applied_index}"
    suffix = 1
    while copy.exists():
        suffix += 1
        copy = data_dir.parent / f"{data_dir.name}{DIVERGED_MARK}{applied_index}-{suffix}"
    empty_for_restore(data_dir, copy)
    for old in diverged_copies(config)[:-diverged_copies_kept]:
        log.warning("deleting an old diverged copy %s (keeping the newest %d)", old, diverged_copies_kept)
        shutil.rmtree(old, ignore_errors=True)
    return copy


def restart_process() -> None:
    """Replaces this process with a fresh run of the same command line; never returns."""
    argv = list(sys.orig_argv)
    log.critical("restarting: %s", " ".join(argv))
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *argv[1:]])
