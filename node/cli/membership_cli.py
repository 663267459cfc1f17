"""`settle cluster add-node`, `settle cluster remove-node` and `settle node drain`: Raft
membership through pysyncobj's dynamic membership, and handing leadership away from a node.

    settle cluster add-node --node-id ID --raft HOST:PORT [--grpc HOST:PORT]
    settle cluster remove-node --raft HOST:PORT
    settle node drain --node HOST:PORT
    settle node reset --data-dir DIR   (node/cli/reset_cli.py: offline, on a stopped node)

Membership changes go to the leader (found from --nodes / the cluster file, following `x-leader`
hints); one change at a time. They connect with the operator's TLS pair of the credentials
directory (--identity / --credentials, else the cluster file's directory, else ./data; plaintext
when it has no tls/). Exit 0 done, 1 refused, 2 usage or connection error.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

import grpc

from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.cli.cli_identity import cli_tls
from node.cli.common import node_addresses
from node.cli.reset_cli import register as register_reset
from node.tls.client import ClientTls, sync_channel

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
rpc_deadline_s = 30.0  # the server waits at most 15 s for the change or the drain
leader_hops_max = 5


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    cluster = commands.add_parser("cluster", help="change the Raft membership", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = cluster.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    sub = actions.add_parser("add-node", parents=[common], help="add a node (start it first, peers = current members)")
    sub.add_argument("--node-id", required=True, metavar="ID")
    sub.add_argument("--raft", required=True, metavar="HOST:PORT", help="the new node's Raft address")
    sub.add_argument("--grpc", default="", metavar="HOST:PORT", help="its gRPC address (for leader hints)")
    sub.set_defaults(offline=_add)
    sub = actions.add_parser("remove-node", parents=[common], help="remove a node (by its Raft address)")
    sub.add_argument("--raft", required=True, metavar="HOST:PORT")
    sub.set_defaults(offline=_remove)
    node = commands.add_parser("node", help="operate on one node", description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = node.add_subparsers(dest="node_command", required=True, metavar="ACTION")
    sub = actions.add_parser("drain", parents=[common], help="stop a leader's writes and hand its leadership over")
    sub.add_argument("--node", required=True, metavar="HOST:PORT", help="the node's gRPC address")
    sub.set_defaults(offline=_drain)
    register_reset(actions, common)


def _leader_hint(error: grpc.RpcError) -> str | None:
    for key, value in error.trailing_metadata() or ():
        if key == "x-leader":
            return value
    return None


def _tls(args: argparse.Namespace, out: TextIO) -> tuple[bool, ClientTls | None]:
    """(usable, the TLS pair to connect with); prints why not when a named identity has none."""
    try:
        return True, cli_tls(args)
    except ValueError as error:  # a TLS directory without this identity's certificate
        print(f"settle: {error}", file=out)
        return False, None


def _on_leader(args: argparse.Namespace, out: TextIO, request: cluster_pb2.MembershipRequest) -> int:
    try:
        candidates = node_addresses(args)
    except Exception as error:  # noqa: BLE001 - usage error from the cluster file rules
        print(f"settle: {error}", file=out)
        return EXIT_USAGE
    usable, tls = _tls(args, out)
    if not usable:
        return EXIT_USAGE
    last = "no node answered"
    tried: set[str] = set()
    queue = list(candidates)
    for _ in range(len(candidates) + leader_hops_max):
        if not queue:
            break
        address = queue.pop(0)
        tried.add(address)
        try:
            with sync_channel(address, tls) as channel:
                result = cluster_pb2_grpc.ClusterStub(channel).ChangeMembership(request, timeout=rpc_deadline_s)
        except grpc.RpcError as error:
            last = f"{address}: {error.code().name}: {error.details()}"
            hint = _leader_hint(error) if error.code() == grpc.StatusCode.UNAVAILABLE else None
            if hint is not None:
                queue.insert(0, hint) if hint not in tried else None
            elif error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                print(f"settle: {last}", file=out)
                return EXIT_USAGE
            continue
        if args.json:
            print(json.dumps({"ok": result.ok, "reason": result.reason, "leader": address,
                              "members": list(result.members)}), file=out)
        elif result.ok:
            print(f"done by leader {address}; members: {', '.join(result.members)}", file=out)
        else:
            print(f"not done by leader {address}: {result.reason}", file=out)
        return EXIT_OK if result.ok else EXIT_REFUSED
    print(f"settle: no leader took the change: {last}", file=out)
    return EXIT_USAGE


def _add(args: argparse.Namespace, out: TextIO) -> int:
    return _on_leader(args, out, cluster_pb2.MembershipRequest(
        action=cluster_pb2.MembershipRequest.ADD, raft_address=args.raft, node_id=args.node_id, grpc_address=args.grpc))


def _remove(args: argparse.Namespace, out: TextIO) -> int:
    return _on_leader(args, out, cluster_pb2.MembershipRequest(
        action=cluster_pb2.MembershipRequest.REMOVE, raft_address=args.raft))


def _drain(args: argparse.Namespace, out: TextIO) -> int:
    usable, tls = _tls(args, out)
    if not usable:
        return EXIT_USAGE
    try:
        with sync_channel(args.node, tls) as channel:
            result = cluster_pb2_grpc.ClusterStub(channel).Drain(cluster_pb2.DrainRequest(), timeout=rpc_deadline_s)
    except grpc.RpcError as error:
        print(f"settle: Drain {args.node}: {error.code().name}: {error.details()}", file=out)
        return EXIT_REFUSED if error.code() == grpc.StatusCode.UNAVAILABLE else EXIT_USAGE
    if args.json:
        print(json.dumps({"ok": result.ok, "reason": result.reason, "new_leader": result.new_leader}), file=out)
    elif result.ok:
        print(f"drained {args.node}: leader is now {result.new_leader or '(electing)'}", file=out)
    else:
        print(f"drain of {args.node} refused: {result.reason}", file=out)
    return EXIT_OK if result.ok else EXIT_REFUSED
