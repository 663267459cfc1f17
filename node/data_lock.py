"""One process per data directory: an exclusive lock on DATA_DIR/node.lock.

LMDB lets any number of processes open one store, and a node's Raft journal is a plain file, so
nothing else stops a second node (a forgotten one, or a second launcher) from serving the same
state beside the first. The node takes this lock before it opens anything in its data directory
and never releases it: the kernel drops an flock when the last descriptor of it closes, so the
lock ends with the process however it ends (a crash and kill -9 included) and is never stale.
The file holds the holder's pid, for the message the next process prints; the pid is a hint, the
lock is the truth. `settle restore` takes the same lock for the time it writes the directory.

A node that recovers from a divergence re-executes itself (node/checkpoint/recovery.py): the
descriptor is made inheritable and named in the environment, so the lock survives the exec and
the new image adopts it instead of racing other processes for it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE_NAME = "node.lock"
lock_file_mode = 0o600
# The descriptor a node keeps across its own re-exec (see the module's docstring).
inherited_lock_fd_env = "SETTLE_NODE_LOCK_FD"
holder_pid_bytes_max = 32  # a pid and a newline; more is not a lock file of ours


class DataDirLocked(Exception):
    """Another live process holds the data directory."""

    def __init__(self, data_dir: Path, holder_pid: int | None) -> None:
        self.data_dir = data_dir
        self.holder_pid = holder_pid
        holder = f"pid {holder_pid}" if holder_pid is not None else "a process whose pid it has not written yet"
        super().__init__(
            f"{data_dir} is in use by {holder} (it holds {data_dir / LOCK_FILE_NAME}): one process per data "
            "directory; stop that process first")


class DataDirLock:
    """A held lock: an open descriptor of DATA_DIR/node.lock with an exclusive flock on it."""

    def __init__(self, data_dir: Path, fd: int) -> None:
        self.data_dir = data_dir
        self.fd = fd

    def keep_across_exec(self) -> None:
        """Lets the lock survive an exec of this process: the next image adopts it in lock_data_dir."""
        os.set_inheritable(self.fd, True)
        os.environ[inherited_lock_fd_env] = str(self.fd)

    def release(self) -> None:
        """For offline tools that are done with the directory; a node never calls it."""
        if self.fd >= 0:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = -1

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def lock_file(data_dir: Path) -> Path:
    return data_dir / LOCK_FILE_NAME


def holder_pid(data_dir: Path) -> int | None:
    """The pid the lock file names, or None when it names none."""
    try:
        with open(lock_file(data_dir), "rb") as f:
            text = f.read(holder_pid_bytes_max).decode("ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inherited_fd(path: Path) -> int | None:
    """The descriptor of `path` this process inherited across its own exec, if any."""
    named = os.environ.pop(inherited_lock_fd_env, "")
    if not named.isdigit():
        return None
    fd = int(named)
    try:
        inherited, current = os.fstat(fd), os.stat(path)
    except OSError:
        return None
    if (inherited.st_dev, inherited.st_ino) != (current.st_dev, current.st_ino):
        return None  # that number is some other file now: not ours to touch
    os.set_inheritable(fd, False)
    return fd


def _take(data_dir: Path) -> int:
    """An open descriptor of the lock file with the flock taken; DataDirLocked if another has it."""
    path = lock_file(data_dir)
    fd = _inherited_fd(path)
    if fd is None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, lock_file_mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # on an inherited descriptor: already ours
    except BlockingIOError:
        os.close(fd)
        raise DataDirLocked(data_dir, holder_pid(data_dir)) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def lock_data_dir(data_dir: Path) -> DataDirLock:
    """Takes `data_dir`'s lock (creating the directory if needed) and writes this pid into it.
    Raises DataDirLocked, naming the holder's pid, when another process holds it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = _take(data_dir)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return DataDirLock(data_dir, fd)


def check_data_dir_free(data_dir: Path) -> None:
    """Raises DataDirLocked if a live process holds `data_dir`; takes and keeps nothing, writes no
    pid (a launcher asks before it starts a node there)."""
    if not data_dir.is_dir():
        return
    os.close(_take(data_dir))
