"""The short chaos run of `make test`: a real 3-node cluster under load for about 60 s, at least
10 fault cycles over kill, pause, partition, restart and powercut, and a PASS verdict. The nodes
compact their Raft logs every `compact_every_entries` (production waits for 20,000, more than 60 s
make), so the journals no longer reach index 1 and the checker must replay from a certified
checkpoint.

A fault this machine cannot make (no root for namespaces, no FUSE) is dropped by the harness
loudly and named in the report's notes; this test then fails, since it asks for all five."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cluster.chaos.network import name_prefix, namespaces

seed = 7
compact_every_entries = 200
kinds = ("kill", "pause", "partition", "restart", "powercut")
run_timeout_s = 240


def test_a_short_chaos_run_loses_duplicates_and_diverges_nothing(tmp_path: Path):
    out = tmp_path / "chaos"
    command = [sys.executable, "-m", "cluster", "chaos", "--nodes", "3", "--duration", "60", "--seed", str(seed),
               "--faults", ",".join(kinds), "--min-cycles", "10", "--compact-every", str(compact_every_entries),
               "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=run_timeout_s)
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert report["verdict"] == "PASS", report["first_violation"]
    assert report["cycles"] >= 10, report["cycles_by_kind"]
    assert set(report["cycles_by_kind"]) == set(kinds), (report["cycles_by_kind"], report["notes"])
    assert (report["lost"], report["duplicated"], report["divergent"]) == (0, 0, 0)
    assert report["commands"]["acknowledged"] > 500
    assert report["run"]["replayed"], report["notes"]  # the final balances were compared with a replay of the log
    assert report["run"]["node_logs"]["compactions"] >= 1, report["run"]["node_logs"]
    assert report["run"]["replay"]["base"] == "checkpoint", report["run"]["replay"]  # compacted: not from index 1
    assert report["run"]["power_cuts"] >= 1
    assert (out / "report.png").stat().st_size > 10_000
    assert "verdict: PASS" in done.stdout


def test_a_chaos_run_leaves_no_namespace_and_no_mount_behind(tmp_path: Path):
    out = tmp_path / "chaos"
    command = [sys.executable, "-m", "cluster", "chaos", "--nodes", "3", "--duration", "8", "--seed", "1",
               "--faults", "partition,powercut", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=run_timeout_s)
    hub = re.search(rf"({name_prefix}\d+)-hub", done.stdout)
    assert hub, done.stdout[-2000:] + done.stderr[-2000:]
    assert not [n for n in namespaces() if n.startswith(hub.group(1) + "-")], namespaces()
    with open("/proc/self/mounts") as mounts:
        assert str(out) not in mounts.read()
