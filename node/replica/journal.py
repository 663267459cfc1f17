"""pysyncobj's file journal, made durable.

pysyncobj 0.3.17 never syncs its journal (upstream issue #84): `FileJournal.add` writes into an
mmap and `MetaStorer.storeMeta` renames a file it never fsyncs, so a power cut can lose entries a
node already acknowledged. This module subclasses both to track what is unsynced and to sync it
on demand; `raft.LedgerRaft` decides WHEN (see the durability contract there). Pinned to 0.3.17:
the subclass reaches into FileJournal's private attributes.

pysyncobj's records carry no checksum either: a node started on a damaged journal either stalled
(pysyncobj failed to unpickle the entry on every tick) or kept a wrong entry it could ship to a
follower as leader (found by the chaos harness's corrupt fault). So each record's command ends in
a trailer, a tag and the CRC-32 of (index, term, command), written on append and verified for
every record when the journal is opened; any mismatch, or a record layout that does not parse,
is JournalCorruptError and the node refuses to start (restore it from its peers).

pysyncobj's FileJournal also keeps every command of its log in a Python list, beside the mmapped
file that holds the same bytes: up to `log_compaction_bytes_min` (64 MiB) of entries grew and
shrank the node's memory between two compactions, the largest swing in `make soak`. This journal
keeps only each record's (file offset, index, term) in memory and reads a command back from the
mmap when pysyncobj asks for it (`entries_from`, which LedgerRaft's `_SyncObj__getEntries` uses,
reads only the commands it returns; `last_index_term` reads none).
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from pysyncobj.journal import FIRST_RECORD_OFFSET, FileJournal, MetaStorer
from pysyncobj.pickle import dumps, loads
from pysyncobj.version import VERSION as PYSYNCOBJ_VERSION

from node.config import fsync_directory

# This module (and raft.py) reach into pysyncobj's private names; another version may move them.
assert PYSYNCOBJ_VERSION == "0.3.17", PYSYNCOBJ_VERSION

TRAILER_TAG = b"SCK1"  # settlement checksum, version 1
_TRAILER = struct.Struct("<4sI")  # tag, CRC-32 of index, term and command
_INDEX_TERM = struct.Struct("<QQ")
_RECORD_SIZE = struct.Struct("<I")  # pysyncobj's size prefix (and suffix) of a record
_RECORD_HEAD_BYTES = _RECORD_SIZE.size + _INDEX_TERM.size


# What an operator does with a node whose own state cannot be trusted. One node at a time: an
# emptied node holds none of the log until it has caught up, so emptying a second one before then
# can leave a majority without acknowledged entries (the chaos harness lost writes exactly so).
RESTORE_FROM_PEERS = (
    "Restore this node from its peers, one node at a time: stop it, empty it with "
    "`settle node reset --data-dir DIR` (it moves the state aside and keeps the node's Raft term and vote), "
    "start it, and touch no other node until `settle status` shows it caught up (or replace it: "
    "settle cluster remove-node, then add-node); or restore it from a backup (settle node reset, then settle restore)."
)


class JournalCorruptError(Exception):
    """The Raft journal on disk is damaged: a record fails its checksum or does not parse."""


def seal(command: bytes, idx: int, term: int) -> bytes:
    """`command` with its trailer, as written to the journal."""
    return command + _TRAILER.pack(TRAILER_TAG, zlib.crc32(_INDEX_TERM.pack(idx, term) + command))


def unseal(record: bytes, idx: int, term: int) -> bytes:
    """The command of a journal record, its trailer checked; JournalCorruptError if it fails."""
    if len(record) < _TRAILER.size:
        raise JournalCorruptError(f"record {idx} is shorter than its checksum trailer")
    command, trailer = record[:-_TRAILER.size], record[-_TRAILER.size:]
    tag, crc = _TRAILER.unpack(trailer)
    if tag != TRAILER_TAG:
        raise JournalCorruptError(f"record {idx} has no checksum trailer (damaged, or written by a version without checksums)")
    if zlib.crc32(_INDEX_TERM.pack(idx, term) + command) != crc:
        raise JournalCorruptError(f"record {idx} (term {term}) fails its checksum")
    return command


class TermAndVoteUnreadable(Exception):
    """The file holding a node's Raft term and vote exists but does not parse as one."""


@dataclass(frozen=True, slots=True)
class TermAndVote:
    """What Raft requires a node never to forget (Figure 2): its current term and the node it
    voted for in that term (a Raft address, pysyncobj's node id; None: no vote yet)."""

    term: int
    voted_for: str | None


def read_term_and_vote(meta_file: Path) -> TermAndVote | None:
    """The term and vote in pysyncobj's meta file; None when there is none (a node that never
    ran); TermAndVoteUnreadable when it does not parse (pysyncobj itself would start at term 0)."""
    try:
        meta = loads(meta_file.read_bytes())  # the node's own file, written by DurableMetaStorer
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - whatever unpickling a damaged file raises
        raise TermAndVoteUnreadable(f"{meta_file}: {error!r}") from None
    term, voted_for = (meta.get("currentTerm", 0), meta.get("votedForNodeId")) if isinstance(meta, dict) else (None, None)
    if type(term) is not int or term < 0 or not (voted_for is None or isinstance(voted_for, str)):
        raise TermAndVoteUnreadable(f"{meta_file}: not a Raft term and vote: {meta!r}"[:300])
    return TermAndVote(term, voted_for)


