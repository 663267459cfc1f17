"""The power-cut filesystem loses exactly the writes that were not synced.

Needs root, /dev/fuse and libfuse 3 (`make fuse` installs the Debian package); elsewhere the tests
say why they skip, and a chaos run drops its powercut fault just as loudly."""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import pytest

from cluster.chaos.powercut_fs import PowercutMount, fuse_available, is_mounted

why_not = fuse_available()
pytestmark = pytest.mark.skipif(bool(why_not), reason=f"the power-cut filesystem needs FUSE: {why_not}")


@pytest.fixture
def mount(tmp_path: Path):
    mount = PowercutMount(tmp_path / "backing", tmp_path / "mnt", tmp_path / "fs.log")
    mount.mount()
    try:
        yield mount
    finally:
        mount.unmount()  # even when a test fails: no dead mount is left behind
        assert not is_mounted(tmp_path / "mnt")


def _write(path: Path, data: bytes, sync: bool) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())


def test_a_synced_write_survives_a_power_cut(mount):
    _write(mount.mountpoint / "kept", b"A" * 10_000, sync=True)
    mount.power_cut()
    assert (mount.mountpoint / "kept").read_bytes() == b"A" * 10_000


def test_an_unsynced_write_is_lost_in_a_power_cut(mount):
    _write(mount.mountpoint / "lost", b"B" * 10_000, sync=False)
    assert (mount.mountpoint / "lost").read_bytes() == b"B" * 10_000  # readable before the cut
    mount.power_cut()
    assert (mount.mountpoint / "lost").read_bytes() == b""  # the file was created, its data never synced


def test_an_append_after_the_last_sync_is_lost_and_what_was_synced_stays(mount):
    path = mount.mountpoint / "log"
    _write(path, b"synced;", sync=True)
    with open(path, "ab") as f:
        f.write(b"not synced")
    mount.power_cut()
    assert path.read_bytes() == b"synced;"


def test_an_msynced_mmap_page_survives_and_a_dirty_one_does_not(mount):
    path = mount.mountpoint / "mapped"
    _write(path, bytes(8192), sync=True)
    fd = os.open(path, os.O_RDWR)
    try:
        mapped = mmap.mmap(fd, 8192)
        mapped[0:5] = b"first"
        mapped.flush()  # msync arrives as fsync
        mapped[4096:4102] = b"second"
        mapped.close()
    finally:
        os.close(fd)
    mount.power_cut()
    data = path.read_bytes()
    assert data[0:5] == b"first"
    assert data[4096:4102] == bytes(6)


def test_a_writer_that_exited_without_syncing_loses_its_data_in_the_cut(mount):
    """Its process ending (as kill -9 would) keeps the data readable; only the power cut drops it."""
    import subprocess
    import sys

    path = mount.mountpoint / "by-child"
    subprocess.run([sys.executable, "-c", f"open({str(path)!r}, 'wb').write(b'C' * 5000)"], check=True)
    assert path.read_bytes() == b"C" * 5000
    mount.power_cut()
    assert path.read_bytes() == b""
