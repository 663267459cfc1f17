"""`settle` end to end against a served FakeReplica, run in-process through main()."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from node.cli.cli import main
from node.identity.key_files import write_private_key
from tests.ledger.driver import oracle_source, source_key
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
    assert out.splitlines()[0].split() == ["OK", "dep-1", "collateral=$5.00"]

    code, out, _ = settle("--nodes", served.address, "account", "alice")
    assert code == 0
    assert out.splitlines()[0].startswith("account alice  ACTIVE  collateral $5.00  ")
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


@pytest.fixture
def key_file(tmp_path):
    """src-a's private key, as the hex key file `settle new-key` writes."""
    path = tmp_path / "src-a.key"
    write_private_key(path, source_key("src-a"))
    return str(path)


def source_arg() -> str:
    return f"src-a:{oracle_source('src-a').public_key.hex()}"


def fresh_ms(served) -> str:
    """A source time the fake's next entry (stamped 1 s after its last) takes as fresh."""
    return str(served.replica.time_ms + 500)


def test_market_trade_price_and_guards(served, key_file):
    nodes = ("--nodes", served.address)
    assert settle(*nodes, "create-market", "BTC-PERP", "--source", source_arg())[0] == 0
    assert settle(*nodes, "price", "BTC-PERP", "src-a", "50000", "--source-time-ms", fresh_ms(served), "--key-file", key_file)[0] == 0
    assert settle(*nodes, "deposit", "alice", "10_000_000")[0] == 0
    assert settle(*nodes, "deposit", "bob", "10_000_000")[0] == 0
    code, out, _ = settle(*nodes, "trade", "BTC-PERP", "alice", "bob", "50000", "2", "--buyer-fee", "5")
    assert code == 0 and "counterparty_collateral=$10.00" in out
    code, out, _ = settle(*nodes, "market", "BTC-PERP")
    assert code == 0 and "2 / cap 1,000,000 contracts" in out.splitlines()[4]
    code, out, _ = settle(*nodes, "--json", "guards")
    assert code == 0 and json.loads(out)["mode"] == "NORMAL"
    code, out, _ = settle(*nodes, "account", "alice")
    assert out.splitlines()[-1].split()[:2] == ["BTC-PERP", "2"]
    assert settle(*nodes, "create-market", "BTC-FUT", "--kind", "future", "--source", source_arg())[0] == 2  # needs --expiry-ms


def test_create_market_lists_the_outlier_band_and_the_clamp_rule(served):
    nodes = ("--nodes", served.address)
    code, out, _ = settle(*nodes, "create-market", "ETH-PERP", "--source", source_arg(), "--outlier-bps", "0",
                          "--clamp-after-ms", "300000")
    assert code == 0, out
    market = served.replica.state.markets["ETH-PERP"]
    assert (market.outlier_bps, market.clamp_after_ms) == (0, 300_000)  # an explicit 0 is off, not the default
    code, out, _ = settle(*nodes, "market", "ETH-PERP")
    assert code == 0 and "no outlier band, clamps after 5m" in out


def test_create_market_lists_a_futures_settlement_window(served):
    nodes = ("--nodes", served.address)
    expiry_ms = str(served.replica.state.ledger_time_ms + 7_200_000)
    code, out, _ = settle(*nodes, "create-market", "BTC-MAR", "--kind", "future", "--expiry-ms", expiry_ms,
                          "--source", source_arg(), "--settlement-window-ms", "600000")
    assert code == 0, out
    assert served.replica.state.markets["BTC-MAR"].settlement_window_ms == 600_000
    code, out, _ = settle(*nodes, "market", "BTC-MAR")
    assert code == 0 and "0ms VALID of the 10m window (needs 5m); the mark does not count now" in out


def test_the_cli_signs_a_price_with_the_source_key_file(served, key_file, tmp_path):
    nodes = ("--nodes", served.address)
    code, out, _ = settle(*nodes, "create-market", "BTC-PERP", "--source", source_arg(), "--min-sources", "1",
                          "--stale-after-ms", "30000", "--liquidation-slice-bps", "2000", "--fund-position-cap", "50")
    assert code == 0, out
    code, out, _ = settle(*nodes, "price", "BTC-PERP", "src-a", "50_000", "--key-file", key_file,
                          "--source-time-ms", fresh_ms(served), "--id", "px-1")
    assert (code, out.split()[:2]) == (0, ["OK", "px-1"])
    market = served.replica.state.markets["BTC-PERP"]
    assert (market.mark_price, market.stale_after_ms, market.liquidation_slice_bps, market.fund_position_cap) == (50_000, 30_000, 2_000, 50)
    code, out, _ = settle(*nodes, "market", "BTC-PERP")
    assert code == 0 and "VALID" in out and oracle_source("src-a").public_key.hex() in out
    assert (market.outlier_bps, market.clamp_after_ms) == (1_000, 0)  # the defaults for new markets
    assert "outliers beyond 1000 bps, no clamp rule" in out
    # A key the market never registered for src-a: refused by the ledger, exit 1.
    other = tmp_path / "other.key"
    assert settle("new-key", str(other))[0] == 0
    code, out, _ = settle(*nodes, "price", "BTC-PERP", "src-a", "1", "--key-file", str(other), "--source-time-ms", fresh_ms(served))
    assert (code, out.split()[0]) == (1, "INVALID_SIGNATURE")
    assert served.replica.state.markets["BTC-PERP"].mark_price == 50_000


