"""The cluster under test and the faults made to it.

`ChaosCluster` is a LocalCluster whose node i runs inside its own network namespace (address
10.213.0.i, network.py) when the harness owns a topology, and logs outside its data directory (so
a power cut does not eat the evidence). Its nodes compact their Raft logs as production does
(node/config.py RaftTuning) unless the run asks for other tuning; the checker replays from a
certified checkpoint (replay.py).

`Injector` makes one fault at a time on it and undoes it: kill (SIGKILL, later restart on the same
data), pause (SIGSTOP .. SIGCONT), partition (isolate a node, split majority/minority, or a
bridge where two nodes cannot see each other but a third sees both), restart (SIGKILL every node,
start them), powercut (the same, and every unsynced write is lost: powercut_fs.py), corrupt
(flip bytes in a stopped node's LMDB data file or Raft journal, then start it: it must refuse or
recover, never serve damaged state; one that refuses is restored from its peers as an operator
would: its state emptied, its config and its Raft term and vote kept).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cluster.chaos.history import FaultRecord
from cluster.chaos.load import make_client
from cluster.chaos.network import Topology, node_host
from cluster.chaos.powercut_fs import PowercutMount
from cluster.chaos.schedule import Fault
from cluster.local import LocalCluster
from cluster.ports import NodeSpec, metrics_port_offset, node_port_offsets, raft_port_offset
from node.api.settlement.v1 import cluster_pb2
from node.replica.emptying import empty_for_restore

status_timeout_s = 2.0
refusal_watch_s = 6.0  # how long a started corrupted node is watched for refusing to run
catch_up_timeout_s = 10.0  # then how long it may take to be ready and caught up
corrupt_bytes = 8
healthy_lag_entries = 50
restore_precondition_s = 60.0  # how long a restore waits for the other nodes to be caught up
restore_catch_up_s = 300.0  # how long a restored node may take to hold everything committed again


class UnsafeRestore(RuntimeError):
    """Emptying this node's data dir now could lose committed entries (see restore_from_peers)."""


class ChaosCluster(LocalCluster):
    def __init__(self, data_dir: Path, nodes: int, base_port: int, log_dir: Path, topology: Topology | None,
                 raft_tuning: dict[str, int] | None = None) -> None:
        super().__init__(data_dir, nodes=nodes, base_port=base_port, raft_tuning=raft_tuning)
        self.topology = topology
        self.restoring: set[int] = set()  # nodes emptied by restore_from_peers, not caught up yet
        self.damaged: set[int] = set()  # corrupted nodes left stopped (no safe restore then)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if topology is not None:
            self.specs = [NodeSpec(s.number, s.node_id, node_host(s.number), s.grpc_port, s.raft_port, s.metrics_port)
                          for s in self.specs]

    def log_path(self, number: int) -> Path:
        return self.log_dir / f"node{number}.log"

    def start(self, number: int | None = None) -> None:
        """LocalCluster.start, inside the node's namespace (`ip netns exec` execs: the pid stays
        the node's, so signals reach it), logging to log_dir."""
        for spec in self.specs if number is None else [self.specs[number - 1]]:
            if spec.number in self.processes and self.processes[spec.number].poll() is None:
                continue
            prefix = self.topology.exec_prefix(spec.number) if self.topology else []
            with open(self.log_path(spec.number), "ab") as log_file:
                process = subprocess.Popen(
                    [*prefix, sys.executable, "-m", "node.main", "--config", str(self.config_path(spec.number))],
                    stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
            self.processes[spec.number] = process

    def log_tail(self, number: int, lines: int = 30) -> str:
        path = self.log_path(number)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def cont_all(self) -> None:
        for number in list(self.processes):
            self.kill(number, signal.SIGCONT)

    def statuses(self) -> dict[int, cluster_pb2.ClusterStatus | None]:
        answers: dict[int, cluster_pb2.ClusterStatus | None] = {}
        with make_client(self.data_dir, self.grpc_addresses, "auditor", timeout_s=status_timeout_s) as client:
            by_address = dict(client.statuses())
        for spec in self.specs:
            answer = by_address.get(spec.grpc_address)
            answers[spec.number] = answer if isinstance(answer, cluster_pb2.ClusterStatus) else None
        return answers

    def leader(self) -> int | None:
        for number, status in self.statuses().items():
            if status is not None and status.ready and status.role == cluster_pb2.ClusterStatus.Role.LEADER:
                return number
        return None

    def wait_for_leader(self, timeout_s: float) -> int | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            leader = self.leader()
            if leader is not None:
                return leader
            time.sleep(0.2)
        return None

    def _still_restoring(self, exclude: int) -> bool:
        """Whether a node restored earlier (other than `exclude`) has not caught up yet. A node
        that was only killed, paused or cut off keeps its log: it does not count."""
        if not self.restoring - {exclude}:
            return False
        statuses = self.statuses()
        top = max((s.applied_index for s in statuses.values() if s is not None), default=0)
        for number in list(self.restoring):
            status = statuses.get(number)
            if status is not None and status.ready and top - status.applied_index <= healthy_lag_entries:
                self.restoring.discard(number)
        return bool(self.restoring - {exclude})

    def healthy(self, exclude: int | None = None, lag_max: int = healthy_lag_entries) -> bool:
        """Every node (but `exclude`) answers, is ready and within `lag_max` entries of the
        highest applied index."""
        statuses = {n: s for n, s in self.statuses().items() if n != exclude}
        if not statuses or any(s is None or not s.ready for s in statuses.values()):
            return False
        top = max(s.applied_index for s in statuses.values())
        return all(top - s.applied_index <= lag_max for s in statuses.values())

    def wait_healthy(self, timeout_s: float, exclude: int | None = None) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.healthy(exclude):
                return True
            time.sleep(0.5)
        return False

    def restore_from_peers(self, number: int) -> None:
        """What the README tells an operator: stop the node, empty it (`settle node reset`: its
        term and vote stay), start it.

        Only while no other restored node is still catching up: Raft assumes no node forgets what it
        persisted, and an emptied node has forgotten its log. Emptying one node while
        another is still catching up (after its own restore) leaves a majority without the
        committed log, which then elects a leader that never had it: the first 3-node `make chaos`
        run (seed 2026) lost 124,401 acknowledged commands exactly so."""
        deadline = time.monotonic() + restore_precondition_s
        while self._still_restoring(exclude=number):
            if time.monotonic() > deadline:
                raise UnsafeRestore(f"node{number} not restored: node(s) {sorted(self.restoring)} restored earlier "
                                    f"do not hold everything committed yet")
            time.sleep(0.5)
        self.kill(number)
        self.restoring.add(number)
        self.damaged.discard(number)
        node_dir = self.node_dir(number)
        emptied = node_dir.with_name(node_dir.name + ".emptied")
        # As `settle node reset` does: the state goes (here for good), the Raft term and vote stay.
        empty_for_restore(node_dir, emptied)
        shutil.rmtree(emptied)
        self.start(number)


def spare_base_port(nodes: int) -> int:
    """A random base port whose node ports (gRPC, Raft, metrics, health) are free on 127.0.0.1
    (no namespaces); random, so concurrent runs rarely even try the same block."""
    import socket

    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20_000, 40_000, 200)
        ports = [base + offset + i for offset in node_port_offsets for i in range(1, nodes + 1)]
        try:
            for port in ports:
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range on 127.0.0.1")


