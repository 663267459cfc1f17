"""The alert rules pass `promtool check rules` and their unit tests (`make promtool-check`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not on PATH: `make promtool-check` installs it (Debian package prometheus)"
)


def _promtool(*args: str) -> str:
    run = subprocess.run([PROMTOOL, *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout + run.stderr


def test_promtool_checks_the_rules():
    assert "SUCCESS" in _promtool("check", "rules", "alerts.yml")


def test_promtool_runs_the_rule_unit_tests():
    assert "SUCCESS" in _promtool("test", "rules", "alerts_test.yml")
