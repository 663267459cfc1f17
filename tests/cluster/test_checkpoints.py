"""Checkpoints on a real 3-node cluster: certified while a load runs, all nodes agreeing; a
follower whose LMDB is corrupted behind its back is caught at the next checkpoint, fenced (it
serves nothing, says so in Status) while the other two keep settling, and restores itself from
its peers to the certified state."""

from __future__ import annotations

import time

import grpc
import lmdb

from node.api.settlement.v1 import cluster_pb2, settlement_pb2, settlement_pb2_grpc, state_pb2
from node.ledger.records import TABLE_ACCOUNT, Account, decode_account, encode_account
from node.store.layout import sub_databases_max

from .probe import channel, node_status, wait_converged, wait_for_leader
from .workload import BackgroundLoad

# A checkpoint every 40 entries or half a second of ledger time, so several fit in the test.
POLICY = {"checkpoint_every_entries": 40, "checkpoint_every_ms": 500}
# A fenced follower waits this long before it restores itself: long enough to watch it fenced.
RECOVERY_DELAY_MS = 3_000
IDLE = "idle-account"  # deposited once, never touched again: its stored record only changes if the disk lies
IDLE_AMOUNT = 777_000
certificates_wanted = 3
phase_timeout_s = 15.0


def checkpoint_of(address: str) -> state_pb2.Checkpoint | None:
    try:
        with channel(address) as node_channel:
            return settlement_pb2_grpc.SettlementStub(node_channel).GetCheckpoint(settlement_pb2.GetCheckpointRequest(), timeout=2)
    except grpc.RpcError:
        return None


def local_read_error(address: str) -> grpc.RpcError:
    request = settlement_pb2.GetAccountRequest(account=IDLE, consistency=settlement_pb2.LOCAL)
    with channel(address) as node_channel:
        try:
            settlement_pb2_grpc.SettlementStub(node_channel).GetAccount(request, timeout=2)
        except grpc.RpcError as error:
            return error
    raise AssertionError(f"{address} served a read while fenced")


def wait_for(what: str, probe, timeout_s: float = phase_timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def corrupt_collateral(ledger_dir, account: str, delta: int) -> None:
    """What a bad disk does: one stored account's collateral changes; the node's memory does not."""
    env = lmdb.open(str(ledger_dir), max_dbs=sub_databases_max)
    try:
        table = env.open_db(TABLE_ACCOUNT, create=False)
        with env.begin(write=True) as txn:
            stored = decode_account(txn.get(account.encode(), db=table))
            txn.put(account.encode(), encode_account(Account(stored.collateral + delta, stored.status)), db=table)
    finally:
        env.close()


def test_checkpoints_certify_under_load_and_a_corrupted_follower_is_fenced_then_restored(make_cluster):
    cluster = make_cluster(nodes=3, policy=POLICY, extra_config={"divergence_recovery_delay_ms": RECOVERY_DELAY_MS},
                           raft_tuning={"log_compaction_entries_min": 500})
    wait_for_leader(cluster)
    assert cluster.install_genesis()
    addresses = {s.number: s.grpc_address for s in cluster.specs}
    with cluster.client(cluster.grpc_addresses) as client:
        assert client.deposit(IDLE, IDLE_AMOUNT, id="idle-deposit").ok
        load = BackgroundLoad(client, "cp", batches_max=100_000, batch_size=5, seconds_max=45)
        try:
            # 1. Certified while the load runs: increasing indexes, the same hash on every node, and
            #    every node's own hash matched a certificate.
            seen: dict[int, set[bytes]] = {}

            def certificates():
                for address in addresses.values():
                    checkpoint = checkpoint_of(address)
                    if checkpoint is not None:
                        seen.setdefault(checkpoint.index, set()).add(checkpoint.state_hash)
                return len(seen) >= certificates_wanted

            wait_for(f"{certificates_wanted} certified checkpoints", certificates)
            assert all(len(hashes) == 1 for hashes in seen.values()), seen
            first = min(seen)
            wait_for("every node to match a certificate",
                     lambda: all((node_status(a) or cluster_pb2.ClusterStatus()).verified_checkpoint_index >= first
                                 for a in addresses.values()))

            # 2. Corrupt a follower's store behind its back.
            leader = wait_for_leader(cluster)
            victim = next(n for n in addresses if n != leader)
            corrupt_collateral(cluster.node_dir(victim) / "ledger", IDLE, 1_000_000)
            fenced = wait_for("the corrupted follower to fence itself",
                              lambda: (s := node_status(addresses[victim])) is not None and s.diverged and s)
            assert "store check" in fenced.diverged_reason and not fenced.ready
            error = local_read_error(addresses[victim])
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and error.details().startswith("diverged")
            # The other two keep settling (the SDK goes past the fenced node).
            progress = [client.deposit("after-fence", 1, id=f"after-fence-{n}") for n in range(5)]
            assert all(r.ok for r in progress)
            assert (node_status(addresses[victim]) or fenced).diverged  # still fenced meanwhile

            # 3. It moves its data aside, restarts empty, is restored by its peers and matches the
            #    next certificate with its own hash.
            restored = wait_for("the follower to restore itself and match a later certificate", lambda: (
                (s := node_status(addresses[victim])) is not None and s.ready and not s.diverged
                and s.verified_checkpoint_index > fenced.applied_index and s), timeout_s=30)
            assert len(restored.diverged_copies) == 1 and restored.diverged_copies[0].startswith(f"node{victim}.diverged-")
            assert (cluster.data_dir / restored.diverged_copies[0] / "ledger").is_dir()  # kept for forensics
        finally:
            record = load.finish(stop=True)
        assert record.acknowledged and not record.failures, record.failures[:3]
        wait_converged(cluster)
        account = client.get_account(IDLE, "local", address=addresses[victim])
        assert account.collateral == IDLE_AMOUNT
    log = (cluster.node_dir(victim) / "node.log").read_text()
    assert "NODE DIVERGED" in log and "restarting empty" in log
