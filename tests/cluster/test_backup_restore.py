"""A follower backed up under load, killed, emptied (settle node reset) and restored from the
backup rejoins the cluster and converges; without the restore marker the same data dir is
refused at start."""

from __future__ import annotations

import io
import time

from node.backup.format import read_header
from node.backup.restore import RESTORED_MARKER
from node.cli.cli import main as settle
from node.client.sdk import LOCAL
from node.exit_codes import NodeExit
from node.ledger.commands import Deposit
from node.ledger.results import ResultCode

from .probe import node_status, wait_converged, wait_for_leader
from .workload import BackgroundLoad, assert_applied_exactly_once

refused_exit_code = NodeExit.REFUSED


def _settle(cluster, *argv: str) -> tuple[int, str]:
    """`settle ARGV` with the cluster's credentials (its keys and TLS pairs)."""
    out = io.StringIO()
    code = settle(["--credentials", str(cluster.data_dir), *argv], out=out, err=out)
    return code, out.getvalue()


def test_a_restored_follower_rejoins_and_converges(make_cluster, tmp_path):
    cluster = make_cluster(nodes=3)
    leader = wait_for_leader(cluster)
    follower = next(s.number for s in cluster.specs if s.number != leader)
    address = cluster.specs[follower - 1].grpc_address
    backup = tmp_path / "follower.backup"
    with cluster.client(cluster.grpc_addresses) as client:
        load = BackgroundLoad(client, "bk", batches_max=3_000, batch_size=20, seconds_max=15)
        deadline = time.monotonic() + 10  # let some of the load apply first, then back up in the middle of it
        while time.monotonic() < deadline and getattr(node_status(address), "applied_index", 0) < 40:
            time.sleep(0.1)
        code, output = _settle(cluster, "backup", "--node", address, "--out", str(backup))
        assert code == 0, output
        header, _ = read_header(backup)
        assert header.applied_index > 0 and f"applied index {header.applied_index}" in output

        cluster.kill(follower)
        node_dir = cluster.node_dir(follower)
        code, output = _settle(cluster, "restore", str(backup), "--data-dir", str(node_dir))
        assert code == 1 and "already holds node state" in output, output
        code, output = _settle(cluster, "node", "reset", "--data-dir", str(node_dir))
        assert code == 0 and "kept its Raft term" in output, output
        code, output = _settle(cluster, "restore", str(backup), "--data-dir", str(node_dir))
        assert code == 0, output

        # The rule: a store ahead of an absent journal is refused unless a restore marked it.
        marker = node_dir / RESTORED_MARKER
        marker.rename(tmp_path / "marker")
        cluster.start(follower)
        assert cluster.processes[follower].wait(timeout=20) == refused_exit_code
        assert "acknowledged entries were lost" in cluster.log_tail(follower)
        (tmp_path / "marker").rename(marker)

        cluster.start(follower)
        time.sleep(1)  # the load goes on while the restored node catches up, then stops
        record = load.finish(stop=True)
        assert not record.failures, record.failures[:3]
        for n in range(5):  # entries after the load, so the restored node is surely caught up past them
            client.submit([Deposit(f"bk-after-{n}", "bk-after", 1)])
        statuses = wait_converged(cluster, timeout_s=40)
        assert record.highest_index > header.applied_index  # the load went on after the backup
        assert statuses[follower].applied_index > header.applied_index
        assert "restored from a backup" in (node_dir / "node.log").read_text()

        # Every acknowledged deposit is on the restored node itself, read locally there.
        deposits = [c for c, r in record.acknowledged if isinstance(c, Deposit) and r.code == ResultCode.OK]
        assert len(deposits) > 100
        for command in deposits[:: max(1, len(deposits) // 40)]:
            account = client.get_account(command.account, LOCAL, address=address)
            assert account.collateral == command.amount, (command, account)
        assert_applied_exactly_once(client, record)
    assert wait_converged(cluster, timeout_s=20)[follower].ready
