"""`settle action ...`: proposing, signing, co-signing and submitting quorum-signed emergency actions.

    settle action propose HALT_MARKET --market BTC-PERP --out halt.json   # reads cluster id and epoch
    settle action sign halt.json --key-file guardian1.key --key-id guardian1   # offline
    settle action cosign halt.json --node 127.0.0.1:7002                  # a node whose view agrees
    settle action submit halt.json
    settle action pending | signers
    settle action propose SET_MARKET_PARAMS --market BTC-PERP --param initial_margin_bps=1500 --revert-after 60m --out t.json
    settle action propose CANCEL_PENDING --pending-nonce 4017 --out c.json   # the halt quorum, without halting
    settle action propose CUSTODY_WITHDRAW --account acct-1 --amount 2000000000000 --out w.json   # custodian keys

A proposal travels as a file (node/cli/proposals.py) from signer to signer; signing needs no
node, so a key can stay on a machine that never talks to the cluster. `propose --offline
--cluster ID --epoch E` builds one with no node at all. Exit codes as for `settle`: 1 when the
ledger (or a node asked to co-sign) refused, with its code; 2 for usage errors, malformed files
and unreachable nodes.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import TextIO

from node.api.settlement.v1 import state_pb2
from node.cli import proposals, render
from node.cli.cli_identity import cli_identity, cli_tls
from node.cli.common import UsageError, node_addresses
from node.cli.cosign import CoSignFailed, CoSignRefused, request_cosignature
from node.cli.proposals import Proposal, ProposalError
from node.client.errors import OutcomeUnknown, SettlementError
from node.client.sync import SyncSettlementClient
from node.identity.clock import now_ms
from node.identity.key_files import read_private_key
from node.identity.keys import KeyFormatError
from node.ledger.commands import ActionKind

EXIT_OK = 0
EXIT_REJECTED = 1

_HALT_CLASS = (ActionKind.HALT_MARKET, ActionKind.GLOBAL_HALT, ActionKind.CANCEL_PENDING)
_NEEDS = {
    "halt": "halt class: node or guardian signatures, at least the halt threshold; takes effect at once",
    "resume": "resume class: guardian signatures only, at least the resume threshold",
    "params": "resume class (guardians only); tightening every value: at once (a raise bounded "
              "per step, a maintenance raise phased in); any loosening: then the timelock",
    "custody": "custodian signatures only, at least the custody quorum (policy parameter custody_quorum)",
}


def _offline(run):
    """A handler `settle` runs without resolving nodes first; problems become usage errors (exit 2)."""

    def handler(args: argparse.Namespace, out: TextIO) -> int:
        try:
            return run(args, out)
        except (ProposalError, KeyFormatError, SettlementError) as error:
            raise UsageError(str(error)) from None

    return handler


def _online(run):
    def handler(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
        try:
            return run(client, args, out)
        except (ProposalError, KeyFormatError) as error:
            raise UsageError(str(error)) from None

    return handler


# -- showing a proposal ---------------------------------------------------------------------


def _utc(ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(ms: int) -> str:
    seconds = abs(ms) // 1000
    text = f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
    return f"in {text}" if ms >= 0 else f"{text} ago"


def _needs(kind: ActionKind) -> str:
    if kind in _HALT_CLASS:
        return _NEEDS["halt"]
    if kind in (ActionKind.SET_MARKET_PARAMS, ActionKind.SET_POLICY_PARAMS):
        return _NEEDS["params"]
    if kind == ActionKind.CUSTODY_WITHDRAW:
        return _NEEDS["custody"]
    return _NEEDS["resume"]


def describe(proposal: Proposal, now: int) -> str:
    """What a signer is about to approve, in words, then the exact bytes their key signs."""
    action = proposal.action
    subject = [proposal.kind.name]
    if "market" in action:
        subject.append(f"market {action['market']}")
    if "price" in action:
        subject.append(f"price {action['price']}")
    if "account" in action:
        subject.append(f"{'account' if proposal.kind == ActionKind.CUSTODY_WITHDRAW else 'backstop'} {action['account']}")
    if "discount_bps" in action:
        subject.append(f"from {action['discount_bps']} bps below the mark, at most {action['position_max']} contracts")
    if "amount" in action:
        subject.append(f"amount {action['amount']}")
    if "params" in action:
        subject.append("params " + " ".join(f"{k}={v}" for k, v in sorted(action["params"].items())))
    if "revert_after_ms" in action:
        subject.append(f"temporary: reverts by itself {action['revert_after_ms']} ms of ledger time after it applies")
    if "pending_nonce" in action:
        subject.append(f"cancels pending change {action['pending_nonce']}")
    lines = [
        "  ".join(subject),
        f"  cluster     {action['cluster']}",
        f"  epoch       {action['epoch']}",
        f"  nonce       {action['nonce']}",
        f"  not after   {_utc(action['not_after_ms'])} ({_span(action['not_after_ms'] - now)}; ledger ms {action['not_after_ms']})",
        f"  needs       {_needs(proposal.kind)}",
        f"  signed by   {', '.join(proposal.signer_ids) or 'nobody yet'}",
        "  signed bytes (what every key signs):",
        f"    {proposal.canonical_bytes.decode()}",
    ]
    return "\n".join(lines)


def _proposal_json(path: Path, proposal: Proposal) -> str:
    return render.dumps({
        "file": str(path), "action": proposal.action, "canonical_bytes": proposal.canonical_bytes.decode(),
        "signed_by": proposal.signer_ids, "command_id": proposal.command_id(),
    })


# -- propose --------------------------------------------------------------------------------


def _params(pairs: list[str]) -> dict[str, int] | None:
    if not pairs:
        return None
    params: dict[str, int] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise ProposalError(f"--param takes NAME=VALUE, not {pair!r}")
        if name in params:
            raise ProposalError(f"--param {name} given twice")
        try:
            params[name] = int(value, 10)
        except ValueError:
            raise ProposalError(f"--param {name}: not an integer: {value!r}") from None
    return params


def _cluster_and_epoch(args: argparse.Namespace) -> tuple[str, int]:
    """From the command line with --offline, else from the cluster's replicated signer set."""
    if args.offline_build:
        if args.cluster is None or args.epoch is None:
            raise ProposalError("--offline needs --cluster ID and --epoch E (`settle action signers` shows both)")
        return args.cluster, args.epoch
    if args.cluster is not None or args.epoch is not None:
        raise ProposalError("--cluster and --epoch are read from the cluster; give them only with --offline")
    with SyncSettlementClient(node_addresses(args), timeout_s=args.timeout, identity=cli_identity(args)) as client:
        guards = client.get_guards()
    if not guards.HasField("signer_set"):
        raise ProposalError("the cluster has no signer set yet (the genesis signer set is not installed)")
    return guards.signer_set.cluster, guards.checkpoint_epoch