def test_key_commands_need_no_cluster(tmp_path, key_file, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./data/cluster.json here
    code, out, _ = settle("public-key", key_file)
    assert (code, out.strip()) == (0, oracle_source("src-a").public_key.hex())
    fresh = tmp_path / "fresh.key"
    code, out, _ = settle("new-key", str(fresh))
    assert code == 0 and fresh.stat().st_mode & 0o777 == 0o600
    assert settle("public-key", str(fresh))[1] == out
    code, _, err = settle("new-key", str(fresh))
    assert code == 2 and "cannot create" in err  # never overwrites a key


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (("price", "BTC-PERP", "src-a", "1"), "--key-file"),
        (("price", "BTC-PERP", "src-a", "1", "--key-file", "{bad}"), "not an Ed25519 private key"),
        (("price", "BTC-PERP", "src-a", "1", "--key-file", "{missing}"), "cannot read key file"),
        (("create-market", "BTC-PERP"), "--source NAME:PUBLIC_KEY_HEX"),
        (("create-market", "BTC-PERP", "--source", "src-a:abcd"), "64 hex digits"),
        (("create-market", "BTC-PERP", "--source", "no-key"), "NAME:PUBLIC_KEY_HEX"),
        (("public-key", "{bad}"), "not an Ed25519 private key"),
    ],
    ids=["unsigned", "bad-key-file", "missing-key-file", "no-source", "short-public-key", "no-colon", "public-key-of-junk"],
)
def test_missing_or_malformed_keys_are_usage_errors(served, tmp_path, argv, complaint, capsys):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    argv = tuple(a.format(bad=bad, missing=tmp_path / "missing.key") for a in argv)
    code, _, err = settle("--nodes", served.address, *argv)
    assert code == 2
    assert complaint in err + capsys.readouterr().err
    assert served.replica.submit_calls == []


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


def test_the_console_entry_point_streams_events_until_interrupted(served, key_file):
    """`settle watch` as a real process: prints the liquidation a price drop causes, and Ctrl-C
    ends it with exit code 0."""
    fake = served.replica
    nodes = ("--nodes", served.address)
    for argv in (
        ("create-market", "BTC-PERP", "--source", source_arg()),
        ("price", "BTC-PERP", "src-a", "50000", "--key-file", key_file, "--source-time-ms", "{fresh}"),
        ("deposit", "bob", "10_000_000"),
        ("deposit", "thin", "500_000"),
        ("trade", "BTC-PERP", "thin", "bob", "50000", "100"),
    ):
        assert settle(*nodes, *(a.format(fresh=fresh_ms(served)) for a in argv))[0] == 0
    watcher = subprocess.Popen(
        [sys.executable, "-m", "node.cli.cli", *nodes, "--json", "watch", "--kind", "liquidation"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while fake.subscriber_count == 0 and watcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake.subscriber_count == 1, watcher.stderr.read() if watcher.poll() is not None else "not subscribed"
        assert settle(*nodes, "price", "BTC-PERP", "src-a", "47000", "--key-file", key_file, "--source-time-ms", fresh_ms(served))[0] == 0
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


def test_watch_from_an_index_first_prints_the_events_the_node_kept(served):
    """`settle watch --from-index 1` replays what was applied before it started."""
    from node.ledger.events import Liquidation

    served.replica.commit_entry((Liquidation("thin", "BTC-PERP", 100, 47_000, 47_000, 0, 0),))
    watcher = subprocess.Popen(
        [sys.executable, "-m", "node.cli.cli", "--nodes", served.address, "--json", "watch", "--from-index", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    guard = threading.Timer(20, watcher.kill)  # bounded: a watcher that prints nothing is killed
    guard.start()
    try:
        event = json.loads(watcher.stdout.readline() or "null")
        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=10) == 0
    finally:
        guard.cancel()
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        watcher.stdout.close()
        watcher.stderr.close()
    assert event is not None, "nothing printed"
    assert (event["applied_index"], event["position"], event["kind"]) == (1, 0, "liquidation")
    assert event["liquidation"]["account"] == "thin"


def test_create_market_lists_an_option_on_a_perpetual(served, key_file):
    # docs/design.md#options: the option's terms travel from the CLI to the ledger.
    nodes = ("--nodes", served.address)
    assert settle(*nodes, "create-market", "BTC-PERP", "--source", source_arg())[0] == 0
    expiry = str(served.replica.time_ms + 30 * 86_400_000)
    code, out, _ = settle(*nodes, "create-market", "BTC-C50K", "--kind", "option", "--underlying", "BTC-PERP",
                          "--strike", "50000", "--option-type", "call", "--expiry-ms", expiry, "--source", source_arg())
    assert code == 0, out
    market = served.replica.state.markets["BTC-C50K"]
    assert (market.underlying, market.strike_price, market.option_type, market.expiry_ms) == ("BTC-PERP", 50_000, 1, int(expiry))
    assert settle(*nodes, "create-market", "BTC-P", "--kind", "option", "--source", source_arg())[0] == 2  # needs its terms
