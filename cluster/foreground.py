"""A local cluster run in the foreground (`python -m cluster up`, `observe`): what stops it and
what it reports.

Nothing is started on node directories live processes hold (nodes an earlier launcher left
running, most likely): the launcher names their pids and exits. A node that exits while the
cluster starts fails the start with its exit code and log (LocalCluster.wait_until_serving); one
that exits later is reported and the others run on.

Each node runs in its own session (cluster/local.py), so a closed terminal hangs up the launcher
alone; if the launcher then died, its nodes would run on, orphaned, holding their data
directories and ports. So SIGHUP stops the cluster as Ctrl-C (SIGINT) and SIGTERM do: each raises
StopRequested wherever the launcher is (waiting for a leader, feeding the demo, printing status),
and its `finally` stops every node. StopRequested is a KeyboardInterrupt, so a blocking client
call it interrupts is cancelled as on Ctrl-C.

Starting and stopping processes must not be cut in half (a node started but not recorded would
be orphaned; a stop cut short leaves nodes behind): `signals_held()` defers the stop signals
until the step is done, and `hold_signals_for_good()` before the final stop keeps a second
Ctrl-C from interrupting it (the stop is bounded: cluster/local.py `stop_grace_s`, then SIGKILL).

After a hang-up stdout and stderr lead nowhere and writing to them fails (EIO): `say` drops what
cannot be written, so no message can keep the nodes from being stopped.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from cluster.local import LocalCluster, exited_log_lines
from node.exit_codes import describe as describe_exit

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(KeyboardInterrupt):
    """A stop signal arrived: stop the cluster and exit."""

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        super().__init__(self.signal_name)


class _Deferral:
    """Whether stop signals are deferred now, and the first one that arrived meanwhile. A flag,
    not the signal mask: children inherit the mask across exec, and a node started with SIGTERM
    blocked could only be killed."""

    held = False
    pending: int | None = None


def _raise_stop(signum: int, frame) -> None:
    if _Deferral.held:
        if _Deferral.pending is None:
            _Deferral.pending = signum
        return
    raise StopRequested(signum)


def stop_on_signals() -> None:
    """From now on SIGINT, SIGTERM and SIGHUP raise StopRequested in the main thread."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stop)


@contextmanager
def signals_held() -> Iterator[None]:
    """No stop signal is raised inside the block; one that arrived is raised as it ends."""
    _Deferral.held = True
    try:
        yield
    finally:
        _Deferral.held = False
    if _Deferral.pending is not None:
        raise StopRequested(_Deferral.pending)


def hold_signals_for_good() -> None:
    """Before the final stop: no stop signal is raised any more (the process is ending)."""
    _Deferral.held = True


def say(text: str, file: TextIO | None = None) -> None:
    """Prints `text` to `file` (default stdout) if it still leads somewhere. When it does not (the
    terminal hung up), both streams are pointed at /dev/null, so neither this message nor the
    interpreter's last flush fails."""
    try:
        print(text, file=file if file is not None else sys.stdout, flush=True)
    except OSError:
        sys.stdout = sys.stderr = open(os.devnull, "w")


def refuse_held_data_dirs(cluster: LocalCluster) -> bool:
    """Says which node directories live processes hold (nodes an earlier launcher left running,
    most likely) and returns True if any: then nothing is started."""
    held = cluster.data_dirs_in_use()
    for error in held:
        say(f"cannot start: {error}", sys.stderr)
    if held:
        pids = " ".join(str(e.holder_pid) for e in held if e.holder_pid is not None)
        say(f"nodes of an earlier run may still be running: stop them (kill {pids or 'PID'}) or use another --data",
            sys.stderr)
    return bool(held)


def report_exited_nodes(cluster: LocalCluster) -> None:
    """Once serving: a node that exits is reported (exit code, log tail) and forgotten; the rest run on."""
    for spec in cluster.specs:
        if spec.number in cluster.processes and not cluster.alive(spec.number):
            code = cluster.processes.pop(spec.number).returncode
            say(f"{spec.node_id} exited ({describe_exit(code)}); last log lines:\n{cluster.log_tail(spec.number, exited_log_lines)}",
                sys.stderr)
