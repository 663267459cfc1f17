"""The checked-in generated code is exactly what proto/ generates, and the check notices when not."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def check(*options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "node.api.generate", "--check", *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_generated_code_is_current():
    outcome = check()
    assert outcome.returncode == 0, outcome.stderr


def test_check_fails_when_a_proto_changed(tmp_path):
    protos = tmp_path / "proto"
    shutil.copytree(REPO_ROOT / "proto", protos)
    commands = protos / "settlement" / "v1" / "commands.proto"
    commands.write_text(commands.read_text() + "\n// Added by the test: the checked-in code lacks it.\nmessage Stale {}\n")

    outcome = check("--proto-dir", str(protos))
    assert outcome.returncode == 1
    assert "stale: settlement/v1/commands_pb2.py" in outcome.stderr


def test_check_fails_when_generated_code_was_edited_or_left_over(tmp_path):
    out = tmp_path / "api"
    shutil.copytree(REPO_ROOT / "node" / "api" / "settlement", out / "settlement", ignore=shutil.ignore_patterns("__pycache__"))
    (out / "settlement" / "v1" / "results_pb2.pyi").write_text("# edited by hand\n")
    (out / "settlement" / "v1" / "removed_pb2.py").write_text("")

    outcome = check("--out-dir", str(out))
    assert outcome.returncode == 1
    assert "stale: settlement/v1/results_pb2.pyi" in outcome.stderr
    assert "unexpected: settlement/v1/removed_pb2.py" in outcome.stderr


def test_generated_modules_belong_to_the_node_api_package():
    from node.api.settlement.v1 import commands_pb2, settlement_pb2_grpc

    assert commands_pb2.Command.__module__ == "node.api.settlement.v1.commands_pb2"
    assert hasattr(settlement_pb2_grpc, "SettlementStub")