def flip_bytes(path: Path, salt: int, count: int = corrupt_bytes, skip: int = 0) -> list[int]:
    """Invert `count` bytes of `path` at offsets drawn from `salt` past its first `skip` bytes;
    synced, so a power cut does not undo the damage. Returns the offsets."""
    size = path.stat().st_size
    rng = random.Random(salt)
    offsets = sorted(rng.randrange(min(skip, size - 1), size) for _ in range(count))
    with open(path, "r+b") as f:
        for offset in offsets:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0xFF]))
        f.flush()
        os.fsync(f.fileno())
    return offsets


journal_first_record = 40  # pysyncobj 0.3.17's journal header: name, version, format, last offset
journal_last_offset_at = 36


def journal_end(path: Path) -> int:
    """The end of the journal's records (its header keeps it at byte 36, a little-endian u32)."""
    with open(path, "rb") as f:
        header = f.read(journal_first_record)
    return int.from_bytes(header[journal_last_offset_at:journal_first_record], "little") if len(header) == journal_first_record else 0


@dataclass
class Active:
    fault: Fault
    record: FaultRecord
    targets: list[int]
    undo: object  # a callable


class Injector:
    def __init__(self, cluster: ChaosCluster, mount: PowercutMount | None, t0: float, say=print) -> None:
        self.cluster = cluster
        self.mount = mount
        self.t0 = t0
        self.say = say

    def _now(self) -> float:
        return round(time.time() - self.t0, 3)

    def _resolve(self, fault: Fault, leader: int | None, taken: set[int]) -> int:
        nodes = len(self.cluster.specs)
        if fault.target == "leader" and leader is not None and leader not in taken:
            return leader
        number = fault.target if isinstance(fault.target, int) else fault.salt % nodes + 1
        while number in taken:
            number = number % nodes + 1
        return number

    def inject(self, fault: Fault, leader: int | None, taken: set[int]) -> Active:
        """Start `fault`; the returned Active's undo() heals it."""
        cluster = self.cluster
        numbers = [s.number for s in cluster.specs]
        target = self._resolve(fault, leader, taken)
        record = FaultRecord(fault.kind, self._now(), 0.0, [], fault.variant)
        if fault.kind == "kill":
            cluster.kill(target)
            record.targets, record.leader_lost = [f"node{target}"], target == leader
            return Active(fault, record, [target], lambda: cluster.start(target))
        if fault.kind == "pause":
            cluster.kill(target, signal.SIGSTOP)
            record.targets, record.leader_lost = [f"node{target}"], target == leader
            return Active(fault, record, [target], lambda: cluster.kill(target, signal.SIGCONT))
        if fault.kind == "partition":
            topology = cluster.topology
            assert topology is not None, "partitions need the harness's namespaces"
            others = [n for n in numbers if n != target]
            if fault.variant == "split" and len(numbers) >= 5:
                minority = [target, others[fault.salt % len(others)]]
                groups = [minority, [n for n in numbers if n not in minority]]
                topology.partition(groups)
                record.detail = f"split {minority} | {groups[1]}"
            elif fault.variant == "split":  # 3 nodes: a bridge, target and one other cannot talk
                other = others[fault.salt % len(others)]
                topology.cut(target, other)
                groups = [[target], [other]]
                record.detail = f"bridge: node{target} x node{other}, the third sees both"
            else:
                groups = [[target], others]
                topology.partition(groups)
                record.detail = f"isolate node{target}"
            record.targets = [f"node{n}" for n in groups[0]]
            record.leader_lost = leader in groups[0] if fault.variant != "split" or len(numbers) >= 5 else False
            return Active(fault, record, list(groups[0]), topology.heal)
        if fault.kind in ("restart", "powercut"):
            cluster.kill_all()
            if fault.kind == "powercut":
                if self.mount is None:
                    raise RuntimeError("powercut without the powercut filesystem")
                self.mount.power_cut()  # nodes are dead: now their unsynced writes go too
            record.targets, record.leader_lost = [f"node{n}" for n in numbers], True
            return Active(fault, record, numbers, lambda: cluster.start())
        if fault.kind == "corrupt":
            cluster.kill(target)
            node_dir = cluster.node_dir(target)
            if fault.variant == "journal" and (node_dir / "raft.journal").exists():
                path = node_dir / "raft.journal"
                offsets = flip_within(path, fault.salt, journal_first_record, journal_end(path))
            else:
                path = node_dir / "ledger" / "data.mdb"
                offsets = flip_bytes(path, fault.salt, skip=2 * 4096)  # past LMDB's two meta pages
            record.targets, record.leader_lost = [f"node{target}"], target == leader
            record.detail = f"{path.name} bytes at {offsets}"
            return Active(fault, record, [target], lambda: self._start_corrupted(target, record))
        raise ValueError(f"unknown fault kind {fault.kind}")

    def _start_corrupted(self, number: int, record: FaultRecord) -> None:
        """Start the damaged node; if it refuses to run, restore it from its peers."""
        cluster = self.cluster
        cluster.start(number)
        deadline = time.monotonic() + refusal_watch_s
        while time.monotonic() < deadline and cluster.alive(number):
            time.sleep(0.2)
        if cluster.alive(number):
            if self._catches_up(number, catch_up_timeout_s):
                record.detail += "; node started and caught up"
                return
            # Running but stuck: the damage was not detected at start (the journal has no
            # checksums, node/replica/journal.py) and applying the damaged entry fails on every
            # tick. An operator restores it once the lag alert fires; the report counts these.
            record.detail += f"; STALLED: running but not caught up within {catch_up_timeout_s:.0f} s " \
                             f"(damage not detected at start); restored from peers"
            record.stalled = True
            self._restore(number, record)
            return
        code = cluster.processes[number].returncode
        last = [line for line in cluster.log_tail(number, 40).splitlines() if "STOPPING" in line or "Error" in line or "refus" in line]
        record.detail += f"; refused to start (exit {code}: {last[-1][:160] if last else 'no reason logged'}); restored from peers"
        self._restore(number, record)

    def _restore(self, number: int, record: FaultRecord) -> None:
        """Restore from peers, then wait until the node holds everything committed again: until then a
        further restore would not be safe, and the report's recovery time includes it."""
        try:
            self.cluster.restore_from_peers(number)
        except UnsafeRestore as error:
            record.detail += f"; {error}: left stopped"
            self.cluster.damaged.add(number)  # its refusals later are the corruption's, not a finding
            self.say(str(error))
            return
        if not self._catches_up(number, restore_catch_up_s):
            record.detail += f"; not caught up {restore_catch_up_s:.0f} s after the restore"

    def _catches_up(self, number: int, timeout_s: float) -> bool:
        """Whether node `number` becomes ready and reaches the applied index its peers had."""
        deadline = time.monotonic() + timeout_s
        target = None
        while time.monotonic() < deadline:
            statuses = self.cluster.statuses()
            if target is None:
                others = [s.applied_index for n, s in statuses.items() if n != number and s is not None]
                target = max(others) if others else None
            own = statuses.get(number)
            if target is not None and own is not None and own.ready and own.applied_index >= target:
                return True
            if not self.cluster.alive(number):
                return False
            time.sleep(0.5)
        return False

    def heal(self, active: Active) -> None:
        active.undo()
        active.record.end_s = self._now()


def flip_within(path: Path, salt: int, start: int, end: int) -> list[int]:
    """Invert bytes at offsets drawn from `salt` in [start, end) (the journal's records), synced."""
    rng = random.Random(salt)
    offsets = sorted(rng.randrange(start, max(start + 1, end)) for _ in range(corrupt_bytes))
    with open(path, "r+b") as f:
        for offset in offsets:
            f.seek(offset)
            byte = f.read(1) or b"\0"
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0xFF]))
        f.flush()
        os.fsync(f.fileno())
    return offsets
