"""Replacing a node through pysyncobj's dynamic membership, under load: add a fourth node, kill -9
an original follower, remove it; the new node catches up (snapshot + log), no acknowledged deposit
is lost, the cluster keeps settling; then drain the leader (leadership transfer)."""

from __future__ import annotations

import io
import threading
import time

from node.cli.cli import main as settle
from node.client.errors import SettlementError
from node.ledger.commands import Deposit

from .probe import node_status, wait_converged, wait_for_leader

compaction_entries_min = 50
accounts = [f"member-{i}" for i in range(5)]
load_s_max = 45.0  # the load thread stops by itself even if the test body fails


class Load:
    """Deposits from one thread; `acked` holds every command the cluster acknowledged (amounts by
    id), `unknown` the ones whose outcome is ambiguous (resolved by resubmitting the same id)."""

    def __init__(self, cluster, addresses: list[str]) -> None:
        self.cluster = cluster
        self.addresses = addresses
        self.acked: dict[str, Deposit] = {}
        self.unknown: dict[str, Deposit] = {}
        self.refused: list = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + load_s_max
        n = 0
        with self.cluster.client(self.addresses, timeout_s=5.0) as client:
            while not self.stop.is_set() and time.monotonic() < deadline:
                command = Deposit(f"member-dep-{n}", accounts[n % len(accounts)], n + 1)
                n += 1
                try:
                    result = client.submit_one(command)
                except SettlementError:
                    self.unknown[command.id] = command
                    time.sleep(0.05)
                    continue
                if not result.ok:
                    self.refused.append(result)
                    continue
                self.acked[command.id] = command
                time.sleep(0.01)

    def count(self) -> int:
        return len(self.acked)

    def wait_for_more(self, than: int, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count() <= than + 5:
            assert time.monotonic() < deadline, f"no progress: {self.count()} acknowledged"
            time.sleep(0.05)


def _settle(cluster, *argv: str) -> tuple[int, str]:
    """`settle ARGV` with the cluster's credentials (its keys and TLS pairs)."""
    out = io.StringIO()
    code = settle(["--credentials", str(cluster.data_dir), *argv], out=out, err=out)
    return code, out.getvalue()


def test_replace_a_killed_node_under_load_then_drain_the_leader(make_cluster):
    cluster = make_cluster(nodes=3, raft_tuning={"log_compaction_entries_min": compaction_entries_min})
    leader = wait_for_leader(cluster)
    assert cluster.install_genesis()
    nodes = ",".join(cluster.grpc_addresses)
    with cluster.client(cluster.grpc_addresses) as client:
        for n in range(3 * compaction_entries_min):  # enough entries for the nodes to compact
            client.submit([Deposit(f"pre-{n}", accounts[n % len(accounts)], 1)])
    expected = {a: 3 * compaction_entries_min // len(accounts) for a in accounts}

    load = Load(cluster, list(cluster.grpc_addresses))
    load.thread.start()
    try:
        load.wait_for_more(0)
        new = cluster.add_spec()
        code, text = _settle(cluster, "cluster", "add-node", "--node-id", new.node_id, "--raft", new.raft_address,
                             "--grpc", new.grpc_address, "--nodes", nodes)
        assert code == 0, text
        assert new.raft_address in text
        cluster.start(new.number)
        deadline = time.monotonic() + 30
        while True:  # the new node serves: caught up with the leader and ready
            status = node_status(new.grpc_address)
            if status is not None and status.ready and status.leader:
                break
            assert time.monotonic() < deadline, cluster.log_tail(new.number)
            time.sleep(0.1)
        load.wait_for_more(load.count())

        victim = next(s.number for s in cluster.specs[:3] if s.number != leader)
        cluster.kill(victim)
        victim_raft = cluster.specs[victim - 1].raft_address
        alive = [s.number for s in cluster.specs if s.number != victim]
        alive_nodes = ",".join(cluster.specs[n - 1].grpc_address for n in alive)
        code, text = _settle(cluster, "cluster", "remove-node", "--raft", victim_raft, "--nodes", alive_nodes)
        assert code == 0, text
        assert victim_raft not in text
        code, text = _settle(cluster, "cluster", "remove-node", "--raft", victim_raft, "--nodes", alive_nodes)
        assert code == 1 and "refused by pysyncobj" in text, text  # not a member any more
        load.wait_for_more(load.count())  # the cluster keeps settling with the new membership
    finally:
        load.stop.set()
        load.thread.join(timeout=30)
    assert not load.thread.is_alive()
    assert load.refused == []

    statuses = wait_converged(cluster, alive, timeout_s=30)
    assert statuses[new.number].applied_index == statuses[leader].applied_index
    assert statuses[new.number].state_hash == statuses[leader].state_hash
    assert "installed snapshot" in (cluster.node_dir(new.number) / "node.log").read_text()
    assert statuses[new.number].signer_set_problem == ""  # the snapshot brought the signer set, and status says so
    leader_status = next(s for s in statuses.values() if s.role == s.Role.LEADER)
    assert {p.node_id for p in leader_status.peers} == {cluster.specs[n - 1].node_id for n in alive} - {leader_status.node_id}

    with cluster.client([cluster.specs[n - 1].grpc_address for n in alive]) as client:
        for command in load.unknown.values():  # ambiguous outcomes: the same id again, exactly once
            assert client.submit_one(command).ok
        for command in list(load.acked.values()) + list(load.unknown.values()):
            expected[command.account] += command.amount
        balances = {a: client.get_account(a, consistency="linearizable").collateral for a in accounts}
    assert balances == expected
    assert load.count() > 20

    # Drain: the leader stops taking writes and hands leadership to a caught-up follower.
    leader = wait_for_leader(cluster, among=alive)
    code, text = _settle(cluster, "node", "drain", "--node", cluster.specs[leader - 1].grpc_address)
    assert code == 0, text
    new_leader = wait_for_leader(cluster, among=alive)
    assert new_leader != leader
    with cluster.client([cluster.specs[n - 1].grpc_address for n in alive]) as client:
        assert client.submit_one(Deposit("after-drain", accounts[0], 1)).ok
