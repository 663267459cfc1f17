"""The dumps a node keeps in DATA/checkpoints/, and how few.

`dump-<index>.pending` is written by the store check at a due checkpoint; when that index is
certified with the hash the dump holds it becomes `dump-<index>.certified`, the file
GetCheckpointDump serves. Only the newest `certified_dumps_kept` certified and
`pending_dumps_kept` pending dumps stay; a pending dump at or below a certified index is deleted
(votes at or below the certified index are refused, so it can never be certified).
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from .dump import DumpWriter
from .limits import certified_dumps_kept, pending_dumps_kept

log = logging.getLogger("settle.checkpoint")

PENDING = "pending"
CERTIFIED = "certified"
_NAME = re.compile(r"^dump-(\d{20})\.(pending|certified)$")


def dump_name_parts(name: str) -> tuple[int, str] | None:
    """(index, PENDING or CERTIFIED) of a dump's file name; None for any other file (a
    `.partial` a crash left, anything else)."""
    match = _NAME.match(name)
    return (int(match.group(1)), match.group(2)) if match else None


class CheckpointFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        for leftover in self.directory.glob("*.partial"):
            leftover.unlink(missing_ok=True)  # a dump a crash interrupted: never complete

    def path(self, index: int, kind: str) -> Path:
        return self.directory / f"dump-{index:020d}.{kind}"

    def writer(self, index: int) -> DumpWriter:
        return DumpWriter(self.path(index, PENDING), index)

    def dumps(self, kind: str) -> list[int]:
        """Indexes of the dumps of one kind, ascending."""
        found = []
        for item in self.directory.iterdir():
            parts = dump_name_parts(item.name)
            if parts is not None and parts[1] == kind:
                found.append(parts[0])
        return sorted(found)

    def certify(self, index: int) -> bool:
        """Marks the pending dump of `index` certified (the caller checked its hash); False when
        this node kept no dump of it."""
        with self._lock:
            pending = self.path(index, PENDING)
            if not pending.exists():
                return False
            pending.replace(self.path(index, CERTIFIED))
            self._prune_locked(index)
            return True

    def prune(self, certified_index: int = 0) -> None:
        with self._lock:
            self._prune_locked(certified_index)

    def _prune_locked(self, certified_index: int) -> None:
        certified = self.dumps(CERTIFIED)
        certified_index = max([certified_index, *certified])
        doomed = [self.path(i, CERTIFIED) for i in certified[:-certified_dumps_kept]]
        pending = self.dumps(PENDING)
        doomed += [self.path(i, PENDING) for i in pending if i <= certified_index]
        above = [i for i in pending if i > certified_index]
        doomed += [self.path(i, PENDING) for i in above[:-pending_dumps_kept]]
        for path in doomed:
            path.unlink(missing_ok=True)

    def certified_dump(self, index: int = 0) -> tuple[int, Path] | None:
        """(index, file) of the certified dump of `index` (0: the newest), if this node kept it."""
        with self._lock:
            certified = self.dumps(CERTIFIED)
            if not certified:
                return None
            wanted = index or certified[-1]
            return (wanted, self.path(wanted, CERTIFIED)) if wanted in certified else None
