"""The local launcher (`python -m cluster up`) never leaves nodes behind: a hang-up stops them as
Ctrl-C does, a node that exits during start-up fails the start with its exit code and log, and
nothing is started on data directories that running nodes hold."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from cluster.ports import metrics_port_offset
from node.data_lock import check_data_dir_free
from tests.listener import listening

from .conftest import free_base_port, wait_for_port

nodes = 3
launcher_up_timeout_s = 120.0  # until it prints the `try: settle` line (leader, genesis)
launcher_exit_timeout_s = 60.0  # the stop waits 10 s per node at most, then kills
node_serving_timeout_s = 60.0
terminal_read_bytes = 65536


def launcher_command(data: Path, base_port: int) -> list[str]:
    return [sys.executable, "-m", "cluster", "up", "--nodes", str(nodes), "--data", str(data),
            "--base-port", str(base_port)]


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie has ended: only its exit status is left)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def node_pids(data: Path) -> list[int]:
    """The pids the launcher wrote to DIR/node<i>/node.pid (those still there)."""
    files = [data / f"node{i}" / "node.pid" for i in range(1, nodes + 1)]
    return [int(f.read_text()) for f in files if f.exists()]


@contextlib.contextmanager
def launched(data: Path, base_port: int, **popen) -> Iterator[subprocess.Popen]:
    """The launcher, in its own session; at the end whatever it left is killed by pid (the
    launcher, then each node whose pid it wrote), so a failing test leaves nothing running.
    Nodes whose pids were there before it started are not its own: they are left alone."""
    others = set(node_pids(data))
    launcher = subprocess.Popen(launcher_command(data, base_port), stdin=subprocess.DEVNULL, start_new_session=True, **popen)
    try:
        yield launcher
    finally:
        own = set(node_pids(data)) - others
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=launcher_exit_timeout_s)
        for pid in own:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def read_until(terminal: int, marker: bytes, timeout_s: float) -> bytes:
    """What the launcher wrote to its terminal, up to and including `marker`."""
    seen = b""
    deadline = time.monotonic() + timeout_s
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {marker!r} within {timeout_s} s; the launcher wrote:\n{seen.decode(errors='replace')}")
        readable, _, _ = select.select([terminal], [], [], left)
        if readable:
            chunk = os.read(terminal, terminal_read_bytes)
            if not chunk:
                raise EOFError(seen.decode(errors="replace"))
            seen += chunk
    return seen


def test_a_hang_up_stops_every_node_the_launcher_started_cleanly(tmp_path):
    data = tmp_path / "data"
    terminal, launcher_side = pty.openpty()
    pids: list[int] = []
    try:
        with launched(data, free_base_port(nodes), stdout=launcher_side, stderr=launcher_side) as launcher:
            os.close(launcher_side)
            launcher_side = -1
            read_until(terminal, b"try: settle", launcher_up_timeout_s)
            pids += node_pids(data)
            assert len(pids) == nodes and all(alive(pid) for pid in pids)
            os.close(terminal)  # the terminal window closes: output now fails (EIO)...
            terminal = -1
            launcher.send_signal(signal.SIGHUP)  # ...and its process is hung up
            assert launcher.wait(timeout=launcher_exit_timeout_s) == 0
            assert [pid for pid in pids if alive(pid)] == []
    finally:
        for fd in (terminal, launcher_side):
            if fd >= 0:
                os.close(fd)
        for pid in pids:  # only if the launcher failed to: a test leaves nothing running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    for number in range(1, nodes + 1):  # each stopped on SIGTERM, not killed after the grace period
        assert '"event":"node_stop"' in (data / f"node{number}" / "node.log").read_text()


def test_the_launcher_reports_a_node_that_exits_during_start_up(tmp_path):
    data, base_port = tmp_path / "data", free_base_port(nodes)
    metrics_port = base_port + metrics_port_offset + 2
    with listening("127.0.0.1", metrics_port):  # another process holds node2's metrics port
        with launched(data, base_port, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as launcher:
            out, err = launcher.communicate(timeout=launcher_up_timeout_s)
    assert launcher.returncode == 1
    assert "node2 exited during start-up (exit code 7: its metrics address is in use)" in err
    assert f"cannot listen for metrics on 127.0.0.1:{metrics_port}" in err  # the tail of node2's log
    for number in range(1, nodes + 1):  # and no node is left holding its directory
        check_data_dir_free(data / f"node{number}")


def test_the_launcher_starts_nothing_on_data_dirs_that_running_nodes_hold(make_cluster):
    running = make_cluster(nodes=nodes)  # stand-ins for the nodes an earlier launcher left behind
    for spec in running.specs:
        wait_for_port(spec.host, spec.grpc_port, node_serving_timeout_s)  # each holds its directory by now
    base_port = running.specs[0].grpc_port - 1
    with launched(running.data_dir, base_port, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as launcher:
        out, err = launcher.communicate(timeout=launcher_exit_timeout_s)
    assert launcher.returncode == 1
    for spec in running.specs:
        assert f"{running.node_dir(spec.number)} is in use by pid {running.processes[spec.number].pid}" in err
        assert running.alive(spec.number)
    assert "cluster of" not in out  # nothing was started
