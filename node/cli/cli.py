"""`settle`: the operator's and script's command line over the SDK.

    settle [--nodes H:P,H:P | --cluster-file PATH] [--json] [--timeout S] COMMAND ...

Prices are signed by their oracle source: `settle price MARKET SOURCE PRICE --key-file PATH`.
`settle new-key PATH` and `settle public-key PATH` need no cluster.

Nodes come from --nodes, else --cluster-file, else ./data/cluster.json (written by the launcher).
Exit codes: 0 ok; 1 a command was rejected (its result code is not OK) or the account/market does
not exist; 2 usage error, request refused as a whole, or no node reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from node.api.settlement.v1 import events_pb2
from node.cli import render
from node.cli.action_cli import register as register_action_commands
from node.cli.backup_cli import register as register_backup_commands
from node.cli.certs_cli import register as register_certs_commands
from node.cli.checkpoint_cli import register as register_checkpoint_commands
from node.cli.cli_identity import add_identity_options, cli_identity
from node.cli.cluster_file import DEFAULT_CLUSTER_FILE
from node.cli.common import UsageError, node_addresses
from node.cli.membership_cli import register as register_membership_commands
from node.cli.status_watch import add_watch_options
from node.client import commands as build
from node.client.errors import BatchExpired, NotFound, OutcomeUnknown, SettlementError
from node.client.sdk import LINEARIZABLE, LOCAL, SettlementClient
from node.client.sync import SyncSettlementClient
from node.identity.clock import now_ms
from node.identity.credentials import IdentityError
from node.identity.key_files import read_private_key, write_private_key
from node.identity.keys import KeyFormatError, parse_public_key_hex, raw_public_key
from node.ledger.limits import (
    outlier_bps_default,
    unwind_deadline_ms_default,
    unwind_discount_max_bps_default,
    unwind_slope_bps_per_minute_default,
    unwind_start_bps_default,
    unwind_window_ms_default,
)
from node.ledger.commands import Command, MakerSide, MarketKind, OptionType, OracleSource

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2

Run = Callable[[SyncSettlementClient, argparse.Namespace, TextIO], int]


class _Ambiguous(Exception):
    """A submit gave up without knowing whether its command was applied."""


def _integer(text: str) -> int:
    """An integer in minor units; underscores allowed (5_000_000). Never a float."""
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


# -- writes ---------------------------------------------------------------------------------

_COLLATERAL = ("collateral",)


def _submit(
    client: SyncSettlementClient, command: Command, args: argparse.Namespace, out: TextIO, *, shown: tuple[str, ...] = ()
) -> int:
    try:
        reply = client.submit([command], first_signed_at_ms=getattr(args, "first_signed_at_ms", None))
    except OutcomeUnknown as error:
        raise _Ambiguous(
            f"{error}\nrepeat it with --id {command.id} --first-signed-at-ms {error.signed_at_ms} to learn its outcome "
            "(applied at most once, within the cluster's dedup retention)"
        ) from None

    print(render.reply_json(reply) if args.json else render.reply_text(reply, shown=shown), file=out)
    return EXIT_OK if all(result.ok for result in reply.results) else EXIT_REJECTED


def _deposit(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    return _submit(client, build.deposit(args.account, args.amount, id=args.id), args, out, shown=_COLLATERAL)


def _withdraw(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    return _submit(client, build.withdraw(args.account, args.amount, id=args.id), args, out, shown=_COLLATERAL)


def _trade(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    command = build.settle_trade(
        args.market, args.buyer, args.seller, args.price, args.quantity,
        buyer_fee=args.buyer_fee, seller_fee=args.seller_fee, maker_side=MakerSide[args.maker.upper()], id=args.id,
    )
    return _submit(client, command, args, out, shown=("collateral", "counterparty_collateral"))


def _price(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    source_time_ms = args.source_time_ms if args.source_time_ms is not None else now_ms()
    if args.key_file is not None:
        key = _private_key(args.key_file)
        try:
            command = build.signed_price_update(args.market, args.source, args.price, key, source_time_ms=source_time_ms, id=args.id)
        except ValueError as error:
            raise UsageError(str(error)) from None
        return _submit(client, command, args, out)
    if args.signature_hex is None:
        raise UsageError("a price must be signed by its source: pass --key-file PATH (or a ready --signature-hex)")
    try:
        signature = bytes.fromhex(args.signature_hex)
    except ValueError:
        raise UsageError("--signature-hex must be hex digits") from None
    command = build.price_update(args.market, args.source, args.price, source_time_ms, signature=signature, id=args.id)
    return _submit(client, command, args, out)


def _private_key(path: Path):
    try:
        return read_private_key(path)
    except KeyFormatError as error:
        raise UsageError(str(error)) from None


def _source(text: str) -> OracleSource:
    """--source NAME:PUBLIC_KEY_HEX."""
    name, colon, key_hex = text.rpartition(":")
    if not colon or not name:
        raise argparse.ArgumentTypeError(f"expected NAME:PUBLIC_KEY_HEX, not {text!r}")
    try:
        return build.oracle_source(name, parse_public_key_hex(key_hex))
    except KeyFormatError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _create_market(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    kind = {"perpetual": MarketKind.PERPETUAL, "future": MarketKind.FUTURE, "option": MarketKind.OPTION}[args.kind]
    if kind == MarketKind.FUTURE and not args.expiry_ms:
        raise UsageError("a future needs --expiry-ms")
    option_terms = {}
    if kind == MarketKind.OPTION:  # docs/design.md#options
        if not (args.underlying and args.strike and args.option_type and args.expiry_ms):
            raise UsageError("an option needs --underlying, --strike, --option-type and --expiry-ms")
        option_type = {"call": OptionType.CALL, "put": OptionType.PUT}[args.option_type]
        option_terms = dict(underlying=args.underlying, strike_price=args.strike, option_type=option_type)
    if not args.source:
        raise UsageError(
            "a market needs at least one oracle --source NAME:PUBLIC_KEY_HEX "
            "(`settle public-key KEY_FILE` prints a source key's public key)"
        )
    command = build.create_market(
        args.market,
        kind,
        sources=args.source,
        id=args.id,
        tick_size=args.tick,
        lot_size=args.lot,
        initial_margin_bps=args.im_bps,
        maintenance_margin_bps=args.mm_bps,
        liquidation_fee_bps=args.liquidation_fee_bps,
        open_interest_cap=args.oi_cap,
        trade_band_bps=args.trade_band_bps,
        band_bps=args.band_bps,
        band_window_ms=args.band_window_ms,
        cooldown_ms=args.cooldown_ms,
        expiry_ms=args.expiry_ms,
        min_sources=args.min_sources,
        stale_after_ms=args.stale_after_ms,
        volatility_bps=args.volatility_bps,
        twap_window_ms=args.twap_window_ms,
        outlier_bps=args.outlier_bps,
        clamp_after_ms=args.clamp_after_ms,
        settlement_window_ms=args.settlement_window_ms,
        liquidation_slice_bps=args.liquidation_slice_bps,
        liquidation_window_ms=args.liquidation_window_ms,
        liquidation_cap_notional=args.liquidation_cap_notional,
        fund_position_cap=args.fund_position_cap,
        unwind_start_bps=args.unwind_start_bps,
        unwind_slope_bps_per_minute=args.unwind_slope_bps_per_minute,
        unwind_discount_max_bps=args.unwind_discount_max_bps,
        unwind_slice_contracts=args.unwind_slice_contracts,
        unwind_window_ms=args.unwind_window_ms,
        unwind_deadline_ms=args.unwind_deadline_ms,
        **option_terms,
    )
    return _submit(client, command, args, out)


# -- keys (no cluster needed) ---------------------------------------------------------------


def _public_key(args: argparse.Namespace, out: TextIO) -> int:
    print(raw_public_key(_private_key(args.key_file)).hex(), file=out)
    return EXIT_OK


def _new_key(args: argparse.Namespace, out: TextIO) -> int:
    try:
        key = write_private_key(args.key_file)
    except OSError as error:
        raise UsageError(f"cannot create {args.key_file}: {error.strerror or error}") from None
    print(raw_public_key(key).hex(), file=out)
    return EXIT_OK


# -- reads ----------------------------------------------------------------------------------


def _consistency(args: argparse.Namespace) -> str:
    return LOCAL if args.local else LINEARIZABLE


def _account(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    account = client.get_account(args.account, _consistency(args))
    print(render.dumps(render.plain(account)) if args.json else render.account_text(account), file=out)
    return EXIT_OK


def _market(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    market = client.get_market(args.market, _consistency(args))
    print(render.dumps(render.plain(market)) if args.json else render.market_text(market), file=out)
    return EXIT_OK


def _guards(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    guards = client.get_guards(_consistency(args))
    print(render.dumps(render.plain(guards)) if args.json else render.guards_text(guards), file=out)
    return EXIT_OK


def _status(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    rows = client.statuses()
    print(render.status_json(rows) if args.json else render.status_text(rows), file=out)
    # Unreachable nodes are rows of the table; only a cluster with no node answering is an error.
    return EXIT_OK if any(not isinstance(status, SettlementError) for _, status in rows) else EXIT_USAGE


def _watch(client: SyncSettlementClient, args: argparse.Namespace, out: TextIO) -> int:
    """Stream events until Ctrl-C or SIGTERM, resuming on another node when one goes away (the
    SDK's watch). Runs the async SDK on this thread, with the signals turned into a cancellation
    of the stream: no hand-off between threads for a signal to race."""
    kinds = [events_pb2.EventKind.Value(kind.upper()) for kind in args.kind]
    if args.from_index < 0:
        raise UsageError("--from-index must be a log index (1 or more), or 0 for only new events")

    async def stream() -> None:
        async with SettlementClient(client.addresses, timeout_s=args.timeout, identity=cli_identity(args)) as watcher:
            async for event in watcher.watch_events(kinds, args.from_index or None):
                print(render.dumps(render.plain(event)) if args.json else render.event_text(event), file=out, flush=True)

    async def until_interrupted() -> None:
        task = asyncio.ensure_future(stream())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(until_interrupted())
    return EXIT_OK


# -- the parser -----------------------------------------------------------------------------


def _common(defaults: bool) -> argparse.ArgumentParser:
    """Global options, accepted before or after the subcommand (a subcommand's copy has no
    defaults, so it does not overwrite a value given before it)."""
    common = argparse.ArgumentParser(add_help=False)
    suppress = {} if defaults else {"default": argparse.SUPPRESS}
    where = common.add_mutually_exclusive_group()
    where.add_argument("--nodes", help="comma-separated gRPC host:port of the nodes", **({"default": None} | suppress))
    where.add_argument(
        "--cluster-file", type=Path, help=f"the launcher's cluster.json (default: ./{DEFAULT_CLUSTER_FILE} if it exists)",
        **({"default": None} | suppress),
    )
    common.add_argument("--json", action="store_true", help="machine-readable output", **({"default": False} | suppress))
    common.add_argument("--timeout", type=float, help="seconds per command, retries included", **({"default": 5.0} | suppress))
    add_identity_options(common, suppress)
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="settle", description="Talk to a settlement cluster.", parents=[_common(defaults=True)],
        epilog="Amounts and prices are integers in quote minor units (1 = 1e-6 USD); quantities in contracts.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common(defaults=False)

    def command(name: str, run: Run, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, parents=[common])
        sub.set_defaults(run=run)
        return sub

    def with_id(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--id", help="command id (default: a fresh unique one); reuse it to retry exactly once")
        sub.add_argument("--first-signed-at-ms", type=int, metavar="MS",
                         help="a retry: when the command was first signed (the failed attempt prints it)")

    sub = command("deposit", _deposit, "credit collateral to an account")
    sub.add_argument("account")
    sub.add_argument("amount", type=_integer)
    with_id(sub)

    sub = command("withdraw", _withdraw, "debit free collateral from an account")
    sub.add_argument("account")
    sub.add_argument("amount", type=_integer)
    with_id(sub)

    sub = command("trade", _trade, "settle one fill: buyer goes long, seller short")
    sub.add_argument("market")
    sub.add_argument("buyer")
    sub.add_argument("seller")
    sub.add_argument("price", type=_integer)
    sub.add_argument("quantity", type=_integer)
    sub.add_argument("--buyer-fee", type=_integer, default=0)
    sub.add_argument("--seller-fee", type=_integer, default=0)
    sub.add_argument("--maker", choices=("none", "buyer", "seller"), default="none",
                     help="the side that rested on the book: the ledger charges the market's fee schedule (fees must be 0)")
    with_id(sub)

    sub = command("price", _price, "submit a mark-price observation, signed by its source")
    sub.add_argument("market")
    sub.add_argument("source")
    sub.add_argument("price", type=_integer)
    sub.add_argument("--source-time-ms", type=_integer, help="the source's clock (default: now; the ledger takes "
                     "it up to 10 s ahead of the leader's clock and no older than the market's stale_after_ms)")
    signing = sub.add_mutually_exclusive_group()
    signing.add_argument("--key-file", type=Path, help="the source's Ed25519 private key, signs the price: a file "
                         "of 32 raw bytes or 64 hex digits (`settle new-key` writes one; keep it 0600)")
    signing.add_argument("--signature-hex", help="a signature made elsewhere over the price's canonical bytes")
    with_id(sub)

    defaults = build.MARKET_DEFAULTS
    sub = command("create-market", _create_market, "list a new market")
    sub.add_argument("market")
    sub.add_argument("--kind", choices=("perpetual", "future", "option"), default="perpetual")
    sub.add_argument("--expiry-ms", type=_integer, default=0, help="futures and options: expiry in ledger time (ms)")
    sub.add_argument("--underlying", default="", help="options: the PERPETUAL or FUTURE market the option is on")
    sub.add_argument("--strike", type=_integer, default=0, help="options: strike (minor units, a multiple of the underlying's tick)")
    sub.add_argument("--option-type", choices=("call", "put"), help="options: a European cash-settled call or put")
    sub.add_argument("--tick", type=_integer, default=defaults["tick_size"], help="price tick (minor units)")
    sub.add_argument("--lot", type=_integer, default=defaults["lot_size"], help="quantity lot (contracts)")
    sub.add_argument("--im-bps", type=_integer, default=defaults["initial_margin_bps"], help="initial margin")
    sub.add_argument("--mm-bps", type=_integer, default=defaults["maintenance_margin_bps"], help="maintenance margin")
    sub.add_argument("--liquidation-fee-bps", type=_integer, default=defaults["liquidation_fee_bps"])
    sub.add_argument("--oi-cap", type=_integer, default=defaults["open_interest_cap"], help="open-interest cap (contracts)")
    sub.add_argument("--trade-band-bps", type=_integer, default=defaults["trade_band_bps"], help="fat-finger band")
    sub.add_argument("--band-bps", type=_integer, default=defaults["band_bps"], help="breaker band")
    sub.add_argument("--band-window-ms", type=_integer, default=defaults["band_window_ms"])
    sub.add_argument("--cooldown-ms", type=_integer, default=defaults["cooldown_ms"])
    sub.add_argument("--source", type=_source, action="append", default=[], metavar="NAME:PUBLIC_KEY_HEX",
                     help="an oracle source and its Ed25519 public key (64 hex digits); repeat for each, 1-16")
    sub.add_argument("--min-sources", type=_integer, default=1, help="fresh sources needed, else the market is stale")
    sub.add_argument("--stale-after-ms", type=_integer, default=60_000, help="how long a source's price stays fresh")
    sub.add_argument("--volatility-bps", type=_integer, default=0, help="mark vs. its average beyond this: no liquidations (0 = off)")
    sub.add_argument("--twap-window-ms", type=_integer, default=0, help="window of the mark's average (with --volatility-bps)")
    # Sources judged against the others (docs/design.md#outliers-and-clamps).
    sub.add_argument("--outlier-bps", type=_integer, default=outlier_bps_default,
                     help="a print this far from the other sources' median is not counted (0 = off)")
    sub.add_argument("--clamp-after-ms", type=_integer, default=0,
                     help="a source whose price has not changed this long while another moved is not counted (0 = off)")
    # Settlement price (docs/design.md#settlement-price).
    sub.add_argument("--settlement-window-ms", type=_integer, default=0,
                     help="futures: settle at the average VALID mark over this window before expiry (0 = 30 minutes)")
    sub.add_argument("--liquidation-slice-bps", type=_integer, default=10_000, help="share of a position closed per entry")
    sub.add_argument("--liquidation-window-ms", type=_integer, default=0)
    sub.add_argument("--liquidation-cap-notional", type=_integer, default=0, help="liquidated per window, minor units (0 = no cap)")
    sub.add_argument("--fund-position-cap", type=_integer, default=0, help="contracts the market's fund may take over (0 = no cap)")
    # The fund's unwinding (docs/design.md#insurance-fund-unwinding); defaults as the ledger's.
    sub.add_argument("--unwind-start-bps", type=_integer, default=unwind_start_bps_default,
                     help="the fund's auction opens this far from the mark (bps)")
    sub.add_argument("--unwind-slope-bps-per-minute", type=_integer, default=unwind_slope_bps_per_minute_default,
                     help="and deepens this much per minute of ledger time (bps)")
    sub.add_argument("--unwind-discount-max-bps", type=_integer, default=unwind_discount_max_bps_default,
                     help="down to at most this discount (bps)")
    sub.add_argument("--unwind-slice-contracts", type=_integer, default=0,
                     help="contracts the auction may sell per window (0 = no cap)")
    sub.add_argument("--unwind-window-ms", type=_integer, default=unwind_window_ms_default, help="the auction's window (ms)")
    sub.add_argument("--unwind-deadline-ms", type=_integer, default=unwind_deadline_ms_default,
                     help="what the fund still holds this long after inheriting it is auto-deleveraged (ms)")
    with_id(sub)

    for name, run, help in (
        ("account", _account, "read an account's collateral and positions"),
        ("market", _market, "read a market's parameters and state"),
    ):
        sub = command(name, run, help)
        sub.add_argument(name)
        sub.add_argument("--local", action="store_true", help="read the node's own state, without a read barrier")

    sub = command("guards", _guards, "read the global mode and the insurance fund")
    sub.add_argument("--local", action="store_true", help="read the node's own state, without a read barrier")

    add_watch_options(command("status", _status, "every node's view: role, leader, term, indexes, state hash"))

    for name, run, help in (
        ("public-key", _public_key, "print the public key (hex) of a private key file, to register a source with"),
        ("new-key", _new_key, "create a private key file (0600, refuses to overwrite) and print its public key"),
    ):
        sub = commands.add_parser(name, help=help, description=help, parents=[common])
        sub.set_defaults(offline=run)
        sub.add_argument("key_file", type=Path, metavar="KEY_FILE")

    sub = command("watch", _watch, "stream events (Ctrl-C stops)")
    kinds = [name.lower() for name in events_pb2.EventKind.keys() if name != "EVENT_KIND_UNSPECIFIED"]
    sub.add_argument("--kind", action="append", default=[], choices=kinds, help="only these kinds (repeatable)")
    sub.add_argument("--from-index", type=int, default=0, metavar="INDEX",
                     help="first replay the events the nodes kept from this log index (default: only new ones)")
    register_action_commands(commands, common)
    register_checkpoint_commands(commands, common)
    register_backup_commands(commands, common)
    register_membership_commands(commands, common)
    register_certs_commands(commands, common)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help (0) or a usage error (2), already printed by argparse
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    offline = getattr(args, "offline", None)
    if offline is not None:
        try:
            return offline(args, out)
        except UsageError as error:
            print(f"settle: {error}", file=err)
            return EXIT_USAGE
    try:
        addresses = node_addresses(args)
    except UsageError as error:
        print(f"settle: {error}", file=err)
        return EXIT_USAGE
    try:
        identity = cli_identity(args)
    except (IdentityError, KeyFormatError) as error:
        print(f"settle: {error}", file=err)
        return EXIT_USAGE
    client = SyncSettlementClient(addresses, timeout_s=args.timeout, identity=identity)
    try:
        return args.run(client, args, out)
    except UsageError as error:
        print(f"settle: {error}", file=err)
        return EXIT_USAGE
    except NotFound as error:
        print(f"settle: {error.details}", file=err)
        return EXIT_REJECTED
    except _Ambiguous as error:
        print(f"settle: {error}", file=err)
        return EXIT_USAGE
    except BatchExpired as error:  # refused as a whole; nothing applied now
        print(f"settle: {error}", file=err)
        return EXIT_REJECTED
    except SettlementError as error:
        print(f"settle: {error}", file=err)
        return EXIT_USAGE
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
