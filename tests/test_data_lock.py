"""One process per data directory (node/data_lock.py): the lock names its holder, ends with it,
survives the holder's own re-exec, and a probe takes nothing."""

from __future__ import annotations

import os

import pytest

from node.data_lock import LOCK_FILE_NAME, DataDirLocked, check_data_dir_free, holder_pid, lock_data_dir
from tests.lock_holder import lock_holder

KEEPS_IT_WITHOUT_RELOCKING = "import sys; print('locked', flush=True); sys.stdin.read()"
RELOCKS_AFTER_EXEC = ("import sys; from pathlib import Path; from node.data_lock import lock_data_dir; "
                      "lock_data_dir(Path(sys.argv[1])); print('adopted', flush=True); sys.stdin.read()")


def test_a_data_dir_another_process_holds_is_refused_naming_its_pid(tmp_path):
    with lock_holder(tmp_path) as holder:
        with pytest.raises(DataDirLocked, match=f"in use by pid {holder.pid}") as refused:
            lock_data_dir(tmp_path)
    assert refused.value.holder_pid == holder.pid


def test_the_lock_file_holds_the_holders_pid(tmp_path):
    with lock_data_dir(tmp_path):
        assert (tmp_path / LOCK_FILE_NAME).read_text() == f"{os.getpid()}\n"
        assert holder_pid(tmp_path) == os.getpid()


def test_the_lock_ends_with_the_process_that_held_it(tmp_path):
    with lock_holder(tmp_path) as holder:
        holder.kill()  # no clean-up of any kind: the kernel drops the lock with the process
        holder.wait(timeout=30)
        with lock_data_dir(tmp_path):
            assert holder_pid(tmp_path) == os.getpid()


def test_a_missing_data_dir_is_created_by_the_lock(tmp_path):
    with lock_data_dir(tmp_path / "new" / "node1"):
        assert (tmp_path / "new" / "node1" / LOCK_FILE_NAME).exists()


def test_the_lock_survives_its_holders_exec(tmp_path):
    with lock_holder(tmp_path, after_exec=KEEPS_IT_WITHOUT_RELOCKING) as holder:
        with pytest.raises(DataDirLocked, match=f"in use by pid {holder.pid}"):
            lock_data_dir(tmp_path)


def test_a_re_executed_holder_adopts_the_lock_it_kept(tmp_path):
    with lock_holder(tmp_path, after_exec=RELOCKS_AFTER_EXEC) as holder:
        assert holder.said == "adopted"
        with pytest.raises(DataDirLocked, match=f"in use by pid {holder.pid}"):
            lock_data_dir(tmp_path)


def test_a_probe_of_a_held_data_dir_names_the_holder(tmp_path):
    with lock_holder(tmp_path) as holder:
        with pytest.raises(DataDirLocked, match=f"in use by pid {holder.pid}"):
            check_data_dir_free(tmp_path)


def test_a_probe_of_a_free_data_dir_takes_nothing_and_writes_no_pid(tmp_path):
    (tmp_path / LOCK_FILE_NAME).write_text("12345\n")
    check_data_dir_free(tmp_path)
    assert (tmp_path / LOCK_FILE_NAME).read_text() == "12345\n"
    with lock_data_dir(tmp_path):  # nothing held: this process takes it at once
        pass


def test_a_probe_of_a_missing_data_dir_creates_nothing(tmp_path):
    check_data_dir_free(tmp_path / "absent")
    assert not (tmp_path / "absent").exists()
