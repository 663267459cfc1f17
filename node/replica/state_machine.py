"""The ledger as Raft sees it: three verbs, apply, snapshot and restore (hashicorp/raft's FSM).

pysyncobj calls all three on its tick thread: `apply` for every committed entry (through
LedgerRaft.apply_entry), `snapshot` and `restore` as its serializer and deserializer hooks. The
ledger state and its LMDB store are touched under `lock`, which the asyncio side takes too for
its reads (node/replica/replica.py).

Apply: the entry's effects, its dedup records, the applied index, the state hash and its events
are written in ONE synced LMDB transaction; an index at or below the stored applied index is skipped
(pysyncobj re-applies everything since its last dump after a restart). Anything that breaks the
ledger's invariants or the store stops the process loudly: a node must never serve a balance it
cannot vouch for (docs/design.md#durability-contract).

Snapshot: a compact LMDB copy plus pysyncobj's metadata, without pickle (snapshot.py). Restore:
a snapshot newer than the live store replaces it (catch-up), verified against its own hash; an
older or equal one is a restart, and the live store stays.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from node.ledger import LedgerState
from node.ledger.events import Event
from node.ledger.state_hash import hash_bytes
from node.logs import log_event, log_ledger_events
from node.metrics import NodeMetrics
from node.replica import snapshot
from node.replica.logged_entry import apply_logged_entry
from node.replica.port import SubmitOutcome
from node.store import LedgerStore

log = logging.getLogger("settle.replica")

fatal_exit_code = 70  # EX_SOFTWARE: the node stopped itself on a broken invariant or store error


def stop_loudly(what: str) -> None:
    """Ends the process at once: applying half an entry, or serving past a broken invariant,
    would be worse than a node down (its peers carry on; it restarts and replays)."""
    log.critical("STOPPING NODE: %s", what, exc_info=True)
    logging.shutdown()
    os._exit(fatal_exit_code)


@dataclass(frozen=True, slots=True)
class AppliedEntryHooks:
    """What the rest of the node does after an entry is committed (tick thread, under the lock
    for `after_commit`): checkpoint bookkeeping, and handing events to subscribers."""

    after_commit: Callable[[LedgerState, Sequence[Event]], None]
    publish: Callable[[int, int, Sequence[Event]], None]  # (index, ledger time, events)
    after_restore: Callable[[LedgerState], None]


class LedgerStateMachine:
    def __init__(self, store: LedgerStore, data_dir: Path, raft_address: str, metrics: NodeMetrics) -> None:
        self.lock = threading.Lock()
        self.store = store
        self.state: LedgerState = store.load()  # StoreCorruptError: refuse to start
        self._data_dir = data_dir
        self._raft_address = raft_address
        self._metrics = metrics
        self.hooks: AppliedEntryHooks | None = None  # set once the node around it is assembled

    # -- apply --------------------------------------------------------------------------------

    def apply(self, index: int, data: bytes) -> SubmitOutcome | None:
        try:
            if index <= self.state.applied_index:
                return None  # replayed after a restart: already in the store
            with self.lock:
                started = time.perf_counter()
                applied = apply_logged_entry(self.state, index, data)
                applied_at = time.perf_counter()
                events = applied.outcome.events
                self.store.commit(self.state, events)  # kept for WatchEvents to replay
                self._metrics.entry_applied(applied.entry.commands, applied.outcome.results,
                                            applied_at - started, time.perf_counter() - applied_at)
                if events and self.hooks is not None:
                    self.hooks.after_commit(self.state, events)
            if not applied.decodable:
                log.error("entry %d is not a LogEntry this node can read; applied as empty", index)
            if events:
                log_ledger_events(index, events)  # structured state-change lines (node/logs.py)
                if self.hooks is not None:
                    self.hooks.publish(index, self.state.ledger_time_ms, events)
            return SubmitOutcome(index, applied.results_per_batch)
        except BaseException as error:  # noqa: BLE001 - stop, never continue half-applied
            stop_loudly(f"applying entry {index}: {error!r}")

    # -- snapshot and restore (pysyncobj's serializer hooks) ------------------------------------

    def snapshot(self, path: str, raft_data) -> None:
        last_entry, previous_entry, cluster = raft_data
        with tempfile.TemporaryDirectory(dir=self._data_dir) as tmp:
            copy = Path(tmp) / "data.mdb"
            with self.lock:
                self.store.copy_to(copy)
                header = snapshot.SnapshotHeader(
                    last_entry=tuple(last_entry), previous_entry=tuple(previous_entry),
                    cluster=tuple(sorted(n.address for n in cluster)),
                    applied_index=self.state.applied_index, state_hash=hash_bytes(self.state.state_hash),
                )
            snapshot.write_snapshot(Path(path), header, copy)
        log.info("snapshot written at applied index %d", header.applied_index)

    def restore(self, path: str):
        header, offset = snapshot.read_header(Path(path))
        with self.lock:
            if header.applied_index > self.state.applied_index:
                # Catching up from a peer's snapshot: it replaces the live store.
                lmdb_file = snapshot.extract_lmdb(Path(path), offset, self._data_dir)
                try:
                    self.state = self.store.install(lmdb_file)  # verified against its hash
                finally:
                    lmdb_file.unlink(missing_ok=True)
                if hash_bytes(self.state.state_hash) != header.state_hash:
                    stop_loudly("installed snapshot does not match its own state hash")
                log_event("snapshot_installed", f"installed snapshot at applied index {self.state.applied_index}",
                          snapshot_index=self.state.applied_index)
                if self.hooks is not None:
                    self.hooks.after_restore(self.state)  # the snapshot brought the signer set too
            # else: a restart; the live store is at least as new as the dump and stays.
        other = tuple(a for a in header.cluster if a != self._raft_address)
        return header.last_entry, header.previous_entry, other