def _propose(args: argparse.Namespace, out: TextIO) -> int:
    kind = proposals.kind_named(args.kind)
    ttl_ms = proposals.parse_duration_ms(args.ttl)
    params = _params(args.param)
    cluster, epoch = _cluster_and_epoch(args)
    now = now_ms()
    proposal = proposals.new_proposal(
        cluster, kind, epoch, now, ttl_ms=ttl_ms, nonce=args.nonce, market=args.market, price=args.price, params=params,
        account=args.account, discount_bps=args.discount_bps, position_max=args.position_max,
        amount=args.amount, pending_nonce=args.pending_nonce,
        revert_after_ms=None if args.revert_after is None else proposals.parse_duration_ms(args.revert_after),
    )
    proposals.create_proposal_file(args.out, proposal)
    if args.json:
        print(_proposal_json(args.out, proposal), file=out)
        return EXIT_OK
    print(f"proposal written to {args.out}\n{describe(proposal, now)}", file=out)
    print(f"next: settle action sign {args.out} --key-file KEY --key-id ID   (each signer, offline)", file=out)
    return EXIT_OK


# -- sign, cosign ---------------------------------------------------------------------------


def _signed_so_far(path: Path, proposal: Proposal, who: str, now: int, args: argparse.Namespace, out: TextIO) -> None:
    if args.json:
        print(_proposal_json(path, proposal), file=out)
        return
    count = len(proposal.signatures)
    print(f"{who} signed {path}: {count} signature{'s' if count != 1 else ''} ({', '.join(proposal.signer_ids)})", file=out)
    action = proposal.action
    subject = " ".join(str(action[f]) for f in ("kind", "market") if f in action)
    print(f"{subject}, nonce {action['nonce']}, expires {_span(action['not_after_ms'] - now)}; {_needs(proposal.kind)}", file=out)


