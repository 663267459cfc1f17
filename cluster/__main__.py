"""Local cluster tooling.

    python -m cluster up --nodes 3 --data ./data --base-port 7000 [--demo]
    python -m cluster observe --nodes 3 --data ./data --base-port 7000   (cluster + Prometheus)
    python -m cluster replay --prices FILE.csv --scenario FILE.toml [--plot FILE.png] [--json FILE.json]
    python -m cluster chaos --nodes 3 --duration 60 --seed 1 --out DIR --faults kill,pause,partition,restart,powercut
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cluster.foreground import (StopRequested, hold_signals_for_good, refuse_held_data_dirs, report_exited_nodes, say,
                                signals_held, stop_on_signals)
from cluster.local import LocalCluster, NodeExitedAtStart

status_period_s_default = 5.0
leader_wait_s = 30.0


def up(args: argparse.Namespace) -> int:
    from cluster.demo.load import run_demo
    from node.cli.render import status_text

    cluster = LocalCluster(Path(args.data), nodes=args.nodes, base_port=args.base_port)
    if refuse_held_data_dirs(cluster):
        return 1
    cluster.prepare()
    stop_on_signals()  # Ctrl-C, SIGTERM and SIGHUP (the terminal closed) all stop the nodes
    client = None
    try:
        with signals_held():
            cluster.start()
        say(f"cluster of {args.nodes} nodes under {cluster.data_dir} (configs, logs: {cluster.data_dir}/node<i>/)")
        for spec in cluster.specs:
            say(f"  {spec.node_id}: gRPC {spec.grpc_address}  raft {spec.raft_address}  log {cluster.node_dir(spec.number)}/node.log"
                f"  metrics http://{spec.metrics_address}/metrics")
        client = cluster.client()
        if not cluster.wait_until_serving(client, leader_wait_s):
            say(f"no leader elected within {leader_wait_s:.0f} s; see the node logs", sys.stderr)
            return 1
        if cluster.install_genesis():
            say(f"installed the genesis signer set {cluster.signers_file} (keys in {cluster.keys_dir})")
        if args.demo:
            run_demo(client, sys.stdout, feed_identity=cluster.identity("oracle"))
        say(f"\ntry: settle --cluster-file {cluster.data_dir}/cluster.json status   (Ctrl-C stops the cluster)")
        next_status = 0.0
        while True:
            if time.monotonic() >= next_status:
                say(f"\n{time.strftime('%H:%M:%S')}\n" + status_text(client.statuses()))
                next_status = time.monotonic() + args.status_every
            report_exited_nodes(cluster)
            time.sleep(0.2)
    except NodeExitedAtStart as error:
        say(str(error), sys.stderr)
        return 1
    except StopRequested as stop:
        say(f"\n{stop.signal_name} received")
        return 0
    finally:
        hold_signals_for_good()
        say("stopping the cluster…")
        cluster.stop()
        if client is not None:
            client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cluster", description="Local cluster tooling.")
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="start a local cluster in the foreground")
    up_parser.add_argument("--nodes", type=int, default=3, choices=(3, 5))
    up_parser.add_argument("--data", default="./data")
    up_parser.add_argument("--base-port", type=int, default=7000)
    up_parser.add_argument("--demo", action="store_true", help="feed a short demo load once the cluster is up")
    up_parser.add_argument("--status-every", type=float, default=status_period_s_default, help="seconds between status tables")
    from cluster import observe
    from cluster.replay import cli as replay

    observe.add_arguments(commands.add_parser(
        "observe", help="start a local cluster and a Prometheus scraping it, in the foreground"))
    replay.add_arguments(commands.add_parser(
        "replay", help="replay a price series through the pure ledger and show its guard decisions",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ))
    from cluster.chaos import run as chaos

    chaos.add_arguments(commands.add_parser(
        "chaos", help="faults under load on a fresh cluster, then a verdict on the history (report.json, report.png)"))
    args = parser.parse_args(argv)
    if args.command == "chaos":
        raw = list(sys.argv[1:] if argv is None else argv)
        sys.exit(chaos.main(args, raw[raw.index("chaos") + 1:]))
    if args.command == "replay":
        sys.exit(replay.run_cli(args))
    if args.command == "observe":
        sys.exit(observe.observe(args))
    sys.exit(up(args))


if __name__ == "__main__":
    main()
