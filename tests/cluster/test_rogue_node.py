"""One compromised node can neither halt, resume, loosen nor settle, as leader or as follower,
while the cluster keeps settling trades (cluster/fixture_node/rogue.py is the rogue;
docs/design.md#quorum-classes: a single node can neither halt nor resume settlement, nor change a
parameter). As leader it also cannot fabricate, alter or replay a submitter's batch, nor run the
ledger clock ahead (docs/design.md#access-control).

Node 1 runs as the rogue test fixture (python -m cluster.fixture_node --rogue). Every 250 ms it
forges actions signed with its own node key and replays genuinely approved ones. First it leads (its election
timeout is made short so it wins), and appends them to the log itself; then it is restarted as a
follower and sends them through Submit. Every one is refused with its code, the traded market
stays ACTIVE, the venue NORMAL, nothing is pending, and trades go through all along.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from pathlib import Path

from cluster.local import LOCAL_POLICY, LocalCluster
from node.client import LOCAL, SyncSettlementClient
from cluster.fixture_node.flags import ROGUE as ROGUE_FLAG
from cluster.fixture_node.rogue import REPORT_FILE_NAME, clock_jump_ms

from .governed import guardians_act, list_market, trade
from .probe import wait_converged, wait_for_leader

ROGUE = 1
MARKET = "MAIN-PERP"  # traded all along; nobody honest touches it
SIDE = "SIDE-PERP"  # guardians genuinely halt and resume it: approvals for the rogue to replay
phase_s = 5.0
trades_per_phase_max = 5_000
leader_attempts_max = 5
report_wait_s = 10.0
# Node 1 times out first and so wins the first election (the others keep the 500-1,000 ms default;
# pysyncobj needs more than three heartbeats, 150 ms).
HASTY_ELECTIONS = "\n[raft]\nelection_timeout_min_ms = 200\nelection_timeout_max_ms = 300\n"

EXPECTED = {
    "global halt, own key": "BELOW_THRESHOLD",
    "halt, own key": "BELOW_THRESHOLD",
    "halt, own key twice": "BELOW_THRESHOLD",
    "halt, own key posing as a guardian": "INVALID_SIGNATURE",
    "resume, own key": "WRONG_ROLE",
    "loosen open interest cap, own key": "WRONG_ROLE",
    "emergency settle, own key": "WRONG_ROLE",
}
# Raw batches only a leader can log: each refused on every replica, the replay answered by dedup.
LEADER_ONLY = {
    "withdraw, unsigned": "UNSIGNED_BATCH",
    "withdraw, own node key": "WRONG_ROLE",
    "withdraw, posing as the custodian": "INVALID_SIGNATURE",
    "altered trade": "INVALID_SIGNATURE",
    "replayed trade batch": "DUPLICATE",
}
CLOCK_LEAD_SLACK_MS = 30_000  # how late the test may read the clock after the rogue's jump
ACTIVE = 1  # settlement.v1.Market.Status
NORMAL = 1  # settlement.v1.Guards.Mode


def start_rogue(cluster: LocalCluster, monkeypatch) -> None:
    """Starts node 1 as the rogue test fixture (python -m cluster.fixture_node --rogue)."""
    cluster.start(ROGUE, fixture_flags=[ROGUE_FLAG])


def rogue_leads(cluster: LocalCluster, monkeypatch) -> None:
    """Bounded: kill whichever honest node leads until the rogue does."""
    for _ in range(leader_attempts_max):
        assert cluster.alive(ROGUE), cluster.log_tail(ROGUE, 20)
        leader = wait_for_leader(cluster)
        if leader == ROGUE:
            return
        cluster.kill(leader)
        wait_for_leader(cluster, among=[s.number for s in cluster.specs if s.number != leader])
        cluster.start(leader)
    raise AssertionError(f"node {ROGUE} never led in {leader_attempts_max} elections")


def report(cluster: LocalCluster) -> list[dict]:
    path = cluster.node_dir(ROGUE) / REPORT_FILE_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def wait_for_replays(cluster: LocalCluster, variant: str) -> list[dict]:
    """Waits until the rogue, in `variant`, replayed an approved action; returns its records."""
    deadline = time.monotonic() + report_wait_s
    while time.monotonic() < deadline:
        records = [r for r in report(cluster) if r["variant"] == variant]
        if any(r["forgery"].startswith("replay of approved") for r in records):
            return records
        time.sleep(0.2)
    raise AssertionError(f"the rogue made no {variant} replay:\n{cluster.log_tail(ROGUE, 20)}")


def trade_for(client: SyncSettlementClient, seconds: float) -> int:
    """Trades MAIN-PERP one fill at a time for `seconds`; returns how many settled."""
    settled = 0
    deadline = time.monotonic() + seconds
    for n in range(trades_per_phase_max):
        if time.monotonic() > deadline:
            break
        settled += trade(client, MARKET, n).ok
    return settled


def assert_batches_refused(records: list[dict]) -> None:
    """Every raw batch forgery was refused with its code; the far-future stamp was held back."""
    batches = [r for r in records if r["forgery"] in LEADER_ONLY]
    assert {r["forgery"] for r in batches} == set(LEADER_ONLY), sorted({r["forgery"] for r in batches})
    wrong = [r for r in batches if r["code"] != LEADER_ONLY[r["forgery"]]]
    assert not wrong, wrong
    (clock,) = [r for r in records if r["kind"] == "clock"]
    lead = LOCAL_POLICY["clock_lead_max_ms"]
    assert clock["ledger_time_ms"] <= clock["stamped_ms"] - clock_jump_ms + lead + CLOCK_LEAD_SLACK_MS, clock


def assert_all_refused(records: list[dict], variant: str) -> None:
    records = [r for r in records if r["forgery"] not in LEADER_ONLY and r["kind"] != "clock"]
    codes = {(r["forgery"] if not r["forgery"].startswith("replay") else "replay", r["code"]) for r in records}
    assert not [r for r in records if r["code"] == "OK"], records
    for forgery, code in EXPECTED.items():
        assert (forgery, code) in codes, (variant, forgery, sorted(codes))
    assert ("replay", "NONCE_REUSED") in codes, (variant, sorted(codes))
    assert {code for forgery, code in codes if forgery != "replay"} <= set(EXPECTED.values()), sorted(codes)


def assert_untouched(client: SyncSettlementClient) -> None:
    market, guards = client.get_market(MARKET), client.get_guards()
    assert (market.status, market.status_reason) == (ACTIVE, "")
    assert market.params.open_interest_cap == 10**9
    assert guards.mode == NORMAL and not guards.pending_changes
    for side in ("buyer", "seller"):  # trades at the mark without fees: nobody's collateral moves
        assert client.get_account(f"{MARKET}-{side}").collateral == 10**12


def test_a_rogue_node_can_neither_halt_resume_loosen_nor_settle(make_cluster, monkeypatch, tmp_path: Path):
    cluster: LocalCluster = make_cluster(nodes=3, start=False)
    config = cluster.config_path(ROGUE)
    config.write_text(config.read_text() + HASTY_ELECTIONS)
    start_rogue(cluster, monkeypatch)
    cluster.start()
    rogue_leads(cluster, monkeypatch)
    assert cluster.install_genesis()
    with cluster.client(cluster.grpc_addresses, timeout_s=10.0) as client:
        list_market(client, MARKET)
        list_market(client, SIDE)
        for kind, guardians in (("HALT_MARKET", (1, 2)), ("RESUME_MARKET", (2, 3))):
            assert guardians_act(cluster, kind, SIDE, tmp_path, guardians)[0] == 0

        # -- the rogue leads: it appends its forgeries to the log itself ---------------------
        settled_while_leading = trade_for(client, phase_s)
        led = wait_for_replays(cluster, "leader")
        assert_all_refused(led, "leader")
        assert_batches_refused(led)
        assert_untouched(client)

        # -- the rogue follows: it sends its forgeries to the leader ----------------------------
        cluster.prepare()  # its config again without the hasty elections
        cluster.kill(ROGUE, signal.SIGKILL)
        wait_for_leader(cluster, among=[s.number for s in cluster.specs if s.number != ROGUE])
        start_rogue(cluster, monkeypatch)
        for kind, guardians in (("HALT_MARKET", (1, 3)), ("RESUME_MARKET", (1, 2))):  # approvals it sees applied
            assert guardians_act(cluster, kind, SIDE, tmp_path, guardians)[0] == 0
        settled_while_following = trade_for(client, phase_s)
        followed = wait_for_replays(cluster, "follower")
        assert_all_refused(followed, "follower")
        assert_untouched(client)

    rounds = Counter(r["variant"] for r in report(cluster))
    print(f"rogue records {dict(rounds)}; fills settled while it led {settled_while_leading}, while it followed {settled_while_following}")
    assert rounds["leader"] >= len(EXPECTED) and rounds["follower"] >= len(EXPECTED), rounds
    assert settled_while_leading >= 20 and settled_while_following >= 20, (settled_while_leading, settled_while_following)
    assert "TEST-ONLY ROGUE NODE" in (cluster.node_dir(ROGUE) / "node.log").read_text()
    wait_converged(cluster)
    for spec in cluster.specs:  # every replica refused the forged withdrawals the same way
        with cluster.client([spec.grpc_address]) as client:
            assert client.get_account(f"{MARKET}-buyer", LOCAL).collateral == 10**12, spec.node_id