def _sign(args: argparse.Namespace, out: TextIO) -> int:
    proposal = proposals.read_proposal(args.file)
    key = read_private_key(args.key_file)
    now = now_ms()
    signed = proposals.sign(proposal, args.key_id, key, now)
    proposals.replace_proposal_file(args.file, signed)
    _signed_so_far(args.file, signed, args.key_id, now, args, out)
    return EXIT_OK


def _cosign(args: argparse.Namespace, out: TextIO) -> int:
    proposal = proposals.read_proposal(args.file)
    now = now_ms()
    if now > proposal.action["not_after_ms"]:
        raise ProposalError("the proposal expired: propose it again")
    try:
        answer = request_cosignature(args.node, proposal.canonical_bytes, args.timeout, tls=cli_tls(args, "guardian1"))
    except CoSignRefused as refused:
        print(f"REFUSED  {refused}", file=out)
        return EXIT_REJECTED
    except CoSignFailed as failed:
        raise ProposalError(str(failed)) from None
    signed = proposals.add_signature(proposal, answer.key_id, answer.signature, now)
    proposals.replace_proposal_file(args.file, signed)
    _signed_so_far(args.file, signed, f"{answer.key_id} ({args.node}, because {answer.reason})", now, args, out)
    return EXIT_OK


# -- submit, pending, signers -------------------------------------------------------------------


