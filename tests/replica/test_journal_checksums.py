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


def test_the_journal_holds_where_each_command_is_not_the_command(tmp_path):
    path = tmp_path / "raft.journal"
    journal = DurableFileJournal(str(path))
    entries = [(bytes([i]) * 1000, i, 1) for i in range(1, 6)]
    for entry in entries:
        journal.add(*entry)
    in_memory = journal._FileJournal__journal
    assert all(not isinstance(part, bytes) for record in in_memory for part in record)
    assert [journal[i] for i in range(len(journal))] == entries
    assert journal[1:3] == entries[1:3]
    assert journal.last_index_term() == (5, 1)
    journal.deleteEntriesTo(2)  # compaction rewrites the kept records from the file's start
    assert [journal[i] for i in range(len(journal))] == entries[2:]
    journal._destroy()


def pysyncobj_get_entries(log: list, from_index, count=None, size_bytes_max=None) -> list:
    """pysyncobj 0.3.17's SyncObj.__getEntries over a list of (command, index, term)."""
    first = log[0][1]
    if from_index is None or from_index < first:
        return []
    diff = from_index - first
    result = log[diff:] if count is None else log[diff:diff + count]
    if size_bytes_max is None:
        return result
    total, i = 0, 0
    for i, entry in enumerate(result):
        total += len(entry[0])
        if total >= size_bytes_max:
            break
    return result[:i + 1]


@pytest.mark.parametrize("from_index", [None, 0, 2, 3, 5, 9, 10, 11, 20])
@pytest.mark.parametrize("count", [None, 1, 2, 4])
@pytest.mark.parametrize("size_bytes_max", [None, 1, 150, 250, 10_000])
def test_entries_are_read_from_the_file_as_pysyncobj_would_slice_its_list(tmp_path, from_index, count, size_bytes_max):
    path = tmp_path / "raft.journal"
    journal = DurableFileJournal(str(path))
    entries = [(bytes([i]) * (50 + 10 * i), i, 1 + i // 4) for i in range(2, 11)]  # first index 2
    for entry in entries:
        journal.add(*entry)
    assert journal.entries_from(from_index, count, size_bytes_max) == \
        pysyncobj_get_entries(entries, from_index, count, size_bytes_max)
    journal._destroy()
