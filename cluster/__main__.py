"""Local cluster tooling.

    python -m cluster up --nodes 3 --data ./data --base-port 7000 [--demo]
    python -m cluster observe --nodes 3 --data ./data --base-port 7000   (cluster + Prometheus)
    python -m cluster replay --prices FILE.csv --scenario FILE.toml [--plot FILE.png] [--json FILE.json]
    python -m cluster chaos --nodes 3 --duration 60 --seed 1 --out DIR --faults kill,pause,partition,restart,powercut
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from cluster.local import LocalCluster, wait_for_leader

status_period_s_default = 5.0
leader_wait_s = 30.0


def up(args: argparse.Namespace) -> int:
    from cluster.demo.load import run_demo
    from node.cli.render import status_text

    cluster = LocalCluster(Path(args.data), nodes=args.nodes, base_port=args.base_port)
    cluster.prepare()
    stopping = False

    def request_stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    cluster.start()
    print(f"cluster of {args.nodes} nodes under {cluster.data_dir} (configs, logs: {cluster.data_dir}/node<i>/)")
    for spec in cluster.specs:
        print(f"  {spec.node_id}: gRPC {spec.grpc_address}  raft {spec.raft_address}  log {cluster.node_dir(spec.number)}/node.log"
              f"  metrics http://{spec.metrics_address}/metrics")
    client = cluster.client()
    try:
        if not wait_for_leader(client, leader_wait_s):
            print("no leader elected; see the node logs", file=sys.stderr)
            return 1
        if cluster.install_genesis():
            print(f"installed the genesis signer set {cluster.signers_file} (keys in {cluster.keys_dir})")
        if args.demo:
            run_demo(client, sys.stdout, feed_identity=cluster.identity("oracle"))
        print(f"\ntry: settle --cluster-file {cluster.data_dir}/cluster.json status   (Ctrl-C stops the cluster)")
        next_status = 0.0
        while not stopping:
            if time.monotonic() >= next_status:
                print(f"\n{time.strftime('%H:%M:%S')}\n" + status_text(client.statuses()), flush=True)
                next_status = time.monotonic() + args.status_every
            for spec in cluster.specs:
                if not cluster.alive(spec.number) and not stopping:
                    print(f"{spec.node_id} exited; last log lines:\n{cluster.log_tail(spec.number, 10)}", file=sys.stderr)
                    cluster.processes.pop(spec.number, None)
            time.sleep(0.2)
        return 0
    finally:
        client.close()
        print("\nstopping the cluster…", flush=True)
        cluster.stop()


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
