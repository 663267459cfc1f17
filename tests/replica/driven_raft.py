"""A LedgerRaft built exactly as the node builds it (its journal, its overrides), but driven by
the test: no tick thread (the test calls `tick`), messages handed in as a peer would send them,
and its own messages recorded instead of sent. Deterministic: nothing runs between two calls.

pysyncobj's message handler and transport are private names; tests may use them, the node may
not (tests/test_layers.py).
"""

from __future__ import annotations

import functools
import socket
from pathlib import Path

from pysyncobj import SyncObjConf
from pysyncobj.node import TCPNode
from pysyncobj.pickle import dumps

import node.replica.raft as raft_module
from node.config import NodeConfig, Peer
from node.replica.raft import LedgerRaft
from node.replica.snapshot_writer import SnapshotProgress

REGULAR_COMMAND = 0  # pysyncobj's _COMMAND_TYPE.REGULAR: a call of a @replicated method
MEMBERSHIP_COMMAND = 2  # _COMMAND_TYPE.MEMBERSHIP: ('add' | 'rem', node id)


def loopback_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def node_config(data_dir: Path, peers: tuple[str, ...]) -> NodeConfig:
    return NodeConfig(node_id="node2", cluster_id="driven", grpc_address="127.0.0.1:1",
                      raft_address=loopback_address(), data_dir=data_dir, raft_password="p" * 16,
                      peers=tuple(Peer(f"peer{i}", "127.0.0.1:1", address) for i, address in enumerate(peers)))


class DrivenRaft:
    def __init__(self, config: NodeConfig, monkeypatch) -> None:
        self.config = config
        self.applied: list[tuple[int, bytes]] = []
        self.snapshots_started = 0  # calls of the serializer hook: pysyncobj compacting its log
        self.sent: list[tuple[str, dict]] = []
        config.data_dir.mkdir(parents=True, exist_ok=True)  # as the replica does
        with monkeypatch.context() as patch:
            patch.setattr(raft_module, "SyncObjConf", functools.partial(SyncObjConf, autoTick=False))
            self.raft = LedgerRaft(config, self._apply, self._snapshot, lambda *_: None, lambda: None,
                                   snapshot_progress=lambda: SnapshotProgress.IDLE, may_apply=lambda: True)
        self.raft._SyncObj__transport.send = self._record

    def _apply(self, index: int, data: bytes) -> None:
        self.applied.append((index, data))

    def _snapshot(self, *_) -> None:
        self.snapshots_started += 1

    def _record(self, node, message: dict) -> bool:
        self.sent.append((node.id, message))
        return True

    def command(self, payload: bytes) -> bytes:
        """The log command of `apply_entry(payload)`, as a leader logs it."""
        function_id = self.raft._methodToID["apply_entry_v0"]
        return bytes([REGULAR_COMMAND]) + dumps((function_id, (payload,)))

    def receive(self, sender: str, message: dict) -> None:
        self.raft._SyncObj__onMessageReceived(TCPNode(sender), message)

    def tick(self) -> None:
        self.raft.doTick()

    def log(self) -> list[tuple[int, int]]:
        """(index, term) of every entry of the log in memory."""
        journal = self.raft.journal
        return [(journal[i][1], journal[i][2]) for i in range(len(journal))]

    def replies(self, to: str, kind: str) -> list[dict]:
        return [message for address, message in self.sent if address == to and message["type"] == kind]

    def close(self) -> None:
        self.raft.destroy()  # no tick thread: closes the transport and the journal at once
