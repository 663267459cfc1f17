"""A node's checkpoint shell without a cluster: a governed ledger committing to a real store,
with a CheckpointKeeper hooked in after every commit as the replica hooks it, a loop thread for
its votes, and fakes for what a real node would do to stop and restart itself."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

from node.checkpoint.keeper import CheckpointKeeper
from node.config import NodeConfig
from node.identity.quorum import checkpoint_vote, signed_action
from node.ledger.commands import CheckpointVote, Deposit
from node.ledger.events import CheckpointCertified, CheckpointDue
from node.ledger.records import TABLE_ACCOUNT, Account, decode_account, encode_account
from node.ledger.results import ResultCode
from node.ledger.state_hash import hash_bytes
from node.replica.emptying import empty_for_restore
from node.store import LedgerStore
from tests.ledger.driver import create_market
from tests.ledger.governance import ALL_KEYS, CLUSTER, NODES, genesis_payload
from tests.store.helpers import CommittingDriver

NODE = "node-1"
wait_s = 10.0


def wait_until(predicate: Callable[[], object], timeout_s: float = wait_s, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout_s} s")
        time.sleep(0.01)


class LoopThread:
    """An asyncio loop on a background thread: where the keeper's votes run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-votes", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(wait_s)
        self.loop.close()


def node_config(data_dir: Path, **options) -> NodeConfig:
    return NodeConfig(node_id=NODE, cluster_id=CLUSTER, grpc_address="127.0.0.1:1", raft_address="127.0.0.1:2",
                      data_dir=data_dir, raft_password="p" * 16, **options)


class Node:
    """The governed ledger of one node, its store and its keeper; votes are recorded, not sent."""

    def __init__(self, data_dir: Path, loop: LoopThread, *, key=NODES[NODE], ready: bool = True, leader: bool = False,
                 **options) -> None:
        self.config = node_config(data_dir, **options)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = LedgerStore(self.config.store_dir)
        self.driver = CommittingDriver(self.store)
        self.ready = ready
        self.votes: list[CheckpointVote] = []
        self.restarts = 0
        self.stopped = 0
        self.keeper = CheckpointKeeper(
            self.config, loop.loop, self.store, self.driver.state, node_key=key, submit_vote=self._submit_vote,
            is_leader=lambda: leader, stop_replica=self._stop, empty_for_restore=empty_for_restore, restart=self._restart,
        )

    async def _submit_vote(self, command: CheckpointVote) -> ResultCode:
        self.votes.append(command)
        return ResultCode.OK

    def _stop(self) -> None:
        self.stopped += 1
        self.keeper.close()
        self.store.close()

    def _restart(self) -> None:
        self.restarts += 1

    def run(self, *commands):
        """One entry, committed, then handed to the keeper as the replica does."""
        before = len(self.driver.events)
        results = self.driver.run(*commands)
        self.keeper.after_commit(self.driver.state, self.driver.events[before:], ready=self.ready)
        return results

    def govern(self) -> int:
        """A market, traders and the signer set; returns the first due checkpoint's index."""
        self.run(create_market())
        self.run(Deposit(self.driver.next_id("dep"), "alice", 10_000_000))
        self.run(Deposit(self.driver.next_id("dep"), "bob", 10_000_000))
        (result,) = self.run(signed_action("genesis", genesis_payload(), ALL_KEYS))
        assert result.ok, result
        return self.due_indexes()[-1]

    def due_indexes(self) -> list[int]:
        return [e.index for e in self.driver.events if isinstance(e, CheckpointDue)]

    def certified(self) -> list[CheckpointCertified]:
        return [e for e in self.driver.events if isinstance(e, CheckpointCertified)]

    @property
    def memory_hash(self) -> bytes:
        return hash_bytes(self.driver.state.state_hash)

    def peer_votes(self, index: int, state_hash: bytes, peers=("node-2", "node-3")):
        """The other nodes' votes for (index, hash), applied as one entry each."""
        for peer in peers:
            (result,) = self.run(checkpoint_vote(self.driver.next_id("vote"), CLUSTER, peer, NODES[peer], index, state_hash))
            assert result.ok, result

    def corrupt(self, account: str, delta: int) -> None:
        """Changes an account's stored collateral behind the ledger's back (a bad disk)."""
        env, dbs = self.store._live(), self.store._dbs
        with env.begin(write=True) as txn:
            account_record = decode_account(txn.get(account.encode(), db=dbs[TABLE_ACCOUNT]))
            txn.put(account.encode(), encode_account(Account(account_record.collateral + delta, account_record.status)),
                    db=dbs[TABLE_ACCOUNT])

    def close(self) -> None:
        self.keeper.close()
        self.store.close()
