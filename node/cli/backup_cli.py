"""`settle backup` and `settle restore`: a consistent copy of one node's store, and a data dir
built from it (node/backup has the format and the checks).

    settle backup --node HOST:PORT --out FILE   # exit 0 written and checksum verified
    settle restore FILE --data-dir DIR [--new-node]
                                                # exit 0 restored; 1 refused (damaged, tampered,
                                                # DIR holds state, no Raft term and vote, or a
                                                # process holds DIR's lock: a running node);
                                                # 2 usage or IO error

DIR is the node's own data dir, emptied by `settle node reset --data-dir DIR`, which keeps its
Raft term and vote there (a node that forgot them could vote twice in one term). --new-node:
DIR belongs to a node that never ran, so it has none to keep.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TextIO

import grpc

from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.backup.format import BackupError, BackupHeader, backup_file_mode, read_header, verify_checksum
from node.backup.restore import restore
from node.cli.cli_identity import cli_tls
from node.data_lock import DataDirLocked
from node.tls.client import sync_channel

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
# A whole backup stream, start to end: generous (a 1 GiB store streams in seconds locally), but
# bounded so a stalled node cannot hang a cron job forever.
backup_deadline_s = 600.0


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    sub = commands.add_parser("backup", parents=[common], help="copy a running node's store into FILE",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("--node", required=True, metavar="HOST:PORT", help="the node's gRPC address")
    sub.add_argument("--out", required=True, type=Path, metavar="FILE", help="the backup file (never overwritten)")
    sub.set_defaults(offline=_backup)
    sub = commands.add_parser("restore", parents=[common], help="build a node's data dir from a backup",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("file", type=Path, metavar="FILE")
    sub.add_argument("--data-dir", required=True, type=Path, metavar="DIR",
                     help="the node's data_dir, emptied by `settle node reset` (config, keys and Raft vote stay)")
    sub.add_argument("--new-node", action="store_true",
                     help="DIR belongs to a node that never ran: no Raft term and vote to keep")
    sub.set_defaults(offline=_restore)


def _describe(header: BackupHeader) -> dict:
    return {"cluster_id": header.cluster_id, "node_id": header.node_id, "applied_index": header.applied_index,
            "state_hash": header.state_hash.hex(), "created_ms": header.created_ms}


def _backup(args: argparse.Namespace, out: TextIO) -> int:
    if args.out.exists():
        print(f"settle: {args.out} exists; refusing to overwrite it", file=out)
        return EXIT_USAGE
    partial = args.out.with_name(args.out.name + ".partial")
    size = 0
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, backup_file_mode)
        with sync_channel(args.node, cli_tls(args)) as channel, os.fdopen(fd, "wb") as f:
            for chunk in cluster_pb2_grpc.ClusterStub(channel).Backup(cluster_pb2.BackupRequest(), timeout=backup_deadline_s):
                f.write(chunk.data)
                size += len(chunk.data)
            f.flush()
            os.fsync(f.fileno())
        verify_checksum(partial)
        header, _ = read_header(partial)
        os.replace(partial, args.out)
    except grpc.RpcError as error:
        partial.unlink(missing_ok=True)
        print(f"settle: Backup from {args.node}: {error.code().name}: {error.details()}", file=out)
        return EXIT_REFUSED if error.code() == grpc.StatusCode.FAILED_PRECONDITION else EXIT_USAGE
    except (BackupError, OSError) as error:
        partial.unlink(missing_ok=True)
        print(f"settle: {error}", file=out)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(_describe(header) | {"file": str(args.out), "bytes": size}), file=out)
    else:
        print(f"backup of {header.node_id} (cluster {header.cluster_id}) at applied index {header.applied_index}, "
              f"state hash {header.state_hash.hex()}: {args.out} ({size} bytes, checksum verified)", file=out)
    return EXIT_OK


def _restore(args: argparse.Namespace, out: TextIO) -> int:
    try:
        header = restore(args.file, args.data_dir, new_node=args.new_node)
    except (BackupError, DataDirLocked) as error:
        print(f"settle: refused: {error}", file=out)
        return EXIT_REFUSED
    except OSError as error:
        print(f"settle: {error}", file=out)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(_describe(header) | {"data_dir": str(args.data_dir)}), file=out)
    else:
        print(f"restored {header.node_id}'s store at applied index {header.applied_index}, state hash "
              f"{header.state_hash.hex()} (records rehashed and matched) into {args.data_dir}; start the node: "
              "its peers bring it up to date", file=out)
    return EXIT_OK
