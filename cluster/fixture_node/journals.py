"""Journals that misbehave on purpose, for the durability tests.

- PowerCutShadowJournal keeps a copy of the journal as last synced (`raft.journal.synced`), so a
  test can simulate a power cut: kill -9 every node, then put the copy back (kill -9 alone keeps
  the page cache, so it proves nothing about a sync). The copy is made inside `sync`, which runs
  before the follower answers or the leader counts itself, so it always holds everything
  acknowledged; os.replace keeps a kill during the copy from tearing it. The meta file needs no
  copy: DurableMetaStorer syncs it on every write.
- UnsyncedShadowJournal does the same but never syncs, to show the power-cut test fails without
  the sync.
"""

from __future__ import annotations

import os
import shutil

from node.replica.journal import DurableFileJournal

SYNCED_COPY_SUFFIX = ".synced"


class PowerCutShadowJournal(DurableFileJournal):
    def __init__(self, journal_file: str) -> None:
        super().__init__(journal_file)
        self.copy_synced()

    def sync(self) -> None:
        had_unsynced = self.unsynced
        super().sync()
        if had_unsynced:
            self.copy_synced()

    def copy_synced(self) -> None:
        shutil.copyfile(self.path, self.path + SYNCED_COPY_SUFFIX + ".tmp")
        os.replace(self.path + SYNCED_COPY_SUFFIX + ".tmp", self.path + SYNCED_COPY_SUFFIX)


class UnsyncedShadowJournal(PowerCutShadowJournal):
    def sync(self) -> None:
        """Never syncs: what a power cut leaves is the journal as it was when the node started."""
        self.unsynced = False
