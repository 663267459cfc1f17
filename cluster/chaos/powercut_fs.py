"""A FUSE filesystem that loses, on a power cut, every write that was not synced (LazyFS style).

kill -9 keeps the page cache, so it cannot catch a missing fsync
(docs/design.md#testing-durability). Nodes of a chaos run keep their data directories on this
filesystem instead: a passthrough to a backing directory in which written bytes stay in this process's memory (a per
file overlay of 4 KiB blocks) until an fsync/fdatasync (msync arrives as fsync) writes them to the
backing file and syncs it. A power cut is then: SIGKILL the nodes, SIGKILL this daemon (its
memory, the unsynced writes, is gone), lazily unmount, mount again over the same backing
directory. Metadata operations (create, rename, unlink, mkdir, truncate) go to the backing
directory at once, as a journaling filesystem would make them durable in order; only data waits
for a sync. Writes through a descriptor opened O_SYNC/O_DSYNC are synced as they are made.

Mounted with attr_timeout=0 and entry_timeout=0 so the kernel asks for sizes every time (the
overlay changes them). Run as `python -m cluster.chaos.powercut_fs BACKING MOUNTPOINT` (root,
libfuse 3 from the Debian package fuse3, mfusepy from PyPI); `PowercutMount` drives it.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

block_bytes = 4096
mount_timeout_s = 10.0
unmount_timeout_s = 10.0
_SYNC_FLAGS = os.O_SYNC | os.O_DSYNC


@dataclass
class _Unsynced:
    size: int  # the file's logical size, overlay included
    blocks: dict[int, bytearray] = field(default_factory=dict)  # block number -> its bytes


def fuse_available() -> str:
    """'' when a FUSE mount can work here, else why not (shown when the powercut fault is skipped)."""
    if not Path("/dev/fuse").exists():
        return "/dev/fuse is missing"
    if os.geteuid() != 0:
        return "mounting FUSE needs root"
    try:
        import mfusepy  # noqa: F401
    except (ImportError, OSError, EnvironmentError) as error:  # libfuse missing raises at import
        return f"mfusepy/libfuse cannot be loaded ({error}); run `make fuse` (apt-get install fuse3)"
    return ""


def make_operations(backing: str):
    from mfusepy import FuseOSError, Operations

    class PowercutFs(Operations):
        """Passthrough with an overlay of unsynced data blocks (see the module docstring)."""

        def __init__(self, root: str) -> None:
            self.root = os.path.realpath(root)
            self._mutex = threading.RLock()
            self.unsynced: dict[str, _Unsynced] = {}
            self.sync_fds: set[int] = set()
            self.use_ns = False  # times as float seconds (mfusepy's default, said explicitly)

        def _full(self, path: str) -> str:
            return os.path.join(self.root, path.lstrip("/"))

        # -- metadata: straight to the backing directory ---------------------------------------

        def access(self, path, amode):
            if not os.access(self._full(path), amode):
                raise FuseOSError(errno.EACCES)
            return 0

        def getattr(self, path, fh=None):
            st = os.lstat(self._full(path))
            attrs = {key: getattr(st, key) for key in (
                "st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")}
            with self._mutex:
                pending = self.unsynced.get(path)
                if pending is not None:
                    attrs["st_size"] = pending.size
            return attrs

        def readdir(self, path, fh):
            return [".", ".."] + os.listdir(self._full(path))

        def readlink(self, path):
            return os.readlink(self._full(path))

        def mkdir(self, path, mode):
            os.mkdir(self._full(path), mode)
            return 0

        def rmdir(self, path):
            os.rmdir(self._full(path))
            return 0

        def chmod(self, path, mode):
            os.chmod(self._full(path), mode)
            return 0

        def chown(self, path, uid, gid):
            os.chown(self._full(path), uid, gid)
            return 0

        def utimens(self, path, times=None):
            os.utime(self._full(path), times)
            return 0

        def symlink(self, target, source):
            os.symlink(source, self._full(target))
            return 0

        def link(self, target, source):
            os.link(self._full(source), self._full(target))
            return 0

        def statfs(self, path):
            st = os.statvfs(self._full(path))
            return {key: getattr(st, key) for key in (
                "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag",
                "f_frsize", "f_namemax")}

        def unlink(self, path):
            with self._mutex:
                os.unlink(self._full(path))
                self.unsynced.pop(path, None)
            return 0

        def rename(self, old, new):
            with self._mutex:
                os.rename(self._full(old), self._full(new))
                self.unsynced.pop(new, None)
                if old in self.unsynced:
                    self.unsynced[new] = self.unsynced.pop(old)
                prefix = old.rstrip("/") + "/"  # a renamed directory takes its files' overlays along
                for key in [k for k in self.unsynced if k.startswith(prefix)]:
                    self.unsynced[new.rstrip("/") + "/" + key[len(prefix):]] = self.unsynced.pop(key)
            return 0

        def truncate(self, path, length, fh=None):
            with self._mutex:
                os.truncate(self._full(path), length)
                pending = self.unsynced.get(path)
                if pending is not None:
                    pending.size = length
                    for number in [n for n in pending.blocks if n * block_bytes >= length]:
                        del pending.blocks[number]
                    last = length // block_bytes
                    if last in pending.blocks:
                        block = pending.blocks[last]
                        cut = length - last * block_bytes
                        block[cut:] = bytes(block_bytes - cut)
            return 0

        # -- data: the overlay ---------------------------------------------------------------------

        def open(self, path, flags):
            # Read-modify-write of blocks needs read access; the kernel already turned O_APPEND
            # into offsets, and O_TRUNC is a metadata change made at once.
            access = os.O_RDWR if flags & (os.O_WRONLY | os.O_RDWR) else os.O_RDONLY
            extra = flags & ~(os.O_ACCMODE | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_TRUNC)
            fd = os.open(self._full(path), access | extra)
            if flags & os.O_TRUNC:
                with self._mutex:
                    os.ftruncate(fd, 0)
                    self.unsynced.pop(path, None)
            if flags & _SYNC_FLAGS:
                self.sync_fds.add(fd)
            return fd

        def create(self, path, mode, fi=None):
            fd = os.open(self._full(path), os.O_RDWR | os.O_CREAT | os.O_TRUNC, mode)
            with self._mutex:
                self.unsynced.pop(path, None)
            return fd

        def release(self, path, fh):
            self.sync_fds.discard(fh)
            os.close(fh)
            return 0

        def flush(self, path, fh):
            return 0  # close(2) promises nothing about durability

        def _block(self, fd: int, pending: _Unsynced, number: int) -> bytearray:
            block = pending.blocks.get(number)
            if block is None:
                block = bytearray(os.pread(fd, block_bytes, number * block_bytes).ljust(block_bytes, b"\0"))
                pending.blocks[number] = block
            return block

        def read(self, path, size, offset, fh):
            with self._mutex:
                pending = self.unsynced.get(path)
                if pending is None:
                    return os.pread(fh, size, offset)
                size = max(0, min(size, pending.size - offset))
                data = bytearray(os.pread(fh, size, offset).ljust(size, b"\0"))
                first, last = offset // block_bytes, (offset + size - 1) // block_bytes
                for number in range(first, last + 1) if size else ():
                    block = pending.blocks.get(number)
                    if block is None:
                        continue
                    start = max(offset, number * block_bytes)
                    end = min(offset + size, (number + 1) * block_bytes)
                    data[start - offset:end - offset] = block[start - number * block_bytes:end - number * block_bytes]
                return bytes(data)

        def write(self, path, data, offset, fh):
            with self._mutex:
                pending = self.unsynced.get(path)
                if pending is None:
                    pending = self.unsynced[path] = _Unsynced(os.fstat(fh).st_size)
                position = 0
                while position < len(data):
                    number = (offset + position) // block_bytes
                    within = (offset + position) - number * block_bytes
                    chunk = min(block_bytes - within, len(data) - position)
                    self._block(fh, pending, number)[within:within + chunk] = data[position:position + chunk]
                    position += chunk
                pending.size = max(pending.size, offset + len(data))
                if fh in self.sync_fds:
                    self._sync(path, fh)
            return len(data)

        def _sync(self, path: str, fd: int) -> None:
            with self._mutex:
                pending = self.unsynced.pop(path, None)
                if pending is None:
                    os.fsync(fd)
                    return
                # Its own descriptor: the caller's may be read-only (fsync of a file opened to read).
                out = os.open(self._full(path), os.O_WRONLY)
                try:
                    for number in sorted(pending.blocks):
                        start = number * block_bytes
                        if start >= pending.size:
                            continue
                        os.pwrite(out, bytes(pending.blocks[number][:pending.size - start]), start)
                    if os.fstat(out).st_size < pending.size:
                        os.ftruncate(out, pending.size)
                    os.fsync(out)
                finally:
                    os.close(out)

        def fsync(self, path, datasync, fh):
            self._sync(path, fh)
            return 0

        def fsyncdir(self, path, datasync, fh):
            fd = os.open(self._full(path), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return 0

    return PowercutFs(backing)


def serve(backing: str, mountpoint: str) -> None:
    from mfusepy import FUSE

    # Foreground, multithreaded; the kernel must not cache sizes or names (the overlay moves them).
    FUSE(make_operations(backing), mountpoint, foreground=True, nothreads=False, attr_timeout=0,
         entry_timeout=0, negative_timeout=0, fsname="powercutfs")


def is_mounted(mountpoint: Path) -> bool:
    target = str(Path(mountpoint).resolve())
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == target for line in mounts)


def lazy_unmount(mountpoint: Path) -> None:
    """Detach the mount even if its daemon is dead or a process still has files open in it."""
    for command in (["fusermount3", "-u", "-z", str(mountpoint)], ["umount", "-l", str(mountpoint)]):
        if not is_mounted(mountpoint):
            return
        if shutil.which(command[0]):
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=unmount_timeout_s, check=False)


class PowercutMount:
    """One mount of the filesystem: mount(), power_cut() (drops unsynced writes, mounts again),
    unmount(). Always unmount in a finally: a dead daemon leaves 'Transport endpoint is not
    connected' behind until the mount is detached."""

    def __init__(self, backing: Path, mountpoint: Path, log_file: Path | None = None) -> None:
        self.backing = Path(backing).resolve()
        self.mountpoint = Path(mountpoint).resolve()
        self.log_file = log_file
        self.process: subprocess.Popen | None = None
        self.cuts = 0

    def mount(self) -> None:
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cluster.chaos.powercut_fs", str(self.backing), str(self.mountpoint)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            if self.log_file:
                log.close()
        deadline = time.monotonic() + mount_timeout_s
        while not is_mounted(self.mountpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.unmount()
                raise RuntimeError(f"powercut filesystem did not mount on {self.mountpoint} (see {self.log_file})")
            time.sleep(0.05)

    def power_cut(self) -> None:
        """Every write not yet synced is lost. Kill the processes writing here FIRST."""
        self._kill_daemon()
        lazy_unmount(self.mountpoint)
        self.cuts += 1
        self.mount()

    def sync_all(self) -> None:
        """fsync every file under the mount (what `sync` does on a disk; FUSE has no syncfs)."""
        for directory, _, files in os.walk(self.mountpoint):
            for name in files:
                path = os.path.join(directory, name)
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def _kill_daemon(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def unmount(self) -> None:
        if self.process is not None and self.process.poll() is None:
            lazy_unmount(self.mountpoint)  # a clean unmount lets the daemon exit by itself
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
        self._kill_daemon()
        lazy_unmount(self.mountpoint)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
