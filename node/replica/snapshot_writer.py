"""Writing a snapshot off the tick thread.

pysyncobj asks for a snapshot on its tick thread (its serializer hook) and, given a checker
(SyncObjConf.serializeChecker), asks on every later tick how it is going. Copying a large store
there held up heartbeats for the whole copy. So the tick thread only opens an LMDB read
transaction (the store as of the last applied entry; LMDB keeps it intact however many entries
are committed meanwhile) and this module's thread writes the file: the header, then a compact
copy of exactly that transaction (liblmdb, GIL released), fsynced, under a name of its own. When
the copy is done, the next check (tick thread) moves it over the dump and fsyncs the directory:
the dump file is only ever replaced whole, and only by the tick thread, which is also the one
that installs a peer's snapshot over it.

The progress reported to pysyncobj: IDLE, WRITING, then WRITTEN or FAILED once. A snapshot
abandoned (a peer's snapshot arrived meanwhile) is never moved over the dump: once its copy ends
it is deleted and reported FAILED (pysyncobj logs it and asks again later).
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
from pathlib import Path

from node.config import fsync_directory
from node.replica.snapshot import SnapshotHeader, header_bytes
from node.store.readers import StoreReader

log = logging.getLogger("settle.replica")

snapshot_file_mode = 0o600  # the whole ledger: readable by the node alone
WRITING_SUFFIX = ".writing"


class SnapshotProgress(enum.Enum):
    IDLE = "idle"
    WRITING = "writing"
    WRITTEN = "written"  # reported once, then IDLE
    FAILED = "failed"  # reported once, then IDLE


class SnapshotWriter:
    def __init__(self, dump_file: Path) -> None:
        self.dump_file = Path(dump_file)
        self.writing_file = self.dump_file.with_name(self.dump_file.name + WRITING_SUFFIX)
        self.writing_file.unlink(missing_ok=True)  # a copy a crash interrupted: never the dump
        self._thread: threading.Thread | None = None
        self._header: SnapshotHeader | None = None
        self._error: BaseException | None = None
        self._started_at = 0.0
        self._outcome = SnapshotProgress.IDLE  # an end not yet reported
        self._abandoned = False

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, header: SnapshotHeader, reader: StoreReader) -> None:
        """Tick thread: write `header` and the commit `reader` holds, in the background. The
        writer owns `reader` from here on and closes it."""
        assert self._thread is None, "one snapshot at a time"
        self._header, self._error, self._started_at = header, None, time.monotonic()
        self._abandoned = False
        self._thread = threading.Thread(target=self._write, args=(header, reader), name="snapshot-writer", daemon=True)
        self._thread.start()

    def _write(self, header: SnapshotHeader, reader: StoreReader) -> None:  # the writer's thread
        try:
            fd = os.open(self.writing_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, snapshot_file_mode)
            with os.fdopen(fd, "wb") as out:
                out.write(header_bytes(header))
                out.flush()
                reader.copy_compact(out.fileno())  # appends after the header
                os.fsync(out.fileno())
        except BaseException as error:  # noqa: BLE001 - reported as FAILED on the tick thread
            self._error = error
        finally:
            reader.close()

    def progress(self) -> SnapshotProgress:
        """Tick thread: how the snapshot is going; a finished one is moved over the dump first."""
        if self._thread is not None:
            if self._thread.is_alive():
                return SnapshotProgress.WRITING
            self._thread = None
            self._outcome = self._publish()
        outcome, self._outcome = self._outcome, SnapshotProgress.IDLE
        return outcome

    def _publish(self) -> SnapshotProgress:
        if self._abandoned:
            log.info("snapshot at applied index %d abandoned", self._header.applied_index)
            self.writing_file.unlink(missing_ok=True)
            return SnapshotProgress.FAILED
        if self._error is not None:
            log.error("snapshot at applied index %d failed: %r", self._header.applied_index, self._error)
            self.writing_file.unlink(missing_ok=True)
            return SnapshotProgress.FAILED
        os.replace(self.writing_file, self.dump_file)
        fsync_directory(self.dump_file.parent)
        log.info("snapshot written at applied index %d: %d MB in %.1f s", self._header.applied_index,
                 self.dump_file.stat().st_size >> 20, time.monotonic() - self._started_at)
        return SnapshotProgress.WRITTEN

    def abandon(self) -> None:
        """Tick thread: the snapshot in progress, if any, will not replace the dump (its copy is
        left to end on its own thread: no wait here)."""
        if self._thread is not None:
            self._abandoned = True
