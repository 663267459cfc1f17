"""Helpers for cluster tests of quorum-signed actions: a governed cluster, a market to trade in,
and the `settle action` CLI run in-process against it."""

from __future__ import annotations

import io
from pathlib import Path

from cluster.demo.oracle import demo_price, demo_source
from cluster.local import LocalCluster
from node.cli.cli import main
from node.client import SyncSettlementClient, new_command_id, now_ms
from node.ledger.commands import CreateMarket, Deposit, MarketKind, SettleTrade

MARK = 50_000
# The one signed price must outlast the test: a stale market is REDUCE_ONLY (and a node would then
# co-sign halting it).
LONG_STALE_AFTER_MS = 3_600_000


def settle(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def list_market(client: SyncSettlementClient, market: str, *, stale_after_ms: int = LONG_STALE_AFTER_MS) -> None:
    """A perpetual marked at MARK by the demo source, and two funded traders for it."""
    reply = client.submit([
        CreateMarket(new_command_id("list"), market, MarketKind.PERPETUAL, 1, 1, 1_000, 500, 100, 10**9, 1_000, 2_000,
                     60_000, 60_000, sources=(demo_source(),), stale_after_ms=stale_after_ms),
        demo_price(new_command_id("px"), market, MARK, now_ms()),
        Deposit(new_command_id("dep"), f"{market}-buyer", 10**12),
        Deposit(new_command_id("dep"), f"{market}-seller", 10**12),
    ])
    assert all(r.ok for r in reply.results), reply


def trade(client: SyncSettlementClient, market: str, n: int = 0):
    """One small fill between the market's two traders, alternating side."""
    buyer, seller = f"{market}-buyer", f"{market}-seller"
    if n % 2:
        buyer, seller = seller, buyer
    return client.submit_one(SettleTrade(new_command_id("fill"), market, buyer, seller, MARK, 1))


def guardians_act(cluster: LocalCluster, kind: str, market: str, out_dir: Path, guardians: tuple[int, ...]) -> tuple[int, str]:
    """propose, sign by each guardian (offline), submit: the CLI flow. Returns submit's exit
    code and output."""
    path = out_dir / f"{kind.lower()}-{market}-{new_command_id('p').split(':')[1][:8]}.json"
    nodes = ",".join(cluster.grpc_addresses)
    credentials = ("--credentials", cluster.data_dir)
    code, out, err = settle("--nodes", nodes, *credentials, "action", "propose", kind, "--market", market, "--out", path)
    assert code == 0, err
    for number in guardians:
        code, out, err = settle("action", "sign", path, "--key-file", cluster.guardian_key_file(number), "--key-id", f"guardian{number}")
        assert code == 0, err
    code, out, _ = settle("--nodes", nodes, *credentials, "action", "submit", path)
    return code, out
