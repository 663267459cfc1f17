"""`settle status --watch`: the cluster's status as a live table, refreshed in place.

Per node: role, term, commit and applied index, lag (how far its applied index is behind the
highest any node reported), state hash prefix, ready/diverged; below it the venue mode and the
breakers from GetGuards. Guards are read LOCAL from the node with the highest applied index: a
LINEARIZABLE read would log a no-op barrier entry on every refresh, and a watcher must not write
to the log it watches.

On a terminal each frame clears the screen (ANSI); otherwise (a pipe, a file, a test) frames are
printed one after another under a separator line. Ctrl-C exits 0; `--count N` stops after N
frames.
"""

from __future__ import annotations

import argparse
import time
from typing import TextIO

from node.api.settlement.v1 import cluster_pb2, state_pb2
from node.cli import render
from node.client.errors import SettlementError
from node.client.sdk import LOCAL
from node.units import usd

interval_s_default = 2.0
interval_s_min = 0.1  # below this the table is unreadable and the nodes are polled for nothing
CLEAR_SCREEN = "\x1b[H\x1b[2J"
HEADER = ["node", "address", "role", "term", "commit", "applied", "lag", "state_hash", "ready"]


def add_watch_options(status: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds --watch/--interval/--count to the `status` command; without --watch it runs as before."""
    once = status.get_default("run")
    status.add_argument("--watch", action="store_true", help="refresh a live table until Ctrl-C")
    status.add_argument("--interval", type=float, default=interval_s_default, metavar="S",
                        help=f"seconds between refreshes (--watch; default {interval_s_default:g})")
    status.add_argument("--count", type=int, default=0, metavar="N", help="stop after N refreshes (--watch; 0 = never)")

    def run(client, args: argparse.Namespace, out: TextIO) -> int:
        return watch(client, args, out) if args.watch else once(client, args, out)

    status.set_defaults(run=run)
    return status


def watch(client, args: argparse.Namespace, out: TextIO) -> int:
    interval = max(args.interval, interval_s_min)
    clear = out.isatty()
    frame = 0
    try:
        while True:
            frame += 1
            text = frame_text(client)
            if clear:
                out.write(CLEAR_SCREEN)
            else:
                out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} refresh {frame} ---\n")
            out.write(text + "\n")
            out.flush()
            if args.count and frame >= args.count:
                return 0
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0


def frame_text(client) -> str:
    rows = client.statuses()
    answered = [(a, s) for a, s in rows if not isinstance(s, SettlementError)]
    highest = max((s.applied_index for _, s in answered), default=0)
    table = []
    for address, status in rows:
        if isinstance(status, SettlementError):
            table.append(["-", address, "UNREACHABLE", "-", "-", "-", "-", "-", "-"])
            continue
        table.append([
            status.node_id, address, cluster_pb2.ClusterStatus.Role.Name(status.role), str(status.term),
            str(status.commit_index), str(status.applied_index), str(highest - status.applied_index),
            status.state_hash.hex()[:render.state_hash_prefix_hex_digits] or "-",
            "DIVERGED" if status.diverged else ("yes" if status.ready else "no"),
        ])
    lines = [render._table(HEADER, table)]
    lines += [f"{s.node_id} DIVERGED {s.diverged_reason}" for _, s in answered if s.diverged]
    lines.append(_guards_text(client, answered, highest))
    return "\n".join(lines)


def _guards_text(client, answered, highest: int) -> str:
    source = next((a for a, s in answered if s.applied_index == highest and not s.diverged), None)
    if source is None:
        return "guards: no ready node to read them from"
    try:
        guards = client.get_guards(LOCAL, address=source)
    except SettlementError as error:
        return f"guards: unavailable from {source}: {error}"
    text = (f"mode {state_pb2.Guards.Mode.Name(guards.mode)}"
            + (f" ({guards.mode_reason})" if guards.mode_reason else "")
            + f"  insurance fund {usd(guards.insurance_fund)}  funds' equity {usd(guards.funds_equity)}"  # judged at the mark
            + f"  epoch {guards.checkpoint_epoch}  (from {source})")
    if guards.breakers:
        return text + "\n" + render.breakers_table(guards.breakers)
    return text + "\nno breakers tripped"
