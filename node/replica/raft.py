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

Log matching (Raft §5.3): a follower deletes its log suffix only on a real conflict, an entry at
the same index with another term. pysyncobj 0.3.17 deletes everything after `prevLogIdx` whenever
it holds more than that, even for entries identical to the ones the leader sends, or for a
heartbeat built from a stale nextIndex; a late or reordered message then truncated entries the
node had already applied, and its journal could end below its store (JournalBehindStore at the
next start). `LedgerRaft._SyncObj__onMessageReceived` rewrites such a message before pysyncobj
sees it (see `held_prefix`).

pysyncobj's private names (`_isLeader`, `_getLeader`, name-mangled attributes) are used in this
module only: the rest of the node asks LedgerRaft's public methods.

Keeping the tick thread free (docs/design.md#pauses-of-the-tick-thread): pysyncobj does
everything on one thread, so whatever runs there delays heartbeats and answers to the leader.
The applier and the snapshot hooks only queue work for the apply thread and return
(state_machine.py, BackgroundSerializer below); the tick thread hands committed entries over only
while the apply thread has room; and a node that could not listen for a while (a collector pause)
does not hold the leader's silence against it before it has listened once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pysyncobj.syncobj as syncobj_module
from pysyncobj import SyncObj, SyncObjConf, replicated
from pysyncobj.config import SERIALIZER_STATE
from pysyncobj.poller import PollPoller
from pysyncobj.syncobj import _RAFT_STATE
from pysyncobj.serializer import Serializer

from node.config import NodeConfig
from node.replica.journal import DurableFileJournal
from node.replica.pre_vote import PRE_VOTE, PRE_VOTE_ANSWER, PreVoteRound, grants_pre_vote
from node.replica.snapshot_writer import SnapshotProgress

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


def is_regular_append_entries(message: dict) -> bool:
    """An append_entries that names its previous entry and carries its entries whole (not a
    snapshot, not a chunk of an entry larger than append_entries_bytes_max)."""
    return (message.get("type") == "append_entries" and "prevLogIdx" in message
            and message.get("transmission") is None)


def held_prefix(log, prev_index: int, entries: list) -> int:
    """How many of `entries` (from prev_index + 1 on) `log` already holds: same index, same term,
    hence the same command (Raft's log matching property). `log` is pysyncobj's journal: a
    sequence of (command, index, term) with consecutive indexes."""
    first, end = log[0][1], log[-1][1]
    held = 0
    for _command, index, term in entries:
        if index != prev_index + 1 + held or index > end or log[index - first][2] != term:
            break
        held += 1
    return held


_SERIALIZER_STATES = {
    SnapshotProgress.IDLE: SERIALIZER_STATE.NOT_SERIALIZING,
    SnapshotProgress.WRITING: SERIALIZER_STATE.SERIALIZING,
    SnapshotProgress.WRITTEN: SERIALIZER_STATE.SUCCESS,
    SnapshotProgress.FAILED: SERIALIZER_STATE.FAILED,
}


def election_deadline_after_deafness(deadline: float, listened_at: float, now: float, tick_s: float) -> float:
    """The election deadline a tick should check: one that passed after the node last polled
    its sockets (at `listened_at`, or started) passed while it could not hear the leader, so it
    is moved to just past this tick's poll (`tick_s` from now); any other deadline stands."""
    if listened_at < deadline < now:
        return now + tick_s
    return deadline


class TimedPoll:
    """select.poll as pysyncobj's poller calls it, remembering when its last wait returned. That
    moment, not the end of the tick, is when the node last listened: what arrived while the tick
    then handled the messages it read (a received snapshot fsynced, say) waits unread in the
    sockets, and a deadline that passed meanwhile is not the leader's fault."""

    def __init__(self, inner, clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._clock = clock
        self.returned_at = clock()

    def poll(self, timeout_ms):
        events = self._inner.poll(timeout_ms)
        self.returned_at = self._clock()
        return events

    def register(self, *args):
        return self._inner.register(*args)

    def modify(self, *args):
        return self._inner.modify(*args)

    def unregister(self, *args):
        return self._inner.unregister(*args)


class BackgroundSerializer(Serializer):
    """pysyncobj's Serializer for a serializer hook that only STARTS a snapshot. pysyncobj's own
    serialize() renames `<dump>.tmp` over the dump as soon as the hook returns: for a snapshot
    still being written that would publish nothing, or a stale file. This one calls the hook with
    the dump's own name and renames nothing: the state machine writes the file in the background
    and moves it over the dump itself, on the tick thread, when the checker (serializeChecker)
    reports it written. Until the checker reports an end, pysyncobj neither starts another
    snapshot nor sends the dump to a follower."""

    def serialize(self, data, id):
        if self._Serializer__pid != 0:
            return  # a snapshot is in progress
        self._Serializer__currentID = id
        self._Serializer__pid = -1  # busy until serializeChecker reports WRITTEN or FAILED
        self._Serializer__serializer(self._Serializer__fileName, data[1:])


class CompactionByBytes:
    """Asks for a snapshot once the entries applied since it last asked hold `bytes_min` bytes.
    pysyncobj compacts its log after `logCompactionMinEntries` entries or `logCompactionMinTime`
    seconds; entries of up to 4,000 commands made the log in memory between two timed compactions
    grow with the trade rate (a saw-tooth of ~230 MB per node at 16K trades/s). Counting bytes
    bounds it by size as well."""

    def __init__(self, bytes_min: int) -> None:
        assert bytes_min > 0
        self._bytes_min = bytes_min
        self._bytes = 0

    def applied(self, entry_bytes: int) -> bool:
        """Counts an applied entry; True when a compaction is due (the count starts again)."""
        self._bytes += entry_bytes
        if self._bytes < self._bytes_min:
            return False
        self._bytes = 0
        return True


class LedgerRaft(SyncObj):
    def __init__(
        self,
        config: NodeConfig,
        applier: Applier,
        serializer: Callable,
        deserializer: Callable,
        on_ready: Callable[[], None],
        overrides: RaftOverrides = RaftOverrides(),
        *,
        snapshot_progress: Callable[[], SnapshotProgress],
        may_apply: Callable[[], bool],
    ) -> None:
        """`applier` queues an entry (returning a Future of its outcome); `serializer` starts a
        snapshot and `snapshot_progress` reports on it; `may_apply` is asked before each entry is
        handed to the applier (False: the apply thread has no room now). See state_machine.py."""
        self.applier = applier
        self._may_apply = may_apply
        tuning = config.raft
        self._compaction_by_bytes = CompactionByBytes(tuning.log_compaction_bytes_min)
        self._tick_period_s = tuning.tick_period_ms / 1000
        # When the node last polled its sockets: its start counts, since pysyncobj sets the first
        # deadline while it is constructed and a slow start (a loaded machine) can outlast it.
        self._listened_at = time.monotonic()
        # Pre-votes (pre_vote.py): when this node last heard a leader, and the round it collects.
        self._election_timeout_min_s = tuning.election_timeout_min_ms / 1000
        self._heard_leader_at = float("-inf")
        self._pre_vote = PreVoteRound()
        conf = SyncObjConf(
            password=config.raft_password if overrides.raft_encryption else None,
            journalFile=str(config.journal_file),
            fullDumpFile=str(config.dump_file),  # always with journalFile: docs/design.md#durability-contract
            serializer=serializer,
            serializeChecker=lambda: _SERIALIZER_STATES[snapshot_progress()],
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

        # pysyncobj builds its journal and its serializer through these module-level names; swap
        # them for the construction only (SyncObj must be constructed on the main thread, so no race).
        original_journal, original_serializer = syncobj_module.createJournal, syncobj_module.Serializer
        syncobj_module.createJournal = create_durable_journal
        syncobj_module.Serializer = BackgroundSerializer
        try:
            super().__init__(config.raft_address, [p.raft_address for p in config.peers], conf)
        finally:
            syncobj_module.createJournal, syncobj_module.Serializer = original_journal, original_serializer
        self.journal = journal_holder[0]
        self.addOnTickCallback(self.journal.sync)  # contract step 2
        # When the node last listened: until the timed poll below is in place (the tick thread
        # already runs), the construction counts (_onTick).
        self._timed_poll: TimedPoll | None = None
        if isinstance(self._poller, PollPoller):  # pysyncobj's poller on Linux
            self._timed_poll = TimedPoll(self._poller._PollPoller__poll)
            self._poller._PollPoller__poll = self._timed_poll

    # Log matching: pysyncobj calls this (name-mangled) method for every message from a peer.
    def _SyncObj__onMessageReceived(self, node, message):
        kind = message.get("type")
        if kind in (PRE_VOTE, PRE_VOTE_ANSWER):
            self._on_pre_vote_message(node, kind, message)
            return  # pysyncobj never sees them: they change no term and no vote
        if kind == "append_entries" and isinstance(message.get("term"), int) and message["term"] >= self.raftCurrentTerm:
            self._heard_leader_at = time.monotonic()
        if is_regular_append_entries(message) and message["term"] >= self.raftCurrentTerm:
            message = self._without_held_entries(node, message)
            if message is None:
                return
        SyncObj._SyncObj__onMessageReceived(self, node, message)

    def _without_held_entries(self, node, message: dict) -> dict | None:
        """The append_entries message pysyncobj may handle without truncating anything it need
        not, or None when it was answered here (everything matches and the log reaches further)."""
        log = self._SyncObj__raftLog
        prev_index, prev_term = message["prevLogIdx"], message["prevLogTerm"]
        first, end = log[0][1], log[-1][1]
        if not isinstance(prev_index, int) or not first <= prev_index <= end or log[prev_index - first][2] != prev_term:
            return message  # pysyncobj answers a mismatch (nextIndex back) and truncates nothing then
        entries = message.get("entries", [])
        held = held_prefix(log, prev_index, entries)
        verified_index = entries[-1][1] if entries else prev_index  # held entries are consecutive
        if held == len(entries) and verified_index < end:
            # Everything matches and this log reaches further: keep it. Hand pysyncobj the message's
            # leader, term and commit index only (no prevLogIdx: it touches no entry), committing at
            # most what this message verified, and answer for exactly that much.
            SyncObj._SyncObj__onMessageReceived(self, node, {
                "type": "append_entries", "term": message["term"],
                "commit_index": min(message["commit_index"], verified_index),
            })
            self._SyncObj__sendNextNodeIdx(node, nextNodeIdx=verified_index + 1, success=True)
            return None
        if held == 0:
            return message
        # Skip what is held: pysyncobj then deletes after the new prevLogIdx only if this log holds
        # an entry there, which is a real conflict (its membership rollback runs as before), and
        # answers prevLogIdx + appended + 1, the message's own end.
        last_held = entries[held - 1]
        return dict(message, prevLogIdx=last_held[1], prevLogTerm=last_held[2], entries=entries[held:])

    # Contract step 1: pysyncobj calls this (name-mangled) method to answer append_entries.
    def _SyncObj__sendNextNodeIdx(self, node, reset=False, nextNodeIdx=None, success=False):
        self.journal.sync()
        SyncObj._SyncObj__sendNextNodeIdx(self, node, reset=reset, nextNodeIdx=nextNodeIdx, success=success)

    # -- reading the log without holding it in memory (journal.py) ---------------------------

    # (pysyncobj's own journal object: `self.journal` is set only after pysyncobj's __init__.)

    def _SyncObj__getEntries(self, fromIDx, count=None, maxSizeBytes=None):
        return self._SyncObj__raftLog.entries_from(fromIDx, count, maxSizeBytes)

    def _SyncObj__getCurrentLogIndex(self):
        return self._SyncObj__raftLog.last_index_term()[0]

    def _SyncObj__getCurrentLogTerm(self):
        return self._SyncObj__raftLog.last_index_term()[1]

    # -- pacing the tick thread (docs/design.md#pauses-of-the-tick-thread) ---------------------

    def _SyncObj__applyLogEntries(self):
        """pysyncobj hands every committed entry to the applier in one go; this hands them over
        one at a time, each through pysyncobj's own code, while `may_apply` says the apply thread
        has room, and leaves the rest for a later tick."""
        commit_index = self._SyncObj__raftCommitIndex
        handed_over = False
        try:
            while self.raftLastApplied < commit_index and self._may_apply():
                before = self.raftLastApplied
                self._SyncObj__raftCommitIndex = before + 1  # pysyncobj applies up to its commit index
                handed_over = SyncObj._SyncObj__applyLogEntries(self) or handed_over
                if self.raftLastApplied == before:
                    break  # an entry pysyncobj refuses (a code version): it retries next tick
        finally:
            self._SyncObj__raftCommitIndex = commit_index
        return handed_over

    # -- pre-votes (pre_vote.py) -------------------------------------------------------------

    def _on_pre_vote_message(self, node, kind: str, message: dict) -> None:
        term = message.get("term")
        if not isinstance(term, int):
            return
        if kind == PRE_VOTE:
            last_log = (message.get("last_log_term"), message.get("last_log_index"))
            if not all(isinstance(x, int) for x in last_log):
                return
            granted = grants_pre_vote(
                is_leader=self._SyncObj__raftState == _RAFT_STATE.LEADER,
                heard_from_leader_s_ago=time.monotonic() - self._heard_leader_at,
                election_timeout_min_s=self._election_timeout_min_s,
                current_term=self.raftCurrentTerm, asked_term=term,
                own_last_log=(self._SyncObj__getCurrentLogTerm(), self._SyncObj__getCurrentLogIndex()),
                asker_last_log=last_log)
            self._SyncObj__transport.send(node, {"type": PRE_VOTE_ANSWER, "term": term, "granted": granted})
        elif self._pre_vote.answered(term, node.id, message.get("granted") is True, len(self._SyncObj__otherNodes) + 1):
            self._SyncObj__raftElectionDeadline = 0  # campaign at the next tick

    def _ask_before_campaigning(self, now: float) -> None:
        """Called when pysyncobj would campaign this tick: unless a majority already said it would
        vote for this node in the next term (or the leader asked for a transfer), ask them, and
        put the campaign off by an election timeout (the answers cut it short)."""
        next_term = self.raftCurrentTerm + 1
        if self._pre_vote.allows(next_term) or self._SyncObj__transferInProgress:
            return
        others = list(self._SyncObj__otherNodes)
        self._pre_vote.start(next_term, self._SyncObj__selfNode.id)
        if not others:
            self._pre_vote.won = True  # a cluster of one asks nobody
            return
        self._SyncObj__raftElectionDeadline = now + self._SyncObj__generateRaftTimeout()
        question = {"type": PRE_VOTE, "term": next_term, "last_log_term": self._SyncObj__getCurrentLogTerm(),
                    "last_log_index": self._SyncObj__getCurrentLogIndex()}
        for node in others:
            self._SyncObj__transport.send(node, question)

    def _onTick(self, timeToWait=0.0):
        """pysyncobj checks its election deadline at the start of a tick, before it reads the
        sockets: after a long tick (a large entry, a collector pause, a received snapshot synced
        while the poll handed it over) a follower would start an election although the leader's
        heartbeats were waiting unread, and the new term deposes a healthy leader. So a deadline
        that passed since the node last read its sockets (TimedPoll) is moved to just past the
        next poll: the node listens once before it may campaign."""
        now = time.monotonic()
        self._SyncObj__raftElectionDeadline = election_deadline_after_deafness(
            self._SyncObj__raftElectionDeadline, self.listened_at, now, self._tick_period_s)
        if (self._SyncObj__raftState != _RAFT_STATE.LEADER and self._SyncObj__selfNode is not None
                and self._SyncObj__raftElectionDeadline < now and self._SyncObj__transport.ready):
            self._ask_before_campaigning(now)
        super()._onTick(timeToWait)
        if getattr(self, "_timed_poll", None) is None:
            self._listened_at = time.monotonic()

    @property
    def listened_at(self) -> float:
        """When this node last read its sockets (time.monotonic): when its poll last returned."""
        timed = getattr(self, "_timed_poll", None)  # the tick thread may run before __init__ ends
        return timed.returned_at if timed is not None else self._listened_at

    @replicated
    def apply_entry(self, data: bytes):
        # raftLastApplied + 1 is the index of the entry being applied (docs/design.md#durability-contract).
        # Must never raise: an exception here is retried every tick and stalls every replica.
        if self._compaction_by_bytes.applied(len(data)):
            self.forceLogCompaction()  # pysyncobj starts it when no snapshot is being written
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
