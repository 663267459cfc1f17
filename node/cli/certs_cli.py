"""`settle certs`: a cluster's TLS material for production, into one directory, offline.

    settle certs ca DIR --cluster CLUSTER_ID            # DIR/ca.crt, DIR/ca.key (0600)
    settle certs node DIR NODE_ID --host 10.0.0.1 --host node1.example   # DIR/NODE_ID.crt/.key
    settle certs client DIR KEY_ID                      # DIR/KEY_ID.crt/.key (e.g. settler, guardian1)

The certificate's CommonName is the identity; its roles come from the replicated signer set, so
a client identity must also be a key id there. A node certificate serves its hosts and lets the
node call its peers. Keys are ECDSA P-256, 0600; nothing is ever overwritten. Copy ca.crt and a
node's pair to that node (node.toml: tls_ca_file, tls_certificate_file, tls_key_file), a
client's pair and ca.crt to that client, and keep ca.key offline.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from node.ledger.validation import is_valid_id
from node.tls.directory import TlsDirectory
from node.tls.files import TlsFileError
from node.tls.limits import certificate_valid_days, common_name_bytes_max, hosts_max

EXIT_OK = 0
EXIT_USAGE = 2


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    certs = commands.add_parser("certs", parents=[common], help="create a cluster CA and issue node and client certificates",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = certs.add_subparsers(dest="certs_command", required=True, metavar="KIND")
    sub = kinds.add_parser("ca", help="create the cluster CA (refuses if DIR has one)")
    sub.add_argument("dir", type=Path, metavar="DIR")
    sub.add_argument("--cluster", required=True, help="the cluster id, named in the CA's subject")
    sub.set_defaults(offline=_ca)
    sub = kinds.add_parser("node", help=f"issue a node certificate ({certificate_valid_days} days)")
    sub.add_argument("dir", type=Path, metavar="DIR")
    sub.add_argument("identity", metavar="NODE_ID")
    sub.add_argument("--host", action="append", default=[], required=True,
                     help=f"an IP address or DNS name clients reach the node by (repeat, at most {hosts_max})")
    sub.set_defaults(offline=_node)
    sub = kinds.add_parser("client", help=f"issue a client certificate ({certificate_valid_days} days)")
    sub.add_argument("dir", type=Path, metavar="DIR")
    sub.add_argument("identity", metavar="KEY_ID")
    sub.set_defaults(offline=_client)


def _ca(args: argparse.Namespace, out: TextIO) -> int:
    directory = TlsDirectory(args.dir)
    if directory.ca_certificate.exists() or directory.ca_key.exists():
        print(f"settle: {args.dir} already has a CA; refusing to overwrite it", file=out)
        return EXIT_USAGE
    if not is_valid_id(args.cluster, common_name_bytes_max):
        print("settle: --cluster must be 1-64 bytes of [A-Za-z0-9._:-]", file=out)
        return EXIT_USAGE
    directory.ensure_authority(args.cluster)
    print(f"CA of cluster {args.cluster}: {directory.ca_certificate} (give to every node and client), "
          f"{directory.ca_key} (0600; keep it offline)", file=out)
    return EXIT_OK


def _issue(args: argparse.Namespace, out: TextIO, *, hosts: tuple[str, ...], server: bool) -> int:
    directory = TlsDirectory(args.dir)
    if not is_valid_id(args.identity, common_name_bytes_max):
        print("settle: an identity is 1-64 bytes of [A-Za-z0-9._:-] (its key id in the signer set)", file=out)
        return EXIT_USAGE
    if directory.certificate(args.identity).exists() or directory.key(args.identity).exists():
        print(f"settle: {directory.certificate(args.identity)} or its key exists; refusing to overwrite it", file=out)
        return EXIT_USAGE
    if len(hosts) > hosts_max:
        print(f"settle: at most {hosts_max} --host", file=out)
        return EXIT_USAGE
    try:
        if not directory.exists():
            raise TlsFileError(f"no CA in {args.dir}: run `settle certs ca {args.dir} --cluster ID` first")
        authority = directory.ensure_authority("")  # the existing CA; never creates one here
        directory.ensure_identity(authority, args.identity, hosts=hosts, server=server)
    except TlsFileError as error:
        print(f"settle: {error}", file=out)
        return EXIT_USAGE
    kind = "node" if server else "client"
    print(f"{kind} certificate for {args.identity}: {directory.certificate(args.identity)}, "
          f"{directory.key(args.identity)} (0600)", file=out)
    return EXIT_OK


def _node(args: argparse.Namespace, out: TextIO) -> int:
    return _issue(args, out, hosts=tuple(dict.fromkeys(args.host)), server=True)


def _client(args: argparse.Namespace, out: TextIO) -> int:
    return _issue(args, out, hosts=(), server=False)
