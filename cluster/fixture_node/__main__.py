"""python -m cluster.fixture_node [FLAGS] --config node.toml: see the package's docstring."""

from __future__ import annotations

import argparse

from node.main import NodeFixture, main as node_main
from node.replica.raft import RaftOverrides

from cluster.fixture_node.flags import POWER_CUT_SHADOW, ROGUE, UNSAFE_NO_RAFT_ENCRYPTION, UNSAFE_SKIP_JOURNAL_SYNC
from cluster.fixture_node.journals import PowerCutShadowJournal, UnsyncedShadowJournal


def fixture_from(args: argparse.Namespace) -> NodeFixture:
    journal_factory = UnsyncedShadowJournal if args.unsafe_skip_journal_sync else (
        PowerCutShadowJournal if args.power_cut_shadow else None)
    overrides = RaftOverrides(
        **({"journal_factory": journal_factory} if journal_factory else {}),
        raft_encryption=not args.unsafe_no_raft_encryption,
    )
    start_beside = None
    if args.rogue:
        from cluster.fixture_node.rogue import start_rogue

        start_beside = start_rogue
    switched = [name for name, on in ((POWER_CUT_SHADOW, args.power_cut_shadow),
                                      (UNSAFE_SKIP_JOURNAL_SYNC, args.unsafe_skip_journal_sync),
                                      (UNSAFE_NO_RAFT_ENCRYPTION, args.unsafe_no_raft_encryption),
                                      (ROGUE, args.rogue)) if on]
    return NodeFixture(description=" ".join(switched) or "no switches", raft_overrides=overrides,
                       start_beside=start_beside)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m cluster.fixture_node", add_help=True,
                                     description="TEST-ONLY: a settlement node with test behaviour injected.")
    parser.add_argument(POWER_CUT_SHADOW, action="store_true",
                        help="keep a copy of the journal as last synced (raft.journal.synced) to simulate power cuts")
    parser.add_argument(UNSAFE_SKIP_JOURNAL_SYNC, action="store_true",
                        help="never sync the journal (implies the shadow copy): shows the power-cut test fails")
    parser.add_argument(UNSAFE_NO_RAFT_ENCRYPTION, action="store_true",
                        help="Raft without the cluster password (the security bench measures its cost)")
    parser.add_argument(ROGUE, action="store_true", help="forge and replay emergency actions (cluster/fixture_node/rogue.py)")
    args, node_argv = parser.parse_known_args()
    node_main(node_argv, fixture_from(args))


if __name__ == "__main__":
    main()
