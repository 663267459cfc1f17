"""`settle status --watch` against a served FakeReplica: bounded by --count, frames separated when
stdout is not a terminal, lag and guards shown, an unreachable node a row of the table."""

from __future__ import annotations

import io

import pytest

from node.cli.cli import main
from node.cli.status_watch import CLEAR_SCREEN
from tests.server.fake_replica import FakeReplica
from tests.server.serving import threaded

from .test_cli import closed_port, settle


@pytest.fixture
def served():
    with threaded(FakeReplica("node1")) as server:
        yield server


def test_watch_prints_count_frames_then_exits_0(served):
    unreachable = closed_port()
    code, out, _ = settle("--nodes", f"{served.address},{unreachable}", "--timeout", "1",
                          "status", "--watch", "--interval", "0.1", "--count", "2")
    assert code == 0
    frames = [f for f in out.split("--- ") if f.strip()]
    assert len(frames) == 2 and CLEAR_SCREEN not in out
    lines = frames[-1].splitlines()
    assert "refresh 2" in lines[0]
    assert lines[1].split() == ["node", "address", "role", "term", "commit", "applied", "lag", "state_hash", "ready"]
    assert lines[2].split()[:7] == ["node1", served.address, "LEADER", "1", "0", "0", "0"]
    assert lines[2].split()[-1] == "yes"
    assert lines[3].split()[:3] == ["-", unreachable, "UNREACHABLE"]
    assert any(line.startswith("mode ") for line in lines) and "no breakers tripped" in frames[-1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_each_frame_clears_the_screen(served):
    out = _Terminal()
    assert main(["--nodes", served.address, "status", "--watch", "--interval", "0", "--count", "2"], out=out) == 0
    assert out.getvalue().count(CLEAR_SCREEN) == 2


def test_without_watch_status_is_unchanged(served):
    code, out, _ = settle("--nodes", served.address, "status")
    assert code == 0 and out.splitlines()[0].split()[0] == "address"
