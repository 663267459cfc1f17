"""The dump file: exactly the stored records, hashed as the ledger hashes them, refused when
damaged; and the few dumps a node keeps."""

from __future__ import annotations

import pytest

from node.checkpoint.dump import DumpError, DumpWriter, records, summarize
from node.checkpoint.files import CERTIFIED, PENDING, CheckpointFiles
from node.checkpoint.limits import certified_dumps_kept, pending_dumps_kept
from node.ledger.state_hash import hash_bytes
from tests.ledger.driver import listed_market_with_traders


def dump_of(state, path, index=7):
    writer = DumpWriter(path, index)
    for table, key, value in sorted(state.records()):
        writer.add(table, key.encode(), value)
    return writer.finish()


def test_a_dump_of_a_state_hashes_to_the_state_hash(tmp_path):
    state = listed_market_with_traders().state
    path = tmp_path / "dump"
    assert dump_of(state, path) == hash_bytes(state.state_hash)
    summary = summarize(path)
    assert (summary.index, summary.state_hash, summary.claimed_hash) == (7, hash_bytes(state.state_hash), hash_bytes(state.state_hash))
    assert summary.records == len(list(state.records()))
    assert sorted((t, k.decode(), v) for t, k, v in records(path)) == sorted(state.records())


def test_a_changed_byte_changes_the_hash(tmp_path):
    state = listed_market_with_traders().state
    path = tmp_path / "dump"
    dump_of(state, path)
    data = bytearray(path.read_bytes())
    data[-60] ^= 0x01  # inside the last record's value
    path.write_bytes(bytes(data))
    assert summarize(path).state_hash != hash_bytes(state.state_hash)


@pytest.mark.parametrize("damage", ["truncated", "trailing", "magic", "unfinished"])
def test_a_damaged_dump_is_refused(tmp_path, damage):
    state = listed_market_with_traders().state
    path = tmp_path / "dump"
    dump_of(state, path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[:-10])
    elif damage == "trailing":
        path.write_bytes(data + b"R")
    elif damage == "magic":
        path.write_bytes(b"X" + data[1:])
    else:
        writer = DumpWriter(tmp_path / "other", 3)
        writer.add(b"account", b"alice", b"\x01")
        writer.abandon()
        assert not (tmp_path / "other").exists() and not list(tmp_path.glob("*.partial"))
        return
    with pytest.raises(DumpError):
        summarize(path)


def _write(files: CheckpointFiles, index: int) -> None:
    writer = files.writer(index)
    writer.add(b"meta", b"k", b"v")
    writer.finish()


def test_only_a_few_dumps_are_kept(tmp_path):
    files = CheckpointFiles(tmp_path / "checkpoints")
    for index in range(10, 10 + 10 * (pending_dumps_kept + 3), 10):
        _write(files, index)
        files.prune()
    assert len(files.dumps(PENDING)) == pending_dumps_kept
    newest = files.dumps(PENDING)[-1]
    assert files.certify(newest)
    assert files.dumps(PENDING) == []  # at or below the certified index: never certified now
    for index in range(newest + 10, newest + 10 * (certified_dumps_kept + 3), 10):
        _write(files, index)
        files.certify(index)
    assert len(files.dumps(CERTIFIED)) == certified_dumps_kept
    assert files.certified_dump()[0] == files.dumps(CERTIFIED)[-1]
    assert files.certified_dump(newest) is None  # pruned
    assert not files.certify(10**6)  # no dump of it


def test_an_unfinished_dump_is_removed_at_start(tmp_path):
    directory = tmp_path / "checkpoints"
    directory.mkdir()
    (directory / "dump-00000000000000000005.pending.partial").write_bytes(b"half")
    CheckpointFiles(directory)
    assert list(directory.iterdir()) == []
