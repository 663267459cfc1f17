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

from node.config import ConfigError, load_config
from node.runtime import freeze_long_lived_objects, tune_garbage_collector

log = logging.getLogger("settle.node")

grpc_stop_grace_s = 2.0
refused_exit_code = 3  # the node's own data cannot be trusted: it refuses to start


async def run_node(config_path: Path) -> int:
    from node.replica.replica import JournalBehindStore, Replica
    from node.rogue import start_if_asked as start_rogue_if_asked  # test-only, off unless its env flag is set
    from node.server import start_server
    from node.store.errors import StoreCorruptError

    config = load_config(config_path)
    if config.test_power_cut_shadow or config.test_unsafe_skip_journal_sync:
        log.warning(
            "TEST-ONLY SETTINGS ARE ON (test_power_cut_shadow=%s, test_unsafe_skip_journal_sync=%s): "
            "this node is a test fixture, not fit for real settlement",
            config.test_power_cut_shadow, config.test_unsafe_skip_journal_sync,
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
    freeze_long_lived_objects()
    server = await start_server(replica, config.grpc_address)
    start_rogue_if_asked(config, replica)
    log.info("node %s serving gRPC on %s, raft on %s", config.node_id, config.grpc_address, config.raft_address)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping node %s", config.node_id)
    await server.stop(grpc_stop_grace_s)
    replica.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="settle-node", description="Run one settlement node.")
    parser.add_argument("--config", type=Path, required=True, help="the node's TOML file")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pysyncobj").setLevel(logging.WARNING)
    tune_garbage_collector()
    try:
        sys.exit(asyncio.run(run_node(args.config)))
    except ConfigError as error:
        print(f"settle-node: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
