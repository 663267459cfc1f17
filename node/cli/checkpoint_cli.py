"""`settle checkpoint export DIR` and `settle checkpoint verify DIR [--signers FILE]`: the auditor.

export fetches the latest certified checkpoint (or --index), the signer set the cluster serves,
and the state dump a node kept at that index (GetCheckpointDump, tried node by node until one
has it and it hashes to the certificate), and writes DIR/certificate.json and DIR/dump.records.
verify needs no cluster: it checks the signatures against a signer set and recomputes the hash
from the dump (node/checkpoint/audit.py). Exit codes: 0 valid (export: exported), 1 invalid (or
no node kept a dump matching the certificate), 2 usage or IO error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

import grpc

from node.api.settlement.v1 import settlement_pb2, settlement_pb2_grpc, state_pb2
from node.checkpoint.audit import CERTIFICATE_FILE, DUMP_FILE, AuditInputError, audit
from node.checkpoint.dump import DumpError, summarize
from node.cli.cli_identity import cli_tls
from node.client import limits
from node.identity.signer_set import signer_set_document
from node.ledger.governance import POLICY_FIELDS
from node.tls.client import ClientTls, sync_channel

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

dump_fetch_timeout_s = 300.0  # one node's whole dump stream


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Adds `checkpoint export` and `checkpoint verify` to the settle parser."""
    checkpoint = commands.add_parser("checkpoint", help="export a certified checkpoint, or verify one offline",
                                     description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = checkpoint.add_subparsers(dest="checkpoint_action", required=True, metavar="ACTION")
    export = actions.add_parser("export", parents=[common], help="write the certificate and the state dump to DIR")
    export.add_argument("dir", type=Path, metavar="DIR")
    export.add_argument("--index", type=int, default=0, help="the certified index (default: the latest)")
    export.set_defaults(run=export_checkpoint)
    verify = actions.add_parser("verify", parents=[common], help="check an exported checkpoint offline")
    verify.add_argument("dir", type=Path, metavar="DIR")
    verify.add_argument("--signers", type=Path, metavar="FILE",
                        help="the signer set you trust (JSON: cluster, policy, signers; e.g. the cluster's signers.json)")
    verify.set_defaults(offline=verify_checkpoint)


# -- export -----------------------------------------------------------------------------------


def export_checkpoint(client, args: argparse.Namespace, out: TextIO) -> int:
    checkpoint = client.get_checkpoint(args.index)
    guards = client.get_guards()
    certificate = {
        "index": checkpoint.index,
        "hash": checkpoint.state_hash.hex(),
        "epoch": checkpoint.epoch,
        "signatures": [[s.node, s.signature.hex()] for s in checkpoint.signatures],
        "signer_set": _signer_set(guards.signer_set) if guards.HasField("signer_set") else None,
    }
    try:
        args.dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"settle: cannot create {args.dir}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    dump = args.dir / DUMP_FILE
    source = None
    for address in client.addresses:
        problem = _fetch_dump(address, checkpoint.index, checkpoint.state_hash, dump, cli_tls(args))
        if problem is None:
            source = address
            break
        print(f"settle: {address}: {problem}", file=sys.stderr)
    if source is None:
        print(f"settle: no node had a dump of checkpoint {checkpoint.index} matching its certified hash", file=sys.stderr)
        return EXIT_INVALID
    certificate["dump_from"] = source
    (args.dir / CERTIFICATE_FILE).write_text(json.dumps(certificate, indent=2, sort_keys=True) + "\n")
    print(f"exported checkpoint {checkpoint.index} (epoch {checkpoint.epoch}, hash {checkpoint.state_hash.hex()}, "
          f"signed by {', '.join(s.node for s in checkpoint.signatures)}) and its dump from {source} to {args.dir}",
          file=out)
    return EXIT_VALID


def _signer_set(signer_set: state_pb2.SignerSet) -> dict:
    signers = [
        {"key_id": s.key_id, "public_key": s.public_key.hex(), "role": s.role} | ({"accounts": list(s.accounts)} if s.accounts else {})
        for s in signer_set.signers
    ]
    policy = {field: getattr(signer_set, field) for field in POLICY_FIELDS}
    return signer_set_document(signer_set.cluster, signers, policy)


def _fetch_dump(address: str, index: int, state_hash: bytes, target: Path, tls: ClientTls | None = None) -> str | None:
    """Streams one node's dump of `index` into `target`; None when it arrived whole and its
    records hash to what the node certified, else what went wrong (the file is removed)."""
    partial = target.with_name(target.name + ".partial")
    options = [("grpc.max_receive_message_length", limits.message_bytes_max)]
    try:
        with sync_channel(address, tls, options) as channel, open(partial, "wb") as f:
            stub = settlement_pb2_grpc.SettlementStub(channel)
            request = settlement_pb2.GetCheckpointDumpRequest(index=index)
            for chunk in stub.GetCheckpointDump(request, timeout=dump_fetch_timeout_s):
                f.write(chunk.data)
            f.flush()
            os.fsync(f.fileno())
        summary = summarize(partial)
    except grpc.RpcError as error:
        partial.unlink(missing_ok=True)
        return f"{error.code().name}: {error.details()}"
    except DumpError as error:
        partial.unlink(missing_ok=True)
        return f"the dump is damaged: {error}"
    if summary.index != index or summary.state_hash != state_hash:
        partial.unlink(missing_ok=True)
        return f"its dump (index {summary.index}) hashes to {summary.state_hash.hex()}, not the certified {state_hash.hex()}"
    os.replace(partial, target)
    return None


# -- verify -----------------------------------------------------------------------------------


def verify_checkpoint(args: argparse.Namespace, out: TextIO) -> int:
    try:
        report = audit(args.dir, args.signers)
    except AuditInputError as error:
        print(f"settle: {error}", file=sys.stderr)
        return EXIT_USAGE
    for warning in report.warnings:
        print(f"WARNING: {warning}", file=out)
    print(f"checkpoint {report.index}, epoch {report.epoch}, hash {report.state_hash}", file=out)
    print(f"signer set: {report.signer_set_source}", file=out)
    if report.valid_signers:
        print(f"valid node signatures: {', '.join(report.valid_signers)} (threshold {report.threshold})", file=out)
    print(f"dump: {report.records} records", file=out)
    if report.valid:
        print(f"state: {report.accounts} accounts, {report.markets} markets, total collateral {report.total_collateral}; "
              "the ledger's invariants hold", file=out)
        print("VALID: a quorum of node keys certified this hash, and the dump's records hash to it", file=out)
        return EXIT_VALID
    for problem in report.problems:
        print(f"problem: {problem}", file=out)
    print("INVALID", file=out)
    return EXIT_INVALID
