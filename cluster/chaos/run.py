"""`python -m cluster chaos`: a fresh cluster, a bounded load, faults from a seed, a verdict.

    python -m cluster chaos --nodes 3|5 --duration S --seed N --out DIR \\
        --faults kill,pause,partition,restart,powercut,corrupt [--simultaneous 2]

As root with `ip netns`, the command first creates its namespaces (network.py), then runs itself
again inside the hub namespace (`ip netns exec`), and removes the namespaces (and anything still
running in them) when that ends, however it ends. Inside, it mounts the power-cut filesystem when
powercut is asked for, starts the nodes, installs the genesis signer set, lists the market, starts
the client processes, and makes the schedule's faults until the load's time is up; then it heals
everything, waits (bounded) for one applied index and state hash, closes the run with a certified
checkpoint, stops the nodes, reads their stores, replays the log from a certified checkpoint
(replay.py), checks the history and writes the report. A fault that cannot be made here (no root,
no FUSE) is dropped loudly: printed and written into the report's notes.

The nodes compact their Raft logs as in production (node/config.py RaftTuning), or every N
entries with --compact-every N. A run whose policy would forget dedup records before the run can
end is refused (checker.retention_problem).

Exit status: 0 PASS, 1 FAIL, 2 the run could not be made.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cluster.chaos import load as chaos_load
from cluster.chaos.checker import check, retention_problem
from cluster.chaos.faults import ChaosCluster, Injector, UnsafeRestore, spare_base_port
from cluster.chaos.history import FaultRecord, NodeView, read_ops
from cluster.chaos.network import Topology, netns_available, remove_leftovers
from cluster.chaos.nodes import count_log_lines, read_view
from cluster.chaos.powercut_fs import PowercutMount, fuse_available
from cluster.chaos.replay import BASE_CHECKPOINT, Replay, replay_nodes
from cluster.chaos.report import write_report
from cluster.chaos.schedule import KINDS, make_schedule, parse_kinds
from node.identity.signer_set import read_signer_set
from node.ledger.commands import Deposit

HUB_ENV = "SETTLE_CHAOS_HUB"  # set inside the hub namespace: the owner pid of the topology
netns_base_port = 7000
clients_default = 3
leader_wait_s = 60.0
recovery_leader_wait_s = 30.0
converge_timeout_s = 90.0
warmup_s = 3.0  # steady load before the first fault
quiet_tail_s = 4.0  # no new fault this close to the load's end
client_grace_s = 30.0  # beyond the load's end, before a client is killed
progress_every_s = 5.0
healthy_wait_s = 60.0  # before a corrupt step: every node ready and caught up
# The closing checkpoint (see _close_with_checkpoint): one deposit of closing_deposit_amount into
# closing_account every closing_deposit_every_s until a checkpoint above the load is certified,
# within closing_timeout_s; tried again after a restart of the nodes, up to closing_attempts_max
# times, while no journal reaches back to it (a compaction came in between).
closing_account = "closing"
closing_deposit_amount = 1
closing_deposit_every_s = 1.0
closing_timeout_s = 60.0
closing_attempts_max = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nodes", type=int, default=3, choices=(3, 5))
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load with faults")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, help="directory for the cluster, logs, history and report")
    parser.add_argument("--faults", default="kill,pause,partition,restart,powercut",
                        help=f"comma-separated, of {','.join(KINDS)}")
    parser.add_argument("--simultaneous", type=int, default=1, choices=(1, 2), help="faults at a time (2: pairs on different nodes)")
    parser.add_argument("--clients", type=int, default=clients_default)
    parser.add_argument("--min-cycles", type=int, default=0, help="FAIL if fewer fault cycles were made")
    parser.add_argument("--compact-every", type=int, default=0,
                        help="make pysyncobj compact its log every N entries (N >= 2; exercises compaction and "
                             "snapshot installs); 0: as in production (node/config.py RaftTuning)")


def longest_run_s(duration_s: float) -> float:
    """How long a run of `duration_s` seconds of load can last at most, from the genesis to the
    last entry: the load, the clients' grace, convergence and every closing attempt."""
    closing = closing_attempts_max * (leader_wait_s + closing_timeout_s + converge_timeout_s)
    return warmup_s + duration_s + client_grace_s + converge_timeout_s + closing


