"""Replicas agree bit for bit: the same log gives the same state hash in any process."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

REPLAY = """
from cluster.ledger_workload import random_log
from node.identity.keys import verify_ed25519
from node.ledger import LedgerState, apply, check_full
from node.ledger.results import ResultCode
state = LedgerState()
codes = {}
events = {}
for entry in random_log(seed=7, accounts=300, entries=120, commands_per_entry=50):
    outcome = apply(state, entry, verify_ed25519)
    for e in outcome.events:
        events[type(e).__name__] = events.get(type(e).__name__, 0) + 1
    for r in outcome.results:
        codes[r.code.name] = codes.get(r.code.name, 0) + 1
check_full(state)
print(state.state_hash, state.applied_index, sorted(events.items()), sorted(codes.items()))
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


def test_replayed_log_exercises_trades_rejections_liquidations_and_breakers():
    state_hash, applied, rest = replay_in_fresh_process("1").split(" ", 2)
    events, codes = rest.split("] [")
    assert int(state_hash) != 0 and int(applied) > 120
    for kind in ("Liquidation", "BreakerTripped", "MarketStatusChanged"):
        assert f"('{kind}'," in events, f"the workload must reach {kind}: {events}"
    for code in ("OK", "INSUFFICIENT_MARGIN", "REDUCE_ONLY", "MARKET_NOT_ACTIVE"):
        assert f"('{code}'," in codes, f"the workload must reach {code}: {codes}"
