"""`settle node reset`: empty a stopped node so that it is restored, from its peers or from a
backup, without forgetting its Raft term and vote (node/replica/emptying.py has the rule).

    settle node reset --data-dir DIR   # exit 0 emptied; 1 refused (the node runs, DIR holds no
                                       # state, its term and vote do not parse); 2 IO error

The node's state (store, journal, dump, checkpoint dumps) moves to `DIR.reset-<UTC time>`; its
config, keys and logs stay, and so do its term and vote. Then start the node (its peers restore
it: one node at a time) or run `settle restore FILE --data-dir DIR` first.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TextIO

from node.data_lock import DataDirLocked
from node.replica.emptying import NothingToReset, reset_node
from node.replica.journal import TermAndVoteUnreadable

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def register(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Adds `reset` to the `settle node` actions."""
    sub = actions.add_parser("reset", parents=[common], help="empty a stopped node for a restore, keeping its Raft vote",
                             description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("--data-dir", required=True, type=Path, metavar="DIR", help="the stopped node's data_dir")
    sub.set_defaults(offline=_reset)


def _reset(args: argparse.Namespace, out: TextIO) -> int:
    try:
        aside, carried = reset_node(args.data_dir)
    except (DataDirLocked, NothingToReset) as error:
        print(f"settle: refused: {error}; nothing changed", file=out)
        return EXIT_REFUSED
    except TermAndVoteUnreadable as error:
        print(f"settle: refused: the node's Raft term and vote do not parse ({error}); nothing changed. "
              "Replace the node instead: settle cluster remove-node, then add-node", file=out)
        return EXIT_REFUSED
    except OSError as error:
        print(f"settle: {error}", file=out)
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"data_dir": str(args.data_dir), "moved_to": str(aside), "term": carried.term,
                          "voted_for": carried.voted_for}), file=out)
    else:
        vote = f"voted for {carried.voted_for}" if carried.voted_for else "no vote"
        print(f"moved the state of {args.data_dir} to {aside}; kept its Raft term {carried.term} ({vote} in it). "
              "Start the node empty (its peers restore it; touch no other node until it has caught up) "
              "or restore it first: settle restore FILE --data-dir DIR", file=out)
    return EXIT_OK
