"""The store check: at a due checkpoint, does the store hold what memory says it holds?

LMDB has no checksums, and the node only reads its store back in full when it starts, so a
damaged record could sit on disk unnoticed until a restart turns it into a wrong balance. So at
each due checkpoint the replica opens a read transaction right after committing that entry (the
store exactly as of index I) and this thread walks it: it recomputes the state hash from the
stored bytes, writes them out as the checkpoint's dump, and reports both hashes. A difference
means the store is corrupt; the vote carries the store's hash, the one the node would restart
with.

One thread, one check at a time, oldest first; at most `store_checks_queued_max` wait (each
holds a read transaction), and when another arrives the oldest waiting one is dropped.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from node.store.readers import ReaderClosed, StoreReader

from .dump import DumpWriter
from .files import CheckpointFiles
from .limits import store_checks_queued_max

log = logging.getLogger("settle.checkpoint")


@dataclass(frozen=True, slots=True)
class StoreCheck:
    index: int
    memory_hash: bytes  # the ledger's in-memory hash after entry `index`
    reader: StoreReader  # the store as committed at `index`


@dataclass(frozen=True, slots=True)
class CheckResult:
    index: int
    memory_hash: bytes
    store_hash: bytes  # recomputed from the stored records (what a restart would load)
    problem: str | None  # why the store disagrees with memory; None when it agrees


# Called on the checker's thread with each finished check.
OnChecked = Callable[[CheckResult], None]


class StoreChecker:
    def __init__(self, files: CheckpointFiles, on_checked: OnChecked) -> None:
        self._files = files
        self._on_checked = on_checked
        self._waiting: collections.deque[StoreCheck] = collections.deque()
        self._wake = threading.Condition()
        self._closed = False
        self.dropped = 0  # checks dropped because the checker could not keep up
        self._thread = threading.Thread(target=self._run, name="checkpoint-store-check", daemon=True)
        self._thread.start()

    def submit(self, check: StoreCheck) -> None:
        """Queue a check (any thread; never blocks on the check itself)."""
        dropped: StoreCheck | None = None
        with self._wake:
            if self._closed:
                dropped = check
            else:
                if len(self._waiting) >= store_checks_queued_max:
                    dropped = self._waiting.popleft()
                    self.dropped += 1
                self._waiting.append(check)
                self._wake.notify()
        if dropped is not None:
            dropped.reader.close()
            if not self._closed:
                log.warning("checkpoint %d: store check dropped, the checker is behind (no vote for it)", dropped.index)

    def close(self, timeout_s: float = 5.0) -> None:
        with self._wake:
            self._closed = True
            waiting, self._waiting = list(self._waiting), collections.deque()
            self._wake.notify()
        for check in waiting:
            check.reader.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._waiting and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                check = self._waiting.popleft()
            try:
                result = run_check(check, self._files.writer(check.index))
            except ReaderClosed:
                log.info("checkpoint %d: store check abandoned, the store closed", check.index)
                continue
            except Exception:  # noqa: BLE001 - a failed check must not end the thread
                log.exception("checkpoint %d: store check failed", check.index)
                continue
            finally:
                check.reader.close()
            self._files.prune()
            try:
                self._on_checked(result)
            except Exception:  # noqa: BLE001
                log.exception("checkpoint %d: handling the store check failed", check.index)


def run_check(check: StoreCheck, writer: DumpWriter) -> CheckResult:
    """Walk the reader: dump every record and recompute the hash; compare with memory and with
    the hash the store itself recorded at that commit."""
    try:
        for table, key, value in check.reader.records():
            writer.add(table, key, value)
        store_hash = writer.finish()
    except BaseException:
        writer.abandon()
        raise
    meta = check.reader.meta
    problem = None
    if meta.applied_index != check.index:
        problem = f"the store's read view is at index {meta.applied_index}, not {check.index}"
    elif writer.undecodable:
        problem = f"{writer.undecodable} stored keys are not UTF-8"
    elif store_hash != check.memory_hash:
        problem = f"stored records hash to {store_hash.hex()}, memory holds {check.memory_hash.hex()}"
    elif meta.state_hash != check.memory_hash:
        problem = f"the store recorded hash {(meta.state_hash or b'').hex()}, memory holds {check.memory_hash.hex()}"
    return CheckResult(check.index, check.memory_hash, store_hash, problem)
