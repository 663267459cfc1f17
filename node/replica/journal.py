"""pysyncobj's file journal, made durable.

pysyncobj 0.3.17 never syncs its journal (upstream issue #84): `FileJournal.add` writes into an
mmap and `MetaStorer.storeMeta` renames a file it never fsyncs, so a power cut can lose entries a
node already acknowledged. This module subclasses both to track what is unsynced and to sync it
on demand; `raft.LedgerRaft` decides WHEN (see the durability contract there). Pinned to 0.3.17:
the subclass reaches into FileJournal's private attributes.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from pysyncobj.journal import FileJournal, MetaStorer
from pysyncobj.pickle import dumps
from pysyncobj.version import VERSION as PYSYNCOBJ_VERSION

from node.config import fsync_directory

# This module (and raft.py) reach into pysyncobj's private names; another version may move them.
assert PYSYNCOBJ_VERSION == "0.3.17", PYSYNCOBJ_VERSION


class DurableMetaStorer(MetaStorer):
    """Term and vote must be durable before a vote is sent (Raft, Figure 2)."""

    def storeMeta(self, meta) -> None:
        path = self.getPath()
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(dumps(meta))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_directory(Path(path).parent)


class DurableFileJournal(FileJournal):
    def __init__(self, journal_file: str, shadow: bool = False, skip_sync: bool = False) -> None:
        super().__init__(journal_file)
        self._FileJournal__metaStorer = DurableMetaStorer(journal_file + ".meta")
        self._path = journal_file
        self._shadow = shadow
        self._skip_sync = skip_sync
        self.unsynced = False
        self.syncs = 0
        self.sync_seconds = 0.0
        fsync_directory(Path(journal_file).parent)  # the journal file's own directory entry
        self._copy_shadow()

    def add(self, command, idx, term):
        super().add(command, idx, term)
        self.unsynced = True

    def clear(self):
        super().clear()
        self.unsynced = True

    def deleteEntriesFrom(self, entryFrom):
        super().deleteEntriesFrom(entryFrom)
        self.unsynced = True

    def deleteEntriesTo(self, entryTo):
        super().deleteEntriesTo(entryTo)
        self.unsynced = True

    def sync(self) -> None:
        """msync the journal's mmap (one call covers every entry appended since the last one)."""
        if not self.unsynced:
            return
        self.unsynced = False
        if self._skip_sync:
            return
        started = time.perf_counter()
        self.flush()
        self.syncs += 1
        self.sync_seconds += time.perf_counter() - started
        self._copy_shadow()

    def _copy_shadow(self) -> None:
        # Test-only power-cut simulation: what a power cut leaves of the journal is what was last
        # synced. (The meta file needs no shadow: DurableMetaStorer syncs it on every write.)
        # The copy is made before the follower answers or the leader counts itself, so it always
        # holds everything acknowledged; os.replace keeps a kill during the copy from tearing it.
        if self._shadow:
            shutil.copyfile(self._path, self._path + ".synced.tmp")
            os.replace(self._path + ".synced.tmp", self._path + ".synced")
