"""The Raft journal checks itself: every record carries a CRC-32 trailer, verified when the journal
is opened, so a node started on a damaged journal refuses instead of running on it (the chaos
harness's corrupt fault found nodes that stalled, or could ship a wrong entry as leader)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pysyncobj.journal import FileJournal

from node.replica.journal import DurableFileJournal, JournalCorruptError

FIRST_RECORD_OFFSET = 48  # pysyncobj 0.3.17's journal header


def written(path: Path, count: int = 5) -> list[tuple[bytes, int, int]]:
    journal = DurableFileJournal(str(path))
    entries = [(f"entry {i}".encode() * 3, i, 1 + i // 3) for i in range(1, count + 1)]
    for entry in entries:
        journal.add(*entry)
    journal.sync()
    journal._destroy()
    return entries


def reopened(path: Path) -> list[tuple[bytes, int, int]]:
    journal = DurableFileJournal(str(path))
    try:
        return [journal[i] for i in range(len(journal))]
    finally:
        journal._destroy()


def test_a_journal_reopens_with_the_commands_it_was_given(tmp_path):
    path = tmp_path / "raft.journal"
    assert reopened(path) == []  # a new journal opens empty
    entries = written(path)
    assert reopened(path) == entries


def test_compaction_and_truncation_keep_every_record_checked(tmp_path):
    path = tmp_path / "raft.journal"
    entries = written(path, 8)
    journal = DurableFileJournal(str(path))
    journal.deleteEntriesTo(3)  # compaction keeps a suffix, rewritten
    journal.deleteEntriesFrom(4)  # a follower drops a conflicting tail
    journal.sync()
    journal._destroy()
    assert reopened(path) == entries[3:7]


def test_a_flipped_byte_in_a_record_refuses_the_journal(tmp_path):
    path = tmp_path / "raft.journal"
    written(path)
    data = bytearray(path.read_bytes())
    data[FIRST_RECORD_OFFSET + 4 + 16 + 2] ^= 0x01  # inside the first record's command
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError, match="fails its checksum"):
        reopened(path)


def test_a_damaged_record_length_refuses_the_journal(tmp_path):
    path = tmp_path / "raft.journal"
    written(path)
    data = bytearray(path.read_bytes())
    data[FIRST_RECORD_OFFSET] ^= 0x10  # the first record's length
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError):
        reopened(path)


def test_a_journal_written_without_checksums_is_refused(tmp_path):
    path = tmp_path / "raft.journal"
    plain = FileJournal(str(path))
    plain.add(b"an entry without a trailer", 1, 1)
    plain.flush()
    plain._destroy()
    with pytest.raises(JournalCorruptError, match="no checksum trailer"):
        reopened(path)
