"""The stopped nodes' files as the checker reads them: each node's committed state (its LMDB),
its Raft journal, and the checkpoint dumps it kept.

Nothing here decides anything: replay.py chooses where an independent replay can start, from
what these functions read. A node's journal does not hold the whole log: pysyncobj compacts it
into the node's full dump (every `log_compaction_entries_min` entries or
`log_compaction_period_s`, as in production), after which the journal starts at the index of
that compaction, or at the snapshot a restored node installed.
"""

from __future__ import annotations

import codecs
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

from node.checkpoint.files import dump_name_parts
from node.ledger import LedgerState
from node.ledger.checkpoints import certified
from node.ledger.invariants import LedgerInvariantError, check_full
from node.ledger.results import ResultCode
from node.ledger.state_hash import hash_bytes
from node.replica.journal import read_journal_records
from node.store import LedgerStore

from cluster.chaos.history import NodeView

store_dir_name = "ledger"
journal_file_name = "raft.journal"
checkpoints_dir_name = "checkpoints"
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
        certificate=certified(state),
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
    """(index, LogEntry bytes or None for a no-op/membership entry) of every journal entry, each
    record's checksum verified (JournalCorruptError: this journal is not used)."""
    log = []
    for command, index, _ in read_journal_records(journal_file):
        data = None
        if command[:1] == bytes([_REGULAR]):
            call = _DataOnly(io.BytesIO(command[1:])).load()
            if isinstance(call, tuple) and len(call) >= 2 and call[1] and isinstance(call[1][0], bytes):
                data = call[1][0]
        log.append((index, data))
    return log


@dataclass(frozen=True, slots=True)
class NodeLog:
    """The entries one node's journal holds, in order: (index, LogEntry bytes or None)."""

    node: str
    entries: list[tuple[int, bytes | None]]

    def span(self) -> str:
        return f"{self.entries[0][0]}..{self.entries[-1][0]}" if self.entries else "nothing"

    def holds(self, first: int, last: int) -> bool:
        """Whether every index from `first` to `last` is here, in one unbroken run."""
        if first > last:
            return True
        indexes = [index for index, _ in self.entries]
        if not indexes or indexes[0] > first or indexes[-1] < last:
            return False
        start = indexes.index(first)
        return indexes[start:start + last - first + 1] == list(range(first, last + 1))


def read_logs(node_dirs: list[Path]) -> tuple[list[NodeLog], list[str]]:
    """Every node's journal that can be read, and why the others cannot."""
    logs, problems = [], []
    for node_dir in node_dirs:
        journal = Path(node_dir) / journal_file_name
        if not journal.exists():
            problems.append(f"{Path(node_dir).name}: no journal")
            continue
        try:
            logs.append(NodeLog(Path(node_dir).name, read_log(journal)))
        except Exception as error:  # noqa: BLE001 - a damaged journal is not used, and said so
            problems.append(f"{Path(node_dir).name}: journal unreadable ({error})")
    return logs, problems


def checkpoint_dumps(node_dirs: list[Path]) -> dict[int, list[Path]]:
    """index -> every dump file of that index the nodes kept, certified or still pending (the
    name proves nothing: replay.py checks each against its certificate)."""
    found: dict[int, list[Path]] = {}
    for node_dir in node_dirs:
        directory = Path(node_dir) / checkpoints_dir_name
        if not directory.is_dir():
            continue
        for item in sorted(directory.iterdir()):
            parts = dump_name_parts(item.name)
            if parts is not None:
                found.setdefault(parts[0], []).append(item)
    return found


# What the harness counts in the node logs, by a piece of the line's message.
LOG_MARKERS = {
    "compactions": "snapshot written at applied index",  # pysyncobj compacted its journal into a dump
    "snapshot_installs": "installed snapshot at applied index",  # a lagging or emptied node caught up so
    # pysyncobj deleted log entries this node had already applied (a follower's suffix truncation)
    "applied_entries_truncated": "truncating already-applied log entries",
}


def count_log_lines(log_files: list[Path]) -> dict[str, int]:
    """How many lines of the node logs carry each of LOG_MARKERS."""
    counts = dict.fromkeys(LOG_MARKERS, 0)
    for path in log_files:
        if not Path(path).exists():
            continue
        with open(path, errors="replace") as f:
            for line in f:
                for name, marker in LOG_MARKERS.items():
                    if marker in line:
                        counts[name] += 1
    return counts