def _submit(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    proposal = proposals.read_proposal(args.file)
    command = proposal.command()
    try:
        reply = client.submit([command])
    except OutcomeUnknown as error:
        raise UsageError(f"{error}\nsubmit the same file again to learn its outcome (it is applied at most once)") from None
    print(render.reply_json(reply) if args.json else render.reply_text(reply), file=out)
    return EXIT_OK if all(result.ok for result in reply.results) else EXIT_REJECTED


def _pending(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    guards = client.get_guards()
    if args.json:
        print(render.dumps([render.plain(change) for change in guards.pending_changes]), file=out)
        return EXIT_OK
    if not guards.pending_changes:
        print(f"no timelocked changes pending (applied index {guards.applied_index})", file=out)
        return EXIT_OK
    now = now_ms()
    rows = [
        [str(c.nonce), c.kind, c.market or "-", _utc(c.effective_at_ms), _span(c.effective_at_ms - now)]
        for c in guards.pending_changes
    ]
    print(render._table(["nonce", "kind", "market", "takes effect", "(by this clock)"], rows), file=out)
    for change in guards.pending_changes:
        print(f"  {change.nonce}: {change.canonical_bytes.decode()}", file=out)
    print("a halt of the market (or a global halt) cancels its timelocked changes; CANCEL_PENDING cancels one without halting;"
          " phase-ins and reverts of a tightening are not cancellable", file=out)
    return EXIT_OK


def signer_set_text(guards: state_pb2.Guards) -> str:
    s = guards.signer_set
    lines = [
        f"signer set of cluster {s.cluster}  checkpoint epoch {guards.checkpoint_epoch}  (applied index {guards.applied_index})",
        f"  halt class   (HALT_MARKET, GLOBAL_HALT, CANCEL_PENDING): {s.halt_threshold} node or guardian signatures, at once",
        f"  resume class (every other action: parameters, resume, settle, signer set, ...): {s.resume_threshold} guardian signatures; "
        f"loosening waits {s.timelock_ms} ms",
        "  CUSTODY_WITHDRAW: custodian signatures, the custody_quorum policy parameter",
        f"  checkpoints: {s.checkpoint_threshold} matching node votes, every {s.checkpoint_every_entries} entries or {s.checkpoint_every_ms} ms",
    ]
    table = render._table(["key_id", "role", "public_key"], [[k.key_id, k.role, k.public_key.hex()] for k in s.signers])
    lines += ["  " + line for line in table.splitlines()]
    if guards.policy_parameters:
        lines.append("  governed policy parameters (SET_POLICY_PARAMS; a move the unsafe way waits the timelock):")
        rows = [[p.name, str(p.value), str(p.default_value), "higher" if p.safer_when_higher else "lower"]
                for p in guards.policy_parameters]
        lines += ["  " + line for line in render._table(["parameter", "value", "default", "safer"], rows).splitlines()]
    return "\n".join(lines)


def _signers(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    guards = client.get_guards()
    if not guards.HasField("signer_set"):
        print("no signer set installed yet: no action can gather a quorum", file=out)
        return EXIT_REJECTED
    if args.json:
        print(render.dumps({**render.plain(guards.signer_set), "checkpoint_epoch": guards.checkpoint_epoch}), file=out)
        return EXIT_OK
    print(signer_set_text(guards), file=out)
    return EXIT_OK


# -- the parser -----------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Adds `settle action SUBCOMMAND ...` to the `settle` parser."""
    action = commands.add_parser(
        "action", help="propose, sign, co-sign and submit quorum-signed emergency actions",
        description=__doc__.split("\n\n")[0], parents=[common],
    )
    steps = action.add_subparsers(dest="action_command", required=True, metavar="STEP")

    def step(name: str, help: str, *, offline=None, run=None) -> argparse.ArgumentParser:
        sub = steps.add_parser(name, help=help, description=help, parents=[common])
        sub.set_defaults(**({"offline": _offline(offline)} if offline else {"run": _online(run)}))
        return sub

    kinds = ", ".join(k.name for k in proposals.PROPOSABLE)
    sub = step("propose", "write a proposal file: the action every signer will sign", offline=_propose)
    sub.add_argument("kind", metavar="KIND", help=kinds)
    sub.add_argument("--market", help="the market of a market action")
    sub.add_argument("--price", type=int, help="EMERGENCY_SETTLE: the settlement price (minor units)")
    sub.add_argument("--amount", type=int, help="WITHDRAW_FEES, CUSTODY_WITHDRAW: how much to pay out (minor units)")
    sub.add_argument("--param", action="extend", nargs="+", default=[], metavar="NAME=VALUE",
                     help="SET_MARKET_PARAMS, SET_POLICY_PARAMS: new values, integers (--param a=1 b=2, or repeated)")
    sub.add_argument("--revert-after", metavar="DURATION",
                     help="SET_MARKET_PARAMS (tightening only): revert by itself this long after applying (90m, 3600s)")
    sub.add_argument("--pending-nonce", type=int, help="CANCEL_PENDING: the nonce of the timelocked change to cancel")
    sub.add_argument("--account", help="(UN)REGISTER_BACKSTOP: the backstop's account; CUSTODY_WITHDRAW: the account paid out")
    sub.add_argument("--discount-bps", type=int, help="REGISTER_BACKSTOP: the least discount from the mark it takes (bps)")
    sub.add_argument("--position-max", type=int, help="REGISTER_BACKSTOP: the most contracts it holds on the fund's side")
    sub.add_argument("--ttl", default="10m", help="how long the approval stays valid: 10m (default), 90s; at most 15m")
    sub.add_argument("--nonce", type=int, help="single-use number (default: a random 63-bit one)")
    sub.add_argument("--out", type=Path, required=True, help="the proposal file to create (never overwritten)")
    sub.add_argument("--offline", dest="offline_build", action="store_true", help="ask no node: give --cluster and --epoch")
    sub.add_argument("--cluster", help="with --offline: the cluster id the signer set binds")
    sub.add_argument("--epoch", type=int, help="with --offline: the current checkpoint epoch")

    sub = step("sign", "sign a proposal file with a key (offline)", offline=_sign)
    sub.add_argument("file", type=Path, metavar="FILE")
    sub.add_argument("--key-file", type=Path, required=True, help="your Ed25519 private key file")
    sub.add_argument("--key-id", required=True, help="your key's id in the signer set")

    sub = step("cosign", "ask a node to co-sign a halt its own view agrees with", offline=_cosign)
    sub.add_argument("file", type=Path, metavar="FILE")
    sub.add_argument("--node", required=True, metavar="HOST:PORT", help="the node's gRPC address")

    sub = step("submit", "submit a signed proposal as an EmergencyAction", run=_submit)
    sub.add_argument("file", type=Path, metavar="FILE")

    step("pending", "list the timelocked changes and when they take effect", run=_pending)
    step("signers", "print the signer set, its thresholds and the checkpoint epoch", run=_signers)
