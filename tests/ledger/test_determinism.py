"""Replicas agree bit for bit: the same log gives the same state hash in any process."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REPLAY = """
from cluster.ledger_workload import random_log
from node.ledger import LedgerState, apply, check_full
from node.ledger.results import ResultCode
state = LedgerState()
codes = {}
liquidations = 0
for entry in random_log(seed=7, accounts=300, entries=120, commands_per_entry=50):
    outcome = apply(state, entry)
    liquidations += len(outcome.events)
    for r in outcome.results:
        codes[r.code.name] = codes.get(r.code.name, 0) + 1
check_full(state)
print(state.state_hash, state.applied_index, liquidations, sorted(codes.items()))
"""


def replay_in_fresh_process(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    done = subprocess.run(
        [sys.executable, "-c", REPLAY], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def test_same_log_gives_same_state_hash_under_different_hash_seeds():
    first = replay_in_fresh_process("0")
    second = replay_in_fresh_process("4242")
    assert first == second


def test_replayed_log_exercises_trades_rejections_and_liquidations():
    state_hash, applied, liquidations, codes = replay_in_fresh_process("1").split(" ", 3)
    assert int(state_hash) != 0 and int(applied) > 120
    assert int(liquidations) > 0, "the workload must reach the liquidation path"
    assert "('OK'," in codes and "INSUFFICIENT" in codes
