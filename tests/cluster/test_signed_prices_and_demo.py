"""Real replicas verify oracle signatures with Ed25519, and the `make run` demo load works on a
real cluster: the market is listed with its source, the forged price refused, carol liquidated."""

from __future__ import annotations

import io

from cluster.demo.load import MARKET, run_demo
from cluster.demo.oracle import SOURCE, demo_key, demo_price, forged_price
from cluster.local import LocalCluster
from node.client import now_ms, read_private_key
from node.identity.keys import raw_public_key
from node.ledger.results import ResultCode
from node.ledger.state import market_fund

from .probe import wait_converged, wait_for_leader


def test_the_demo_load_lists_prices_refuses_the_forgery_and_liquidates(make_cluster):
    cluster: LocalCluster = make_cluster(nodes=3)
    wait_for_leader(cluster)
    out = io.StringIO()
    with cluster.client(cluster.grpc_addresses) as client:
        assert run_demo(client, out, feed=False) is None
        carol = client.get_account("carol")
        fund = client.get_account(market_fund(MARKET))
        market = client.get_market(MARKET)
    text = out.getvalue()
    assert "INVALID_SIGNATURE  demo:px-forged" in text, text
    assert "INSUFFICIENT_MARGIN  demo:fill-3" in text, text
    assert [p.size for p in carol.positions if p.market == MARKET] in ([], [0])
    assert [p.size for p in fund.positions if p.market == MARKET] == [1]  # the market's fund took carol's long over
    assert market.mark_price == 54_600_000_000
    assert [s.source for s in market.params.sources] == [SOURCE]
    wait_converged(cluster)


def test_every_replica_verifies_signed_prices(make_cluster):
    """A price moves the mark on every node only with the registered source's signature."""
    cluster: LocalCluster = make_cluster(nodes=3)
    wait_for_leader(cluster)
    # The launcher leaves the demo source's key next to cluster.json for `settle price --key-file`.
    assert raw_public_key(read_private_key(cluster.oracle_key_file)) == raw_public_key(demo_key())
    assert cluster.oracle_key_file.stat().st_mode & 0o777 == 0o600
    with cluster.client(cluster.grpc_addresses) as client:
        run_demo(client, io.StringIO(), feed=False)
        forged = client.submit_one(forged_price("forged-2", MARKET, 1_000_000, now_ms()))
        moved = client.submit_one(demo_price("px-3", MARKET, 55_000_000_000, now_ms()))
        assert client.submit_price(MARKET, SOURCE, 55_100_000_000, demo_key()).ok
    assert forged.code == ResultCode.INVALID_SIGNATURE
    assert moved.ok
    wait_converged(cluster)
    for spec in cluster.specs:
        with cluster.client([spec.grpc_address]) as client:
            local = client.get_market(MARKET, consistency="local", address=spec.grpc_address)
            assert local.mark_price == 55_100_000_000
