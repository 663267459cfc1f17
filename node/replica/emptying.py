"""Emptying a node for a restore without forgetting its Raft term and vote.

A node emptied to be restored (from its peers, or from a backup) starts with no log, but Raft
still counts its vote. pysyncobj keeps the term and the vote beside its journal
(`raft.journal.meta`); a node emptied by moving its data directory aside came back at term 0 with
no vote, and could vote for a second candidate in a term it had already voted in: two candidates
with a majority each, two leaders in one term. So every way a node is emptied goes through
`empty_for_restore`, which writes the term and the vote it held into the emptied directory:

- the operator: `settle node reset --data-dir DIR` (`reset_node`), before starting the node empty
  or before `settle restore` (which refuses a directory without them unless told it is a new node);
- divergence recovery (node/checkpoint/recovery.py, handed this function by the replica: the
  checkpoint package does not import this one);
- the chaos harness's restore from peers (cluster/chaos/faults.py).

A running node holds its data directory's lock (node/data_lock.py, an flock on `node.lock`,
released by the kernel when the process ends however it ends), so the operator's reset refuses
a node that still runs.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

from node.backup.restore import state_paths
from node.config import NodeConfig, fsync_directory
from node.data_lock import lock_data_dir
from node.replica.journal import TermAndVote, read_term_and_vote, write_term_and_vote

RESET_MARK = ".reset-"  # `<data_dir>.reset-<UTC time>`: where `settle node reset` moves the state


class NothingToReset(Exception):
    """The data directory holds no node state."""


def meta_file(data_dir: Path) -> Path:
    """The file with the node's Raft term and vote, in `data_dir`."""
    return NodeConfig.raft_meta_file.fget(SimpleNamespace(data_dir=data_dir))


def empty_for_restore(data_dir: Path, aside: Path) -> TermAndVote:
    """Moves the node's state (store, journal, dump, checkpoint dumps, restore marker) out of
    `data_dir` into the new directory `aside`, and leaves in `data_dir` the Raft term and vote it
    held; returns them. Config, keys and logs stay. The node must be stopped.

    Nothing changes when the term and vote do not parse (TermAndVoteUnreadable) or `aside`
    exists (FileExistsError). At every step `data_dir` holds the term and vote: the old meta file
    is copied aside, then replaced in place by one holding them alone."""
    meta = meta_file(data_dir)
    carried = read_term_and_vote(meta) or TermAndVote(0, None)  # none: the node never voted
    aside.mkdir(mode=0o700)
    if meta.exists():
        shutil.copy2(meta, aside / meta.name)  # the file as it was, with the rest, for forensics
    write_term_and_vote(meta, carried)
    for path in state_paths(data_dir):
        if path != meta:
            os.replace(path, aside / path.name)
    fsync_directory(aside)
    fsync_directory(data_dir)
    fsync_directory(data_dir.parent)
    return carried


def reset_node(data_dir: Path, now_s: float | None = None) -> tuple[Path, TermAndVote]:
    """The operator's reset of a stopped node: its state moves to `<data_dir>.reset-<UTC time>`
    and its term and vote stay. DataDirLocked while the node runs; NothingToReset when there is
    no state to move (nothing changed either way)."""
    data_dir = data_dir.resolve()
    if not data_dir.is_dir():
        raise NothingToReset(f"{data_dir} is not a directory")
    with lock_data_dir(data_dir):
        if not [p for p in state_paths(data_dir) if p != meta_file(data_dir)]:
            raise NothingToReset(f"{data_dir} holds no node state (store, journal, dump): nothing to reset")
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now_s is None else now_s))
        aside = data_dir.with_name(f"{data_dir.name}{RESET_MARK}{stamp}")
        suffix = 1
        while aside.exists():
            suffix += 1
            aside = data_dir.with_name(f"{data_dir.name}{RESET_MARK}{stamp}-{suffix}")
        return aside, empty_for_restore(data_dir, aside)
