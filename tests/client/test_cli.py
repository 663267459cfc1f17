"""`settle` end to end against a served FakeReplica, run in-process through main()."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import time

import pytest

from node.client.cli import main
from tests.server.fake_replica import FOLLOWER, FakeReplica
from tests.server.serving import threaded


def settle(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def served():
    fake = FakeReplica("node1")
    with threaded(fake) as server:
        yield server


def test_deposit_then_account(served):
    code, out, _ = settle("--nodes", served.address, "deposit", "alice", "5_000_000", "--id", "dep-1")
    assert code == 0
    assert out.splitlines()[0].split() == ["OK", "dep-1", "collateral=5000000"]

    code, out, _ = settle("--nodes", served.address, "account", "alice")
    assert code == 0
    assert out.splitlines()[0].startswith("account alice  ACTIVE  collateral 5000000")
    assert "no positions" in out

    code, out, _ = settle("account", "alice", "--local", "--json", "--nodes", served.address)  # options after the command
    assert code == 0
    account = json.loads(out)
    assert (account["id"], account["collateral"], account["status"]) == ("alice", 5_000_000, "ACTIVE")
    assert served.replica.barrier_calls == 1  # the --local read skipped it


def test_a_repeated_id_is_shown_as_its_original_outcome(served):
    assert settle("--nodes", served.address, "deposit", "alice", "7", "--id", "dep-1")[0] == 0
    code, out, _ = settle("--nodes", served.address, "--json", "deposit", "alice", "7", "--id", "dep-1")
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert (result["code"], result["duplicate"], result["collateral"]) == ("OK", True, 7)
    assert served.replica.state.accounts["alice"].collateral == 7


def test_a_rejected_command_exits_1(served):
    assert settle("--nodes", served.address, "deposit", "alice", "5")[0] == 0
    code, out, _ = settle("--nodes", served.address, "withdraw", "alice", "10")
    assert code == 1
    assert out.split()[0] == "INSUFFICIENT_COLLATERAL"


def test_market_trade_price_and_guards(served):
    nodes = ("--nodes", served.address)
    assert settle(*nodes, "create-market", "BTC-PERP")[0] == 0
    assert settle(*nodes, "price", "BTC-PERP", "src-a", "50000", "--source-time-ms", "10")[0] == 0
    assert settle(*nodes, "deposit", "alice", "10_000_000")[0] == 0
    assert settle(*nodes, "deposit", "bob", "10_000_000")[0] == 0
    code, out, _ = settle(*nodes, "trade", "BTC-PERP", "alice", "bob", "50000", "2", "--buyer-fee", "5")
    assert code == 0 and "counterparty_collateral=10000000" in out
    code, out, _ = settle(*nodes, "market", "BTC-PERP")
    assert code == 0 and "2 / cap 1000000" in out.splitlines()[4]
    code, out, _ = settle(*nodes, "--json", "guards")
    assert code == 0 and json.loads(out)["mode"] == "NORMAL"
    code, out, _ = settle(*nodes, "account", "alice")
    assert out.splitlines()[-1].split()[:2] == ["BTC-PERP", "2"]
    assert settle(*nodes, "create-market", "BTC-FUT", "--kind", "future")[0] == 2  # needs --expiry-ms


def test_status_prints_a_table_of_every_node_and_marks_the_unreachable(served):
    unreachable = closed_port()
    code, out, _ = settle("--nodes", f"{served.address},{unreachable}", "--timeout", "1", "status")
    assert code == 0
    header, node1, down = out.splitlines()
    assert header.split() == ["address", "node", "role", "leader", "term", "commit", "applied", "state_hash", "ready"]
    assert node1.split()[:7] == [served.address, "node1", "LEADER", "node1", "1", "0", "0"]
    assert node1.split()[-1] == "yes"
    assert down.split()[:3] == [unreachable, "-", "UNREACHABLE"]

    code, out, _ = settle("--nodes", served.address, "--json", "status")
    (node,) = json.loads(out)["nodes"]
    assert (node["node_id"], node["role"], node["ready"]) == ("node1", "LEADER", True)


def test_nodes_come_from_the_cluster_file(served, tmp_path, monkeypatch):
    cluster = {"cluster_id": "c1", "nodes": [{"id": "node1", "grpc": served.address, "raft": "127.0.0.1:1"}]}
    (tmp_path / "cluster.json").write_text(json.dumps(cluster))
    code, out, _ = settle("--cluster-file", str(tmp_path / "cluster.json"), "deposit", "alice", "1")
    assert code == 0
    # ./data/cluster.json is the default when neither --nodes nor --cluster-file is given.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cluster.json").write_text(json.dumps(cluster))
    monkeypatch.chdir(tmp_path)
    assert settle("account", "alice")[0] == 0


def test_a_follower_redirects_the_cli_to_the_leader(served):
    follower = FakeReplica("node2", mode=FOLLOWER, leader_address=served.address)
    with threaded(follower) as follower_server:
        code, _, _ = settle("--nodes", follower_server.address, "deposit", "alice", "3")
    assert code == 0
    assert served.replica.state.accounts["alice"].collateral == 3


def test_unknown_account_exits_1(served):
    code, _, err = settle("--nodes", served.address, "account", "nobody")
    assert code == 1 and "no account nobody" in err


@pytest.mark.parametrize(
    "argv",
    [
        (),  # no command
        ("--nodes", "127.0.0.1:1", "deposit", "alice", "1.5"),  # never a float
        ("--nodes", "127.0.0.1:1", "frobnicate"),
    ],
    ids=["no-command", "float-amount", "unknown-command"],
)
def test_usage_errors_exit_2(argv, capsys):
    assert settle(*argv)[0] == 2


def test_no_nodes_exit_2(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = settle("status")
    assert code == 2 and "--nodes" in err


def test_an_unreachable_cluster_exits_2():
    code, _, err = settle("--nodes", closed_port(), "--timeout", "1", "deposit", "alice", "1")
    assert code == 2 and err.startswith("settle: ")
    assert settle("--nodes", closed_port(), "--timeout", "1", "status")[0] == 2


def test_a_request_refused_as_a_whole_exits_2(served):
    code, _, err = settle("--nodes", served.address, "price", "BTC-PERP", "src", "1", "--signature-hex", "zz")
    assert code == 2 and "--signature-hex" in err


def test_the_console_entry_point_streams_events_until_interrupted(served):
    """`settle watch` as a real process: prints the liquidation a price drop causes, and Ctrl-C
    ends it with exit code 0."""
    fake = served.replica
    nodes = ("--nodes", served.address)
    for argv in (
        ("create-market", "BTC-PERP"),
        ("price", "BTC-PERP", "src-a", "50000", "--source-time-ms", "10"),
        ("deposit", "bob", "10_000_000"),
        ("deposit", "thin", "500_000"),
        ("trade", "BTC-PERP", "thin", "bob", "50000", "100"),
    ):
        assert settle(*nodes, *argv)[0] == 0
    watcher = subprocess.Popen(
        [sys.executable, "-m", "node.client.cli", *nodes, "--json", "watch", "--kind", "liquidation"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while fake.subscriber_count == 0 and watcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake.subscriber_count == 1, watcher.stderr.read() if watcher.poll() is not None else "not subscribed"
        assert settle(*nodes, "price", "BTC-PERP", "src-a", "47000", "--source-time-ms", "20")[0] == 0
        event = json.loads(watcher.stdout.readline())
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=10) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        watcher.stdout.close()
        watcher.stderr.close()
    assert event["kind"] == "liquidation"
    assert (event["liquidation"]["account"], event["liquidation"]["price"]) == ("thin", 47_000)
    assert "breaker_tripped" not in event
