"""The nodes' final state as the checker needs it: read from each stopped node's LMDB, and
recomputed by replaying the committed Raft log through the pure ledger.

The replay reads a node's pysyncobj journal. pysyncobj compacts its journal into a dump, after
which the early entries are gone; chaos runs turn compaction off (run.py) so a journal holds the
whole log, and when none does the replay is reported as skipped, never silently passed.
"""

from __future__ import annotations

import codecs
import io
import pickle
import shutil
import tempfile
from pathlib import Path

from node.codec import CodecError, decode_log_entry
from node.identity.keys import verify_ed25519
from node.ledger import LedgerState, apply
from node.ledger.commands import LogEntry
from node.ledger.invariants import LedgerInvariantError, check_full
from node.ledger.results import ResultCode
from node.ledger.state_hash import hash_bytes
from node.store import LedgerStore

from cluster.chaos.history import NodeView

store_dir_name = "ledger"
journal_file_name = "raft.journal"
_REGULAR = 0  # pysyncobj's _COMMAND_TYPE.REGULAR: a @replicated call


def _code_name(code: int) -> str:
    try:
        return ResultCode(code).name
    except ValueError:
        return str(code)


def view_of_state(node_id: str, state: LedgerState) -> NodeView:
    try:
        check_full(state)
        invariant_error = ""
    except LedgerInvariantError as error:
        invariant_error = str(error)
    return NodeView(
        node_id=node_id,
        applied_index=state.applied_index,
        state_hash=hash_bytes(state.state_hash).hex(),
        dedup={command_id: _code_name(record.code) for command_id, record in state.dedup.items()},
        collateral={account_id: account.collateral for account_id, account in state.accounts.items()},
        positions={account_id: {market: p.size for market, p in by.items() if p.size}
                   for account_id, by in state.positions.items() if any(p.size for p in by.values())},
        invariant_error=invariant_error,
    )


def read_view(node_id: str, node_dir: Path) -> NodeView:
    """A stopped node's committed state; a store that cannot be read gives a view with `error`."""
    try:
        with LedgerStore(Path(node_dir) / store_dir_name) as store:
            state = store.load()
    except Exception as error:  # noqa: BLE001 - the checker reports it as a violation
        return NodeView(node_id, -1, "", {}, {}, {}, error=f"{type(error).__name__}: {error}")
    return view_of_state(node_id, state)


class _DataOnly(pickle.Unpickler):
    """pysyncobj pickles (function id, args) tuples: plain data. Refuse anything that names a
    class or function, so reading a journal can never run code."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 spells bytes
            return codecs.encode
        raise pickle.UnpicklingError(f"journal entry names {module}.{name}")


def read_log(journal_file: Path) -> list[tuple[int, bytes | None]]:
    """(index, LogEntry bytes or None for a no-op/membership entry) of every journal entry."""
    from pysyncobj.journal import FileJournal

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "journal"
        shutil.copyfile(journal_file, copy)  # pysyncobj maps the file writable: never the node's own
        journal = FileJournal(str(copy))
        try:
            entries = [journal[i] for i in range(len(journal))]
        finally:
            journal._destroy()
    try:  # journals with a per-record checksum trailer (node/replica/journal.py): verify and strip it
        from node.replica.journal import unseal
    except ImportError:
        unseal = None
    log = []
    for command, index, term in entries:
        if unseal is not None:
            command = unseal(command, index, term)  # JournalCorruptError: this journal is not used
        data = None
        if command[:1] == bytes([_REGULAR]):
            call = _DataOnly(io.BytesIO(command[1:])).load()
            if isinstance(call, tuple) and len(call) >= 2 and call[1] and isinstance(call[1][0], bytes):
                data = call[1][0]
        log.append((index, data))
    return log


def replay_log(log: list[tuple[int, bytes | None]], upto: int) -> LedgerState:
    """The pure ledger applied to the log's entries up to index `upto`, as a replica applies them
    (node/replica/replica.py: an undecodable entry is applied as empty)."""
    state = LedgerState()
    for index, data in log:
        if index > upto:
            break
        if data is None:
            continue
        try:
            entry = decode_log_entry(data, index).entry
        except CodecError:
            entry = LogEntry(index, 0, ())
        apply(state, entry, verify_ed25519)
    return state


def replay_view(node_dirs: list[Path], upto: int) -> tuple[NodeView | None, str]:
    """The replayed view from the first node whose journal holds the whole log up to `upto`, or
    (None, why not)."""
    reasons = []
    for node_dir in node_dirs:
        journal = Path(node_dir) / journal_file_name
        if not journal.exists():
            reasons.append(f"{node_dir.name}: no journal")
            continue
        try:
            log = read_log(journal)
        except Exception as error:  # noqa: BLE001
            reasons.append(f"{node_dir.name}: journal unreadable ({error})")
            continue
        indexes = [index for index, _ in log]
        if not indexes or indexes[0] != 1 or indexes[-1] < upto:
            reasons.append(f"{node_dir.name}: journal holds {indexes[0] if indexes else 0}..{indexes[-1] if indexes else 0}")
            continue
        if indexes != list(range(1, len(indexes) + 1)):
            reasons.append(f"{node_dir.name}: journal has gaps")
            continue
        return view_of_state(f"replay({node_dir.name})", replay_log(log, upto)), ""
    return None, "no journal holds the whole log from index 1: " + "; ".join(reasons)