def write_term_and_vote(meta_file: Path, carried: TermAndVote) -> None:
    """Writes a meta file holding `carried` alone (no commit index: the log it counted is gone),
    durably, as pysyncobj would have written it."""
    DurableMetaStorer(str(meta_file)).storeMeta({"currentTerm": carried.term, "votedForNodeId": carried.voted_for})


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
    """In memory: (offset of the record in the file, index, term) per entry, never the command."""

    def __init__(self, journal_file: str) -> None:
        try:
            super().__init__(journal_file)
        except (struct.error, ValueError, IndexError, OverflowError, MemoryError) as error:
            raise JournalCorruptError(f"{journal_file}: the record layout does not parse: {error!r}") from None
        records = self._FileJournal__journal
        offset = FIRST_RECORD_OFFSET
        for position, (record, idx, term) in enumerate(records):
            if position and idx != records[position - 1][1] + 1:
                raise JournalCorruptError(f"{journal_file}: record {position} has index {idx} after {records[position - 1][1]}")
            unseal(bytes(record), idx, term)
            records[position] = (offset, idx, term)
            offset += _RECORD_HEAD_BYTES + len(record) + _RECORD_SIZE.size
        assert offset == self._FileJournal__currentOffset, (offset, self._FileJournal__currentOffset)
        self._FileJournal__metaStorer = DurableMetaStorer(journal_file + ".meta")
        self.path = journal_file
        self.unsynced = False
        self.syncs = 0
        self.sync_seconds = 0.0
        fsync_directory(Path(journal_file).parent)  # the journal file's own directory entry

    # -- what pysyncobj reads: (command, index, term), the command read back from the file ----

    def __getitem__(self, position):
        records = self._FileJournal__journal
        if isinstance(position, slice):
            return [self._entry(record) for record in records[position]]
        return self._entry(records[position])

    def entries_from(self, from_index: int | None, count: int | None = None,
                     size_bytes_max: int | None = None) -> list[tuple[bytes, int, int]]:
        """pysyncobj's `__getEntries`, with its result: the entries from index `from_index` on
        (none if it is below the first one held), at most `count`, and with `size_bytes_max` only
        up to and including the one whose command takes the sum of their sizes to it. Only the
        commands returned are read."""
        records = self._FileJournal__journal
        if from_index is None or not records or from_index < records[0][1]:
            return []
        start = from_index - records[0][1]
        stop = len(records) if count is None else min(len(records), start + count)
        entries: list[tuple[bytes, int, int]] = []
        total = 0
        for position in range(start, stop):
            entry = self._entry(records[position])
            entries.append(entry)
            total += len(entry[0])
            if size_bytes_max is not None and total >= size_bytes_max:
                break
        return entries

    def last_index_term(self) -> tuple[int, int]:
        """(index, term) of the last entry, without reading its command."""
        _offset, idx, term = self._FileJournal__journal[-1]
        return idx, term

    def _entry(self, record: tuple[int, int, int]) -> tuple[bytes, int, int]:
        offset, idx, term = record
        file = self._FileJournal__journalFile
        size = _RECORD_SIZE.unpack(file.read(offset, _RECORD_SIZE.size))[0]
        command_bytes = size - _INDEX_TERM.size - _TRAILER.size
        return file.read(offset + _RECORD_HEAD_BYTES, command_bytes), idx, term

    # -- what pysyncobj writes ----------------------------------------------------------------

    def add(self, command, idx, term):
        offset = self._FileJournal__currentOffset
        super().add(seal(command, idx, term), idx, term)
        self._FileJournal__journal[-1] = (offset, idx, term)  # in memory: where it is, not what
        self.unsynced = True

    def clear(self):
        super().clear()
        self.unsynced = True

    def deleteEntriesFrom(self, entryFrom):
        super().deleteEntriesFrom(entryFrom)
        self.unsynced = True

    def deleteEntriesTo(self, entryTo):
        """Compaction: the entries after `entryTo` are written again from the file's start, so
        their commands are read before anything is overwritten (pysyncobj's own version re-adds
        the tuples it keeps in memory)."""
        kept = self[entryTo:]
        self.clear()
        for command, idx, term in kept:
            self.add(command, idx, term)

    def sync(self) -> None:
        """msync the journal's mmap (one call covers every entry appended since the last one)."""
        if not self.unsynced:
            return
        self.unsynced = False
        started = time.perf_counter()
        self.flush()
        self.syncs += 1
        self.sync_seconds += time.perf_counter() - started


def read_journal_records(journal_file: Path) -> list[tuple[bytes, int, int]]:
    """(command, index, term) of every record of a journal file, checksums verified and trailers
    stripped (JournalCorruptError otherwise), read with pysyncobj's own reader on a copy (the
    reader maps its file writable: never the node's own)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "journal"
        shutil.copyfile(journal_file, copy)
        journal = FileJournal(str(copy))
        try:
            records = [journal[i] for i in range(len(journal))]
        finally:
            journal._destroy()
    return [(unseal(bytes(command), index, term), index, term) for command, index, term in records]


def read_journal_end(journal_file: Path) -> int:
    """The last Raft index in a journal file (0 for an empty one), read on a copy."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "journal"
        shutil.copyfile(journal_file, copy)
        journal = FileJournal(str(copy))
        try:
            return journal[len(journal) - 1][1] if len(journal) else 0
        finally:
            journal._destroy()
