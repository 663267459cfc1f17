"""Guardians halt and resume a market on a real 3-node cluster through `settle action`, and nodes
co-sign a halt only when their own view of the oracle agrees."""

from __future__ import annotations

import time

from cluster.local import LocalCluster
from node.client import new_command_id
from node.ledger.commands import Deposit
from node.ledger.results import ResultCode

from .governed import guardians_act, list_market, settle, trade
from .probe import wait_converged, wait_for_leader

MARKET = "GOV-PERP"
STALE_MARKET = "THIN-PERP"
THIN_STALE_AFTER_MS = 1_000
ACTIVE, HALTED = 1, 3  # settlement.v1.Market.Status


def test_two_guardians_halt_a_market_and_two_resume_it(make_cluster, tmp_path):
    cluster: LocalCluster = make_cluster(nodes=3)
    wait_for_leader(cluster)
    assert cluster.install_genesis()
    with cluster.client(cluster.grpc_addresses) as client:
        list_market(client, MARKET)
        assert trade(client, MARKET).ok

        code, out = guardians_act(cluster, "HALT_MARKET", MARKET, tmp_path, guardians=(1, 2))
        assert code == 0 and out.startswith("OK"), out
        assert client.get_market(MARKET).status == HALTED
        refused = trade(client, MARKET, 1)
        assert refused.code == ResultCode.MARKET_NOT_ACTIVE, refused

        code, out = guardians_act(cluster, "RESUME_MARKET", MARKET, tmp_path, guardians=(2, 3))
        assert code == 0 and out.startswith("OK"), out
        assert client.get_market(MARKET).status == ACTIVE
        assert trade(client, MARKET, 2).ok
    wait_converged(cluster)


def test_a_node_cosigns_a_halt_only_when_its_own_oracle_view_is_stale(make_cluster, tmp_path):
    cluster: LocalCluster = make_cluster(nodes=3)
    leader = wait_for_leader(cluster)
    assert cluster.install_genesis()
    follower = next(s for s in cluster.specs if s.number != leader)
    nodes = ",".join(cluster.grpc_addresses)
    with cluster.client(cluster.grpc_addresses) as client:
        list_market(client, MARKET)
        list_market(client, STALE_MARKET, stale_after_ms=THIN_STALE_AFTER_MS)
        time.sleep(THIN_STALE_AFTER_MS / 1000 + 0.3)
        client.submit([Deposit(new_command_id("tick"), "anyone", 1)])  # ledger time moves on: THIN-PERP is stale
        assert client.get_market(STALE_MARKET).oracle_verdict == 2  # STALE
    wait_converged(cluster)  # the follower's own view has it too

    halt_thin, halt_valid, resume = tmp_path / "halt-thin.json", tmp_path / "halt-valid.json", tmp_path / "resume.json"
    for kind, market, path in (("HALT_MARKET", STALE_MARKET, halt_thin), ("HALT_MARKET", MARKET, halt_valid),
                               ("RESUME_MARKET", MARKET, resume)):
        assert settle("--nodes", nodes, "--credentials", cluster.data_dir, "action", "propose", kind, "--market", market, "--out", path)[0] == 0

    code, out, err = settle("action", "cosign", halt_thin, "--node", follower.grpc_address, "--credentials", cluster.data_dir)
    assert code == 0, err
    assert out.startswith(f"{follower.node_id} ({follower.grpc_address}, because {STALE_MARKET}'s oracle verdict is STALE)"), out

    code, out, _ = settle("action", "cosign", halt_valid, "--node", follower.grpc_address, "--credentials", cluster.data_dir)
    assert code == 1 and "oracle is VALID and no breaker holds it" in out, out
    code, out, _ = settle("action", "cosign", resume, "--node", follower.grpc_address, "--credentials", cluster.data_dir)
    assert code == 1 and "a node co-signs only HALT_MARKET and GLOBAL_HALT" in out, out

    # The node's signature and one guardian's reach the halt threshold of 2.
    code, _, err = settle("action", "sign", halt_thin, "--key-file", cluster.guardian_key_file(1), "--key-id", "guardian1")
    assert code == 0, err
    code, out, _ = settle("--nodes", nodes, "--credentials", cluster.data_dir, "action", "submit", halt_thin)
    assert code == 0 and out.startswith("OK"), out
    with cluster.client(cluster.grpc_addresses) as client:
        assert client.get_market(STALE_MARKET).status == HALTED
        assert client.get_market(MARKET).status == ACTIVE