def main(args: argparse.Namespace, argv: list[str]) -> int:
    if args.compact_every and args.compact_every < 2:
        print("--compact-every must be at least 2 entries (pysyncobj's bound)", file=sys.stderr)
        return 2
    kinds = list(parse_kinds(args.faults))
    unknown = set(kinds) - set(KINDS)
    if unknown or not kinds:
        print(f"unknown fault kinds {sorted(unknown)}; choose from {','.join(KINDS)}", file=sys.stderr)
        return 2
    if os.environ.get(HUB_ENV):
        topology = Topology(args.nodes, owner_pid=int(os.environ[HUB_ENV]))
        return run(args, kinds, topology, [])
    reason = netns_available()
    if reason:
        notes = []
        if "partition" in kinds:
            kinds.remove("partition")
            notes.append(f"partition SKIPPED: {reason}")
            print(f"chaos: WARNING: {notes[-1]}", file=sys.stderr, flush=True)
        return run(args, kinds, None, notes)
    return _in_hub(args, argv)


def _in_hub(args: argparse.Namespace, argv: list[str]) -> int:
    """Create the namespaces, run this command again inside the hub, always remove them."""
    leftovers = remove_leftovers()
    if leftovers:
        print(f"chaos: removed namespaces left by earlier runs: {leftovers}", flush=True)
    topology = Topology(args.nodes)
    child: subprocess.Popen | None = None

    def forward(signum, frame) -> None:
        # Ctrl-C reaches the child from the terminal itself; anything else is passed on as SIGTERM.
        if child is not None and child.poll() is None and signum == signal.SIGTERM:
            child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        topology.create()
        env = dict(os.environ, **{HUB_ENV: str(topology.owner_pid)})
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "grpc_proxy"):
            env.pop(proxy, None)  # nothing in the namespaces can reach a proxy
        child = subprocess.Popen([*topology.exec_prefix(), sys.executable, "-m", "cluster", "chaos", *argv], env=env)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        topology.remove()  # kills whatever still runs inside, deletes the namespaces
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Progress:
    """One line every few seconds: elapsed, cycles done, acknowledged so far, current fault."""

    def __init__(self, out: Path, t0: float) -> None:
        self.out = out
        self.t0 = t0
        self.cycles = 0
        self.current = "none"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def acked(self) -> int:
        total = 0
        for path in self.out.glob("ops-*.jsonl"):
            try:
                total += path.read_bytes().count(b'"outcome":"ok"')
            except OSError:
                pass
        return total

    def line(self) -> str:
        return f"[{time.time() - self.t0:7.1f} s] cycles {self.cycles}  acked {self.acked()}  fault: {self.current}"

    def _run(self) -> None:
        while not self._stop.wait(progress_every_s):
            print(self.line(), flush=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def _start_clients(args, cluster: ChaosCluster, out: Path, t0: float, seconds: float) -> list[subprocess.Popen]:
    clients = []
    for k in range(args.clients):
        log = open(out / f"client{k}.log", "ab")
        clients.append(subprocess.Popen(
            [sys.executable, "-m", "cluster.chaos.load", "--client", str(k), "--data", str(cluster.data_dir),
             "--addresses", ",".join(cluster.grpc_addresses), "--out", str(out / f"ops-{k}.jsonl"),
             "--t0", repr(t0), "--seconds", repr(seconds), "--seed", str(args.seed), "--tag", f"s{args.seed}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True))
        log.close()
    return clients


def _stop_clients(clients: list[subprocess.Popen], deadline: float) -> None:
    for client in clients:
        try:
            client.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            os.killpg(client.pid, signal.SIGKILL)
            client.wait()


# The last line of a traceback: an exception nothing caught ended the process.
_UNCAUGHT = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")


def stop_reason(log_tail: str, returncode: int) -> str:
    """Why a node stopped itself, from the end of its log: its own refusal or fatal line, else
    the exception that ended it, else only its exit status."""
    lines = log_tail.splitlines()
    said = [line for line in lines if "refusing to serve" in line or "STOPPING NODE" in line]
    if said:
        return said[-1][:300]
    uncaught = [line for line in lines if _UNCAUGHT.match(line)]
    return f"exit {returncode}: {uncaught[-1][:300]}" if uncaught else f"exit {returncode}"


def _refusal(cluster: ChaosCluster, number: int) -> str:
    """Why node `number` stopped itself ('' if it did not: killed, or still running)."""
    process = cluster.processes.get(number)
    if process is None or process.poll() is None or process.returncode in (0, -signal.SIGKILL, -signal.SIGTERM):
        return ""
    return stop_reason(cluster.log_tail(number, 60), process.returncode)


def _start_or_restore(cluster: ChaosCluster, number: int, say, refusals: list[str]) -> None:
    """A node that was killed is started on its data; one that refused to start (damaged or
    inconsistent files) is restored from its peers, as its refusal message tells an operator."""
    why = _refusal(cluster, number)
    if not why:
        cluster.start(number)
        return
    if number not in cluster.damaged:  # a corrupted node's refusal is expected, not a finding
        refusals.append(f"node{number}: {why}")
    say(f"node{number} refused to run: {why[:200]}; restoring it from its peers")
    try:
        cluster.restore_from_peers(number)
    except UnsafeRestore as error:
        say(f"{error}; starting it as it is")
        cluster.start(number)


def _converge(cluster: ChaosCluster, timeout_s: float, say, refusals: list[str]) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        statuses = cluster.statuses()
        answered = [s for s in statuses.values() if s is not None]
        if len(answered) == len(statuses) and all(s.ready for s in answered) \
                and len({(s.applied_index, s.state_hash) for s in answered}) == 1:
            return True
        for number in statuses:
            if not cluster.alive(number):
                _start_or_restore(cluster, number, say, refusals)
        time.sleep(0.5)
    return False


def _recover(cluster: ChaosCluster, say, refusals: list[str]) -> None:
    """After a heal: every node running (one that refused to start is restored from its
    peers), then a leader, bounded."""
    for spec in cluster.specs:
        if not cluster.alive(spec.number):
            _start_or_restore(cluster, spec.number, say, refusals)
    if cluster.wait_for_leader(recovery_leader_wait_s) is None:
        say("no leader within the recovery bound; going on (the run records it)")


def _certified_index(cluster: ChaosCluster) -> int:
    """The newest checkpoint a node has seen certified (and matched with its own hash)."""
    return max((s.verified_checkpoint_index for s in cluster.statuses().values() if s is not None), default=0)


def _close_with_checkpoint(cluster: ChaosCluster, history: Path, client: int, t0: float, tag: str, attempt: int) -> int:
    """Certifies a checkpoint above every index written so far, so that the replay can start
    from it however recently the nodes compacted their journals; returns its index (0: none
    within closing_timeout_s).

    The ledger makes an entry a checkpoint once checkpoint_every_ms of ledger time passed since the
    last one; ledger time moves only with entries, and never further than clock_lead_max_ms past
    the newest signed batch, so the harness sends small signed deposits (into closing_account,
    recorded in `history` and checked like the load's) until a certificate above the load arrives."""
    above = max((s.applied_index for s in cluster.statuses().values() if s is not None), default=0)
    deadline = time.monotonic() + closing_timeout_s
    sent = 0
    with chaos_load.make_client(cluster.data_dir, cluster.grpc_addresses, "custodian") as custodian:
        while time.monotonic() < deadline:
            certified = _certified_index(cluster)
            if certified > above:
                return certified
            sent += 1
            chaos_load.submit_recorded(custodian, [Deposit(f"{tag}-closing{attempt}-{sent}", closing_account,
                                                           closing_deposit_amount)], history, client, t0)
            time.sleep(closing_deposit_every_s)
    return 0


def _read_and_replay(cluster: ChaosCluster, signer_set: dict) -> tuple[list[NodeView], Replay]:
    """The stopped nodes' final states, and the independent replay of their log."""
    views = [read_view(spec.node_id, cluster.node_dir(spec.number)) for spec in cluster.specs]
    upto = max(view.applied_index for view in views)
    return views, replay_nodes([cluster.node_dir(spec.number) for spec in cluster.specs], views, signer_set, upto)


def _replay_note(replay: Replay) -> str:
    """Where the replay started (a skipped one is noted by the checker, with its reason)."""
    if replay.base == BASE_CHECKPOINT:
        base = f"certified checkpoint {replay.base_index} ({replay.base_dump}, checked against its certificate)"
    else:
        base = "index 1 (a journal still held the whole log)"
    refused = f"; refused on the way: {'; '.join(replay.refused)}" if replay.refused else ""
    return f"replay: from {base}, then {replay.entries} entries of {replay.journal}'s journal{refused}"


def run(args: argparse.Namespace, kinds: list[str], topology: Topology | None, notes: list[str]) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("ops-*.jsonl"), out / "report.json", out / "report.png", out / "summary.txt"]:
        stale.unlink(missing_ok=True)
    say = lambda message: print(f"chaos: {message}", flush=True)  # noqa: E731
    # SIGTERM (the hub's parent forwards it) unwinds through the finally below: nodes, clients and
    # the FUSE daemon are stopped and the mount detached.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if "powercut" in kinds and (reason := fuse_available()):
        kinds.remove("powercut")
        notes.append(f"powercut SKIPPED: {reason}")
        say(f"WARNING: {notes[-1]}")
    if not kinds:
        say("no fault kind can be made here")
        return 2
    mount = None
    data_dir = out / "cluster"
    if "powercut" in kinds:
        mount = PowercutMount(out / "backing", data_dir, out / "powercut_fs.log")
    cluster: ChaosCluster | None = None
    clients: list[subprocess.Popen] = []
    progress: Progress | None = None
    faults: list[FaultRecord] = []
    try:
        if (out / "backing").exists() or (data_dir.exists() and any(data_dir.iterdir())):
            say(f"{out} holds an earlier run's cluster: use a fresh --out (a chaos run starts a fresh cluster)")
            return 2
        if mount is not None:
            mount.mount()
        base_port = netns_base_port if topology else spare_base_port(args.nodes)
        tuning = {"log_compaction_entries_min": args.compact_every} if args.compact_every else None
        cluster = ChaosCluster(data_dir, args.nodes, base_port, out / "logs", topology, raft_tuning=tuning)
        retention_ms, run_s_max = cluster.policy["dedup_retention_ms"], longest_run_s(args.duration)
        if problem := retention_problem(retention_ms, run_s_max):
            say(f"refusing the run: {problem}")
            return 2
        cluster.prepare()
        if mount is not None:
            mount.sync_all()  # configs and keys are on disk before the first power cut
        cluster.start()
        if cluster.wait_for_leader(leader_wait_s) is None:
            say("no leader elected at start; node logs under " + str(out / "logs"))
            return 2
        genesis_at = time.time()
        cluster.install_genesis()
        chaos_load.set_up(cluster.data_dir, cluster.grpc_addresses, args.clients, f"s{args.seed}")
        if mount is not None:
            mount.sync_all()
        weights = {k: w for k, w in parse_kinds(args.faults).items() if k in kinds}
        schedule = make_schedule(args.seed, tuple(kinds), args.nodes, args.simultaneous, weights=weights)
        t0 = time.time()
        clients = _start_clients(args, cluster, out, t0, args.duration)
        progress = Progress(out, t0)
        progress.start()
        say(f"{args.nodes} nodes{' in namespaces ' + topology.hub if topology else ' on 127.0.0.1'}, "
            f"{args.clients} clients, {args.duration:.0f} s, seed {args.seed}, faults {','.join(kinds)}")
        injector = Injector(cluster, mount, t0, say)
        skipped_corrupt = 0
        refusals: list[str] = []  # nodes that stopped themselves after a fault other than corrupt
        time.sleep(warmup_s)
        for step in schedule:
            remaining = args.duration - (time.time() - t0)
            if remaining < quiet_tail_s + max(f.duration_s for f in step.faults):
                break
            leader = cluster.leader()
            taken: set[int] = set()
            active = []
            if any(f.kind == "corrupt" for f in step.faults) and not cluster.wait_healthy(healthy_wait_s):
                # A node is restored from its peers after corruption: only safe while every other
                # node holds everything committed (see faults.UnsafeRestore). Not now: skip the step.
                skipped_corrupt += 1
                say("corrupt step skipped: the cluster is not fully caught up")
                continue
            for fault in step.faults:
                made = injector.inject(fault, leader, taken)
                taken.update(made.targets)
                active.append(made)
            progress.current = " + ".join(f"{a.fault.kind}({','.join(a.record.targets)}{' leader' if a.record.leader_lost else ''})"
                                          for a in active)
            started = time.time()
            for made in sorted(active, key=lambda a: a.fault.duration_s):
                time.sleep(max(0.0, started + made.fault.duration_s - time.time()))
                injector.heal(made)
                faults.append(made.record)
                progress.cycles += 1
            progress.current = "recovering"
            _recover(cluster, say, refusals)
            for made in active:
                made.record.recovered_s = round(time.time() - t0, 3)
            progress.current = "none"
            time.sleep(step.recovery_s)
        progress.current = "none (load finishing)"
        _stop_clients(clients, t0 + args.duration + client_grace_s)
        progress.current = "converging"
        if cluster.topology:
            cluster.topology.heal()
        cluster.cont_all()
        converged = _converge(cluster, converge_timeout_s, say, refusals)
        signer_set = read_signer_set(cluster.signers_file)  # the harness's own: never one a node serves
        for attempt in range(1, closing_attempts_max + 1):
            progress.current = f"closing checkpoint (attempt {attempt})"
            if attempt > 1:
                cluster.start()
                cluster.wait_for_leader(leader_wait_s)
            closing_index = _close_with_checkpoint(cluster, out / "ops-closing.jsonl", args.clients, t0,
                                                   f"s{args.seed}", attempt)
            closed = _converge(cluster, converge_timeout_s, say, refusals)
            cluster.stop()
            views, replay = _read_and_replay(cluster, signer_set)
            if replay.view is not None or attempt == closing_attempts_max:
                break
            say(f"no base for the replay ({replay.note}); starting the nodes again to close with another checkpoint")
        converged = converged and closed
        run_s = time.time() - genesis_at
        progress.stop()
        print(progress.line(), flush=True)
        upto = max(view.applied_index for view in views)
        ops = read_ops(sorted(out.glob("ops-*.jsonl")))
        verdict = check(ops, views, replay.view, converged, replay.note)
        if replay.view is not None:
            notes.append(_replay_note(replay))
        notes.append(f"dedup records are kept {retention_ms / 3_600_000:g} h (policy dedup_retention_ms), longer than "
                     f"this run ({run_s:.0f} s from the genesis; at most {run_s_max:.0f} s): none was forgotten")
        log_counts = count_log_lines([cluster.log_path(spec.number) for spec in cluster.specs])
        if log_counts["applied_entries_truncated"]:
            notes.append(f"FINDING: {log_counts['applied_entries_truncated']} 'truncating already-applied log entries' "
                         f"lines in the node logs")
        if refusals:
            notes.append(f"FINDING: {len(refusals)} times a node refused to start after a fault that damaged no file "
                         f"(restored from its peers); first: {refusals[0]}")
        if skipped_corrupt:
            notes.append(f"{skipped_corrupt} corrupt steps skipped: the cluster was not fully caught up within {healthy_wait_s:.0f} s")
        if args.min_cycles and len(faults) < args.min_cycles:
            notes.append(f"only {len(faults)} fault cycles, fewer than the {args.min_cycles} asked for")
        run_info = {"nodes": args.nodes, "duration_s": args.duration, "seed": args.seed, "kinds": kinds,
                    "simultaneous": args.simultaneous, "clients": args.clients, "notes": notes,
                    "network": "namespaces" if topology else "loopback (no partitions)",
                    "powercut_filesystem": mount is not None, "power_cuts": mount.cuts if mount else 0,
                    "final_applied_index": upto, "refusals": refusals, "replayed": replay.view is not None,
                    "replay": replay.summary(), "closing_checkpoint": closing_index, "closing_attempts": attempt,
                    "log_compaction_every": args.compact_every or None, "node_logs": log_counts,
                    "dedup_retention_ms": retention_ms, "run_s": round(run_s, 1)}
        report = write_report(out, ops, faults, verdict, run_info)
        print((out / "summary.txt").read_text(), end="", flush=True)
        print(f"report: {out / 'report.json'}  plot: {out / 'report.png'}", flush=True)
        too_few = bool(args.min_cycles and len(faults) < args.min_cycles)
        if too_few:
            print(f"FAIL: only {len(faults)} fault cycles (at least {args.min_cycles} asked for)", flush=True)
        return 0 if report["verdict"] == "PASS" and not too_few else 1
    finally:
        if progress is not None:
            progress.stop()
        for client in clients:
            if client.poll() is None:
                os.killpg(client.pid, signal.SIGKILL)
                client.wait()
        if cluster is not None:
            cluster.cont_all()
            cluster.stop()
        if mount is not None:
            mount.unmount()


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster chaos")
    add_arguments(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    return main(parser.parse_args(argv), argv)
