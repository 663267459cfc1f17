"""What hostile Submit requests cost every node: journal, data and memory growth, against idle.

    python -m cluster.bench.hostile [--requests 100000] [--rounds 1] [--seconds 300] [--idle-s 30]
                                    [--clients 2] [--in-flight 32] [--label NAME] [--out bench-results/hostile.json]

A fresh 3-node local cluster (temporary directory, free 127.0.0.1 ports, mTLS, genesis signer set
installed). First it stays idle for --idle-s, then client processes send --requests hostile
Submit requests to the leader over mTLS with the settler's certificate (one allowed to call
Submit), for at most --seconds, in turn of four kinds, each a one-command batch with a fresh id:

- unsigned: no key id, no signature;
- unknown signer: signed by a key the signer set does not hold;
- bad signature: under the custodian's key id, 64 random bytes as signature;
- tampered: signed by the custodian's key, then the amount changed under the signature.

No client holds a key the ledger would accept for what it sends. Each node is read from outside
before and after each phase (cluster/bench/soak_probes.py): RSS (/proc/<pid>/status), the Raft
journal file's size, the bytes on disk of its data directory (its log left out), and its applied
index (Cluster.Status). With --rounds N the load is sent N times, each after the last has settled:
a first round may raise a node's memory to a new high-water mark (threads, buffers, the allocator's
arenas) that later rounds reuse, while a real leak grows every round. It prints one JSON object and
writes it to --out: the per-node figures, the idle phase's and each round's growth, the clients'
result codes and request rate. Not a test: the figures depend on
the machine. It uses only what older versions of the node have too (raw request bytes, the local
launcher), so the same file runs on an older checkout to measure before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import struct
import tempfile
import time
from collections import Counter
from pathlib import Path

from cluster.bench.soak_probes import data_dir_parts, process_rss_bytes
from cluster.local import LocalCluster
from cluster.ports import free_base_port

requests_default = 100_000
seconds_default = 300.0
idle_s_default = 30.0
clients_default = 2
in_flight_default = 32
settle_s = 5.0  # after the load, before the last reading: what the nodes keep, not what is in flight
submit_timeout_s = 10.0
client_start_delay_s = 2.0
KINDS = ("unsigned", "unknown_signer", "bad_signature", "tampered")
SUBMIT_METHOD = "/settlement.v1.Settlement/Submit"
CLIENT_IDENTITY = "settler"  # a certificate allowed to call Submit
JOURNAL_FILE = "raft.journal"


def _digest(encoded: list[bytes]) -> bytes:
    """The commands digest of the signing contract (docs/design.md#signed-batches), computed here so
    the bench does not depend on the node version under test: on a version with another digest the
    'tampered' batch fails its signature just the same."""
    return hashlib.sha256(b"".join(struct.pack(">I", len(e)) + e for e in encoded)).digest()


def hostile_requests(kind: str, count: int, prefix: str, cluster_id: str, custodian_key) -> list[bytes]:
    """`count` serialized SubmitRequests of one kind, each with fresh command ids."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from node.api.settlement.v1 import commands_pb2, settlement_pb2
    from node.ledger.signed_batches import batch_signing_bytes

    mallory = Ed25519PrivateKey.generate()
    requests = []
    for n in range(count):
        command = commands_pb2.Command(id=f"{prefix}-{kind}-{n}", deposit=commands_pb2.Deposit(account="victim", amount=1_000))
        encoded = [command.SerializeToString()]
        sequence, signed_at_ms = (0x4057 << 32) | (n + 1), time.time_ns() // 1_000_000
        request = settlement_pb2.SubmitRequest(commands=[command])
        if kind == "unknown_signer":
            signature = mallory.sign(batch_signing_bytes(cluster_id, "mallory", sequence, signed_at_ms, _digest(encoded)))
            request.MergeFrom(settlement_pb2.SubmitRequest(key_id="mallory", sequence=sequence, signed_at_ms=signed_at_ms, signature=signature))
        elif kind == "bad_signature":
            request.MergeFrom(settlement_pb2.SubmitRequest(key_id="custodian", sequence=sequence, signed_at_ms=signed_at_ms, signature=os.urandom(64)))
        elif kind == "tampered":
            signature = custodian_key.sign(batch_signing_bytes(cluster_id, "custodian", sequence, signed_at_ms, _digest(encoded)))
            request.MergeFrom(settlement_pb2.SubmitRequest(key_id="custodian", sequence=sequence, signed_at_ms=signed_at_ms, signature=signature))
            request.commands[0].deposit.amount = 10**12  # changed under the signature
        requests.append(request.SerializeToString())
    return requests


async def _send(leader: str, tls, requests: list[tuple[str, bytes]], in_flight: int, deadline: float) -> dict:
    import grpc

    from node.api.settlement.v1 import results_pb2, settlement_pb2
    from node.tls.client import aio_channel

    codes: Counter[str] = Counter()
    pending = iter(requests)
    sent = 0
    async with aio_channel(leader, tls) as channel:
        submit = channel.unary_unary(SUBMIT_METHOD)  # raw bytes both ways

        async def worker() -> None:
            nonlocal sent
            for kind, request in pending:  # bounded by the count and by the deadline
                if time.time() >= deadline:
                    return
                sent += 1
                try:
                    reply = settlement_pb2.SubmitResponse.FromString(await submit(request, timeout=submit_timeout_s))
                except grpc.aio.AioRpcError as error:
                    codes[f"{kind}: grpc {error.code().name}"] += 1
                    continue
                for result in reply.results:
                    name = results_pb2.ResultCode.Name(result.code) if result.code in results_pb2.ResultCode.values() else str(result.code)
                    codes[f"{kind}: {name}"] += 1

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return {"sent": sent, "codes": dict(codes)}


def _client_process(number: int, leader: str, data_dir: str, cluster_id: str, count: int, in_flight: int,
                    start_at: float, deadline: float, queue, round_name: str = "") -> None:
    """One hostile client: builds its requests (before the clock starts), then sends them."""
    from node.identity.credentials import identity_key_file
    from node.identity.key_files import read_private_key
    from node.tls.client import load_client_tls

    custodian = read_private_key(identity_key_file(Path(data_dir), "custodian"))
    per_kind = -(-count // len(KINDS))
    built = {kind: hostile_requests(kind, per_kind, f"h{round_name}c{number}", cluster_id, custodian) for kind in KINDS}
    requests = [(kind, built[kind][n]) for n in range(per_kind) for kind in KINDS][:count]  # the kinds in turn
    tls = load_client_tls(data_dir, CLIENT_IDENTITY)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.monotonic()
    outcome = asyncio.run(_send(leader, tls, requests, in_flight, deadline))
    outcome["seconds"] = time.monotonic() - started
    queue.put(outcome)


def _statuses(cluster: LocalCluster) -> dict[str, dict]:
    with cluster.client(timeout_s=10.0) as client:
        answers = client.statuses()
    return {address: {"node_id": s.node_id, "role": s.role, "applied_index": s.applied_index, "commit_index": s.commit_index}
            for address, s in answers if not isinstance(s, Exception)}


def reading(cluster: LocalCluster) -> dict[str, dict]:
    """Every node's RSS, journal file size, data bytes on disk and applied index, now."""
    statuses = {s["node_id"]: s for s in _statuses(cluster).values()}
    nodes = {}
    for spec in cluster.specs:
        node_dir = cluster.node_dir(spec.number)
        journal = node_dir / JOURNAL_FILE
        parts = data_dir_parts(node_dir)
        nodes[spec.node_id] = {
            "rss_bytes": process_rss_bytes(cluster.processes[spec.number].pid),
            "journal_file_bytes": journal.stat().st_size if journal.exists() else 0,
            "data_bytes": sum(parts.values()),
            "applied_index": statuses.get(spec.node_id, {}).get("applied_index"),
        }
    return nodes


def growth(before: dict[str, dict], after: dict[str, dict]) -> dict[str, dict]:
    return {node: {key: (after[node][key] - value) if isinstance(value, int) and isinstance(after[node].get(key), int) else None
                   for key, value in figures.items()}
            for node, figures in before.items()}


def leader_address(cluster: LocalCluster, timeout_s: float = 30.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for address, status in _statuses(cluster).items():
            if status["role"] == 1:  # LEADER
                return address
        time.sleep(0.2)
    raise TimeoutError("no leader")


def _load_round(args: argparse.Namespace, context, cluster: LocalCluster, leader: str, number: int) -> dict:
    """Sends one round of --requests hostile requests from --clients processes; their outcomes."""
    queue = context.Queue()
    start_at = time.time() + client_start_delay_s + 0.00005 * args.requests  # building the requests takes a while
    deadline = start_at + args.seconds
    share = -(-args.requests // args.clients)
    clients = [context.Process(target=_client_process, daemon=True,
                               args=(n, leader, str(cluster.data_dir), cluster.cluster_id, min(share, args.requests - n * share),
                                     args.in_flight, start_at, deadline, queue, f"r{number}"))
               for n in range(args.clients)]
    try:
        for process in clients:
            process.start()
        outcomes = [queue.get(timeout=args.seconds + 600) for _ in clients]
    finally:
        for process in clients:
            if process.is_alive():
                process.terminate()
    sent = sum(o["sent"] for o in outcomes)
    seconds = max(o["seconds"] for o in outcomes)
    codes: Counter[str] = Counter()
    for outcome in outcomes:
        codes.update(outcome["codes"])
    return {"sent": sent, "load_seconds": round(seconds, 1), "requests_per_s": round(sent / seconds) if seconds else 0,
            "codes": dict(sorted(codes.items()))}


def run(args: argparse.Namespace, data: Path) -> dict:
    cluster = LocalCluster(data, nodes=3, base_port=free_base_port(args.base_port))
    cluster.prepare()
    context = multiprocessing.get_context("spawn")
    rounds = []
    try:
        cluster.start()
        leader_address(cluster)
        cluster.install_genesis()
        time.sleep(settle_s)  # the genesis and its first checkpoint applied everywhere
        leader = leader_address(cluster)
        start = reading(cluster)
        time.sleep(args.idle_s)
        idle = reading(cluster)
        before = idle
        for number in range(1, args.rounds + 1):
            outcome = _load_round(args, context, cluster, leader, number)
            time.sleep(settle_s)
            after = reading(cluster)
            rounds.append(dict(outcome, reading=after, growth=growth(before, after)))
            before = after
    finally:
        cluster.stop()
    return {
        "bench": "hostile",
        "label": args.label,
        "python": platform.python_version(),
        "leader": leader,
        "requests_per_round": args.requests,
        "idle_seconds": args.idle_s,
        "readings": {"start": start, "after_idle": idle},
        "growth_idle": growth(start, idle),
        "rounds": rounds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=requests_default)
    parser.add_argument("--rounds", type=int, default=1, help="send the load this many times, one after the other")
    parser.add_argument("--seconds", type=float, default=seconds_default, help="each round stops after this long")
    parser.add_argument("--idle-s", type=float, default=idle_s_default)
    parser.add_argument("--clients", type=int, default=clients_default)
    parser.add_argument("--in-flight", type=int, default=in_flight_default, help="concurrent requests per client")
    parser.add_argument("--base-port", type=int, default=29_000)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=Path("bench-results") / "hostile.json")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's data directory")
    args = parser.parse_args(argv)
    assert args.requests >= 1 and args.rounds >= 1 and args.clients >= 1 and args.in_flight >= 1 and args.seconds > 0
    data = Path(tempfile.mkdtemp(prefix="settle-hostile-"))
    try:
        report = run(args, data)
    finally:
        if not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    text = json.dumps(report, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
