"""The replay's default full check (cluster/replay/full_check.py): every record after every entry,
the state hash from every record at powers of two and at the end, so its work grows linearly with
the entries. Work is counted, never timed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cluster.replay.full_check import FullCheck, is_hash_checkpoint
from cluster.replay.prices import load_prices
from cluster.replay.run import Run, replay
from cluster.replay.scenario import load_scenario
from node.ledger import LedgerInvariantError

REPO = Path(__file__).resolve().parents[2]
MARCH_CSV, MARCH_TOML = REPO / "scenarios" / "march-2020.csv", REPO / "scenarios" / "march-2020.toml"


def march_extended(tmp_path: Path, times: int, full_check: bool = True) -> Run:
    """March 2020, then quiet 10 s steps of its three sources until `times` distinct CSV times."""
    rows = [line for line in MARCH_CSV.read_text().splitlines() if line and not line.startswith(("#", "time"))]
    last_ms = int(rows[-1].split(",")[0])
    seen = len({row.split(",")[0] for row in rows})
    for step in range(times - seen):
        time_ms = last_ms + 10_000 * (step + 1)
        price = 7_100_000_000 + (step % 7) * 1_000_000
        rows += [f"{time_ms},BTC-PERP,{source},{price},{time_ms}" for source in ("a", "b", "c")]
    path = tmp_path / f"march-{times}.csv"
    path.write_text("time,market,source,price,source_time\n" + "\n".join(rows) + "\n")
    scenario = load_scenario(MARCH_TOML)
    return replay(scenario, load_prices(path, scenario), full_check=full_check)


def test_every_record_is_checked_after_every_entry(tmp_path):
    run = march_extended(tmp_path, 200)
    assert run.full_check.entries_checked == run.state.applied_index


def test_the_hash_is_recomputed_at_powers_of_two_and_after_the_last_entry(tmp_path):
    run = march_extended(tmp_path, 200)
    entries = run.state.applied_index
    assert not is_hash_checkpoint(entries)  # so the end adds one
    powers_of_two = [n for n in range(1, entries + 1) if is_hash_checkpoint(n)]
    assert powers_of_two == [2**k for k in range(len(powers_of_two))]
    assert run.full_check.hash_recomputations == len(powers_of_two) + 1
    assert run.full_check.last_hashed_entry == entries


def test_the_records_hashed_grow_linearly_with_the_entries(tmp_path):
    # One dedup record per entry is kept, so hashing every record after every entry (the old
    # check) quadruples its work when the entries double; this check at most about doubles it.
    short, long = march_extended(tmp_path, 400), march_extended(tmp_path, 800)
    assert long.state.applied_index >= 2 * short.state.applied_index - 10
    assert long.full_check.records_hashed < 2.5 * short.full_check.records_hashed


def test_quick_runs_no_full_check(tmp_path):
    assert march_extended(tmp_path, 120, full_check=False).full_check is None


@pytest.fixture(scope="module")
def quick_march() -> Run:
    scenario = load_scenario(MARCH_TOML)
    return replay(scenario, load_prices(MARCH_CSV, scenario), full_check=False)


def test_a_drifted_state_hash_is_found_at_the_end(quick_march):
    state = quick_march.state
    FullCheck().at_end(state)  # the replay's own state agrees
    state.state_hash += 1
    try:
        with pytest.raises(LedgerInvariantError, match="incremental state hash differs"):
            FullCheck().at_end(state)
    finally:
        state.state_hash -= 1


def test_a_broken_record_is_found_at_the_very_next_entry(quick_march):
    state = quick_march.state
    assert not is_hash_checkpoint(state.applied_index)  # found by the record check, not the hash
    account = state.accounts["whale"]
    state.accounts["whale"] = replace(account, collateral=account.collateral + 1)
    try:
        with pytest.raises(LedgerInvariantError, match="running totals drifted"):
            FullCheck().after_entry(state)
    finally:
        state.accounts["whale"] = account
