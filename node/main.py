"""settle-node: run one settlement node.

    settle-node --config data/node1/node.toml

This module assembles the node: the configuration, the metrics, the checkpoint vote submitter
(a vote is a client's command, sent through the client SDK: this is the one place the node
imports it), the replica, the gRPC server and the metrics endpoint. Stops cleanly on SIGTERM or
SIGINT: the gRPC server drains, pysyncobj stops, the store closes.

Before anything opens the store or the journal it locks its data directory (node/data_lock.py:
one process per directory, for the whole life of the process) and checks that each of its
addresses can be listened on (node/port_check.py); a node that cannot have either exits at once
with its own code (node/exit_codes.py) and a message naming the holder's pid or the address.

Test fixtures (cluster/fixture_node) run the same assembly with a `NodeFixture`: its Raft
overrides (power-cut journals, no encryption) and a task started beside the node (the rogue).
`settle-node` never passes one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from node import logs
from node.config import ConfigError, NodeConfig, load_config, load_node_key, server_tls
from node.data_lock import DataDirLocked, lock_data_dir
from node.exit_codes import NodeExit
from node.port_check import GRPC, HEALTH, METRICS, RAFT, AddressInUse, check_address_free
from node.runtime import freeze_long_lived_objects, tune_garbage_collector

if TYPE_CHECKING:
    from node.replica.raft import RaftOverrides
    from node.replica.replica import Replica

log = logging.getLogger("settle.node")

grpc_stop_grace_s = 2.0
PORT_TAKEN_EXITS = {GRPC: NodeExit.GRPC_PORT_TAKEN, RAFT: NodeExit.RAFT_PORT_TAKEN,
                    METRICS: NodeExit.METRICS_PORT_TAKEN, HEALTH: NodeExit.HEALTH_PORT_TAKEN}


@dataclass(frozen=True)
class NodeFixture:
    """What a test fixture changes about a node (cluster/fixture_node builds one)."""

    description: str  # logged loudly at start: this node is a fixture, not fit for settlement
    raft_overrides: RaftOverrides | None = None  # None: production's
    start_beside: Callable[[NodeConfig, Replica], object] | None = None  # started once the server serves
    started: list = field(default_factory=list)  # what start_beside returned (a reference keeps a task alive)


def vote_submitter(config: NodeConfig):
    """(submit, close) for checkpoint votes: the SDK, signing with the node's key, sending to
    this node first (it may lead) and then its peers. The client is made on first use, on the
    loop that runs the votes (grpc.aio channels belong to one loop). (None, None) when the node
    has no key: it checks checkpoints but votes nothing."""
    from node.client.sdk import SettlementClient
    from node.identity.credentials import ClientIdentity, SigningKey
    from node.tls.client import node_client_tls
    from node.checkpoint.limits import vote_submit_timeout_ms
    from node.ledger.governance import ROLE_NODE

    node_key = load_node_key(config)
    if node_key is None:
        return None, None
    identity = ClientIdentity(config.node_key_id, (SigningKey(config.node_key_id, ROLE_NODE, node_key),),
                              tls=node_client_tls(config), cluster=config.cluster_id)
    addresses: Sequence[str] = [config.grpc_address, *(p.grpc_address for p in config.peers)]
    holder: list[SettlementClient] = []

    async def submit(command):
        if not holder:
            holder.append(SettlementClient(list(addresses), timeout_s=vote_submit_timeout_ms / 1000, identity=identity))
        reply = await holder[0].submit([command])
        return reply.results[0].code

    async def close() -> None:
        if holder:
            await holder.pop().close()

    return submit, close


async def run_node(config_path: Path, log_context: logs.ReplicaContext | None = None,
                   fixture: NodeFixture | None = None) -> int:
    from node.metrics import NodeMetrics, StateCollector
    from node.replica.journal import RESTORE_FROM_PEERS, JournalCorruptError
    from node.replica.log_coverage import JournalBehindStore
    from node.replica.raft import RaftOverrides
    from node.replica.replica import Replica
    from node.server import start_server
    from node.server.guardian import node_key_from_config
    from node.store.errors import StoreCorruptError

    config = load_config(config_path)
    if log_context is not None:
        log_context.node_id = config.node_id
    try:
        # Never released: the descriptor stays open until the process ends (node/data_lock.py).
        data_dir_lock = lock_data_dir(config.data_dir)
    except DataDirLocked as error:
        log.critical("refusing to start: %s", error)
        return NodeExit.DATA_DIR_LOCKED
    data_dir_lock.keep_across_exec()  # a divergence recovery re-executes the node, still holding it
    try:
        check_listen_addresses(config)
    except AddressInUse as error:
        log.critical("refusing to start: %s", error)
        return PORT_TAKEN_EXITS[error.service]
    tls = server_tls(config)  # a bad TLS file is a ConfigError, before the node joins the cluster
    if tls is None:
        log.warning("gRPC WITHOUT mTLS on %s: anyone who reaches the port may call everything", config.grpc_address)
    if fixture is not None:
        log.warning("TEST FIXTURE NODE (%s): this node is a test fixture, not fit for real settlement", fixture.description)
    loop = asyncio.get_running_loop()
    metrics = NodeMetrics()
    submit_vote, close_votes = vote_submitter(config)
    try:
        replica = Replica(  # on the main thread: pysyncobj's tick thread needs it
            config, loop, metrics=metrics, submit_vote=submit_vote, close_votes=close_votes,
            raft_overrides=fixture.raft_overrides if fixture is not None and fixture.raft_overrides else RaftOverrides(),
        )
    except StoreCorruptError as error:
        log.critical("refusing to serve: the store in %s is damaged: %s", config.store_dir, error)
        return NodeExit.REFUSED
    except JournalBehindStore as error:
        log.critical("refusing to serve: %s", error)
        return NodeExit.REFUSED
    except JournalCorruptError as error:
        log.critical("refusing to serve: the Raft journal in %s is damaged: %s. %s", config.data_dir, error, RESTORE_FROM_PEERS)
        return NodeExit.REFUSED
    metrics.registry.register(StateCollector(replica))
    if log_context is not None:
        log_context.replica = replica
    freeze_long_lived_objects()
    server = metrics_server = None
    try:  # taken since check_listen_addresses (a documented race): stop as that check would have
        server = await start_server(replica, config.grpc_address, tls=tls, health_address=config.health_address,
                                    node_key=lambda: node_key_from_config(config), metrics=metrics)
        metrics_server = start_metrics(metrics, config.metrics_address)
    except AddressInUse as error:
        log.critical("stopping: %s", error)
        if server is not None:
            await server.stop(None)
        replica.close()
        return PORT_TAKEN_EXITS[error.service]
    if tls is not None:
        for certificate, not_after_s in tls.not_after_s().items():
            metrics.tls_certificate_expiry.labels(certificate).set(not_after_s)
    if fixture is not None and fixture.start_beside is not None:
        fixture.started.append(fixture.start_beside(config, replica))
    logs.log_event("node_start", f"node {config.node_id} serving gRPC on {config.grpc_address}, raft on {config.raft_address}")
    leader_watch = asyncio.create_task(logs.watch_leader(replica))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    logs.log_event("node_stop", f"stopping node {config.node_id}")
    leader_watch.cancel()
    await server.stop(grpc_stop_grace_s)
    if metrics_server is not None:
        metrics_server.stop()
    replica.close()
    return 0


def check_listen_addresses(config: NodeConfig) -> None:
    """AddressInUse for the first of the node's addresses another process listens on. Checked
    before the store opens: pysyncobj would retry a taken Raft port forever, and a node found
    unable to serve only after joining the cluster would have started for nothing."""
    for service, address in ((GRPC, config.grpc_address), (RAFT, config.raft_address),
                             (METRICS, config.metrics_address), (HEALTH, config.health_address)):
        check_address_free(service, address)


def start_metrics(metrics, address: str):
    """The Prometheus endpoint (node/metrics) if configured. A port that cannot be bound stops the
    node (AddressInUse): it is how a second process on the same ports shows itself, and a node
    nobody can see is not one to run."""
    from node.metrics import serve

    try:
        metrics_server = serve(metrics.registry, address)
    except OSError as error:
        raise AddressInUse(METRICS, address, error.strerror or str(error)) from None
    if metrics_server is not None:
        log.info("metrics on http://%s/metrics", metrics_server.address)
    return metrics_server


def main(argv: list[str] | None = None, fixture: NodeFixture | None = None) -> None:
    parser = argparse.ArgumentParser(prog="settle-node", description="Run one settlement node.")
    parser.add_argument("--config", type=Path, required=True, help="the node's TOML file")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--log-format", choices=("json", "text"), default="json",
                        help="json: one object per line (default); text: for humans")
    args = parser.parse_args(argv)
    log_context = logs.setup(args.log_format, args.log_level)
    logging.getLogger("pysyncobj").setLevel(logging.WARNING)
    tune_garbage_collector()
    try:
        sys.exit(asyncio.run(run_node(args.config, log_context, fixture)))
    except ConfigError as error:
        print(f"settle-node: {error}", file=sys.stderr)
        sys.exit(NodeExit.CONFIG)


if __name__ == "__main__":
    main()
