"""settle-node: run one settlement node.

    settle-node --config data/node1/node.toml

Stops cleanly on SIGTERM or SIGINT: the gRPC server drains, pysyncobj stops, the store closes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from node import logs
from node.config import ConfigError, load_config
from node.runtime import freeze_long_lived_objects, tune_garbage_collector

log = logging.getLogger("settle.node")

grpc_stop_grace_s = 2.0
refused_exit_code = 3  # the node's own data cannot be trusted: it refuses to start


async def run_node(config_path: Path, log_context: logs.ReplicaContext | None = None) -> int:
    from node.replica.journal import RESTORE_FROM_PEERS, JournalCorruptError
    from node.replica.replica import JournalBehindStore, Replica
    from node.rogue import start_if_asked as start_rogue_if_asked  # test-only, off unless its env flag is set
    from node.server import start_server
    from node.tls.server import server_tls
    from node.store.errors import StoreCorruptError

    config = load_config(config_path)
    tls = server_tls(config)  # a bad TLS file is a ConfigError, before the node joins the cluster
    if tls is None:
        log.warning("gRPC WITHOUT mTLS on %s: anyone who reaches the port may call everything", config.grpc_address)
    if log_context is not None:
        log_context.node_id = config.node_id
    if config.test_power_cut_shadow or config.test_unsafe_skip_journal_sync or config.test_unsafe_no_raft_encryption:
        log.warning(
            "TEST-ONLY SETTINGS ARE ON (test_power_cut_shadow=%s, test_unsafe_skip_journal_sync=%s, "
            "test_unsafe_no_raft_encryption=%s): this node is a test fixture, not fit for real settlement",
            config.test_power_cut_shadow, config.test_unsafe_skip_journal_sync, config.test_unsafe_no_raft_encryption,
        )
    loop = asyncio.get_running_loop()
    try:
        replica = Replica(config, loop)  # on the main thread: pysyncobj's tick thread needs it
    except StoreCorruptError as error:
        log.critical("refusing to serve: the store in %s is damaged: %s", config.store_dir, error)
        return refused_exit_code
    except JournalBehindStore as error:
        log.critical("refusing to serve: %s", error)
        return refused_exit_code
    except JournalCorruptError as error:
        log.critical("refusing to serve: the Raft journal in %s is damaged: %s. %s", config.data_dir, error, RESTORE_FROM_PEERS)
        return refused_exit_code
    if log_context is not None:
        log_context.replica = replica
    freeze_long_lived_objects()
    server = await start_server(replica, config.grpc_address, tls=tls, health_address=config.health_address)
    if tls is not None:
        for certificate, not_after_s in tls.not_after_s().items():
            replica.metrics.tls_certificate_expiry.labels(certificate).set(not_after_s)
    start_rogue_if_asked(config, replica)
    metrics_server = start_metrics(replica, config.metrics_address)
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


def start_metrics(replica, address: str):
    """The Prometheus endpoint (node/metrics) if configured. A port that cannot be bound is logged
    and the node serves on without metrics: settlement matters more than its dashboard."""
    from node.metrics import serve

    try:
        metrics_server = serve(replica.metrics.registry, address)
    except OSError as error:
        log.error("metrics endpoint %s not started: %s", address, error)
        return None
    if metrics_server is not None:
        log.info("metrics on http://%s/metrics", metrics_server.address)
    return metrics_server


def main(argv: list[str] | None = None) -> None:
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
        sys.exit(asyncio.run(run_node(args.config, log_context)))
    except ConfigError as error:
        print(f"settle-node: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
