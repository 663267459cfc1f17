"""The pysyncobj node: one replicated entry point, and the durability contract.

Durability contract (the order etcd's Ready loop makes explicit; pysyncobj leaves it implicit):
  1. A follower syncs its journal after appending an append_entries message's entries and BEFORE
     it answers (`__sendNextNodeIdx`): a success answer promises the entries survive a power cut.
  2. The leader appends client entries in `_checkCommandsToApply`; tick callbacks run after it in
     the same tick, and one sync there covers every entry of the tick (group commit). The leader
     counts itself toward the commit quorum only at the start of the NEXT tick, so it never
     counts an entry it has not synced.
  3. A client is acknowledged only after its entry is committed and applied, so after 1 and 2
     an acknowledged settlement is on a majority's disk.
Term and vote are synced on every change (journal.DurableMetaStorer).

pysyncobj's private names (`_isLeader`, `_getLeader`, name-mangled attributes) are used in this
module only: the rest of the node asks LedgerRaft's public methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pysyncobj.syncobj as syncobj_module
from pysyncobj import SyncObj, SyncObjConf, replicated

from node.config import NodeConfig
from node.replica.journal import DurableFileJournal

Applier = Callable[[int, bytes], object]
# Builds the journal from its file name. Production: DurableFileJournal. A test fixture
# (cluster/fixture_node) may hand in a subclass that simulates power cuts.
JournalFactory = Callable[[str], DurableFileJournal]


@dataclass(frozen=True, slots=True)
class RaftOverrides:
    """What a test fixture (cluster/fixture_node) may swap; production always uses the defaults
    and no production code path sets anything else."""

    journal_factory: JournalFactory = DurableFileJournal
    raft_encryption: bool = True  # False: no cluster password (the security bench measures its cost)


class LedgerRaft(SyncObj):
    def __init__(
        self,
        config: NodeConfig,
        applier: Applier,
        serializer: Callable,
        deserializer: Callable,
        on_ready: Callable[[], None],
        overrides: RaftOverrides = RaftOverrides(),
    ) -> None:
        self.applier = applier
        tuning = config.raft
        conf = SyncObjConf(
            password=config.raft_password if overrides.raft_encryption else None,
            journalFile=str(config.journal_file),
            fullDumpFile=str(config.dump_file),  # always with journalFile: docs/design.md#durability-contract
            serializer=serializer,
            deserializer=deserializer,
            autoTickPeriod=tuning.tick_period_ms / 1000,
            appendEntriesPeriod=tuning.heartbeat_period_ms / 1000,
            appendEntriesUseBatch=False,  # send as soon as an entry is appended: ~1 ms commits
            raftMinTimeout=tuning.election_timeout_min_ms / 1000,
            raftMaxTimeout=tuning.election_timeout_max_ms / 1000,
            leaderFallbackTimeout=tuning.leader_fallback_ms / 1000,
            connectionRetryTime=tuning.connection_retry_ms / 1000,
            connectionTimeout=max(3.5, tuning.election_timeout_max_ms / 1000),
            logCompactionMinEntries=tuning.log_compaction_entries_min,
            logCompactionMinTime=tuning.log_compaction_period_s,
            appendEntriesBatchSizeBytes=tuning.append_entries_bytes_max,
            commandsQueueSize=tuning.commands_queue_max,
            commandsWaitLeader=False,  # fail fast: the client retries elsewhere
            dynamicMembershipChange=True,
            onReady=on_ready,
            bindAddress=config.raft_address,
        )
        journal_holder: list[DurableFileJournal] = []

        def create_durable_journal(journal_file):
            journal = overrides.journal_factory(journal_file)
            journal_holder.append(journal)
            return journal

        # pysyncobj builds its journal through this module-level factory; swap it for the
        # construction only (SyncObj must be constructed on the main thread, so no race).
        original = syncobj_module.createJournal
        syncobj_module.createJournal = create_durable_journal
        try:
            super().__init__(config.raft_address, [p.raft_address for p in config.peers], conf)
        finally:
            syncobj_module.createJournal = original
        self.journal = journal_holder[0]
        self.addOnTickCallback(self.journal.sync)  # contract step 2

    # Contract step 1: pysyncobj calls this (name-mangled) method to answer append_entries.
    def _SyncObj__sendNextNodeIdx(self, node, reset=False, nextNodeIdx=None, success=False):
        self.journal.sync()
        SyncObj._SyncObj__sendNextNodeIdx(self, node, reset=reset, nextNodeIdx=nextNodeIdx, success=success)

    @replicated
    def apply_entry(self, data: bytes):
        # raftLastApplied + 1 is the index of the entry being applied (docs/design.md#durability-contract).
        # Must never raise: an exception here is retried every tick and stalls every replica.
        return self.applier(self.raftLastApplied + 1, data)

    # -- what the rest of the node may ask (pysyncobj's own names stay in this module) ----------

    def is_leader(self) -> bool:
        return self._isLeader()

    def leader_raft_address(self) -> str | None:
        leader = self._getLeader()
        return leader.address if leader is not None else None

    @property
    def current_term(self) -> int:
        return self.raftCurrentTerm

    @property
    def commit_index(self) -> int:
        return self.raftCommitIndex

    def other_members(self) -> list[str]:
        """Raft addresses of the other members, as this node sees the membership."""
        return [node.address for node in self.otherNodes]

    def is_connected(self, raft_address: str) -> bool:
        return any(node.address == raft_address and self.isNodeConnected(node) for node in self.otherNodes)

    def match_index(self, raft_address: str) -> int:
        for node, index in self._SyncObj__raftMatchIndex.items():
            if node.address == raft_address:
                return index
        return 0
