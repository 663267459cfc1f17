"""The fixture node's command-line switches, named once for the launcher, tests and benches."""

POWER_CUT_SHADOW = "--power-cut-shadow"
UNSAFE_SKIP_JOURNAL_SYNC = "--unsafe-skip-journal-sync"
UNSAFE_NO_RAFT_ENCRYPTION = "--unsafe-no-raft-encryption"
ROGUE = "--rogue"
