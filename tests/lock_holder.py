"""Another process holding a node's data directory lock, for the tests that need one.

    with lock_holder(data_dir) as holder:   # holder.pid holds data_dir until the block ends
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

holder_start_timeout_s = 30.0

# Takes the lock, says so, then (optionally) replaces itself by `python -c AFTER_EXEC` while
# keeping it, as a node's divergence recovery does; ends when its stdin closes.
HOLDER = """
import os, sys
from pathlib import Path
from node.data_lock import lock_data_dir
lock = lock_data_dir(Path(sys.argv[1]))
after_exec = sys.argv[2] if len(sys.argv) > 2 else ""
if after_exec:
    lock.keep_across_exec()
    os.execv(sys.executable, [sys.executable, "-c", after_exec, sys.argv[1]])
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def lock_holder(data_dir: Path, after_exec: str = "") -> Iterator[subprocess.Popen]:
    """A process holding `data_dir`'s lock (`.said`: its first line of output); killed at the end."""
    args = [sys.executable, "-c", HOLDER, str(data_dir)] + ([after_exec] if after_exec else [])
    holder = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        holder.said = _first_line(holder)  # "locked", or what the program after the exec printed
        assert holder.said, "the lock holder ended before it said it held the lock"
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(timeout=holder_start_timeout_s)
        holder.stdin.close()
        holder.stdout.close()


def _first_line(process: subprocess.Popen) -> str:
    import selectors

    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(holder_start_timeout_s):
            raise TimeoutError(f"the lock holder said nothing within {holder_start_timeout_s} s")
    return process.stdout.readline().strip()
