"""CheckpointKeeper: what a node does about checkpoints, hooked into its apply path.

The replica calls `after_commit` on its apply thread, under its lock, right after the store
committed an entry. That call only records and hands off (a dict write, opening a read
transaction), so applying is never slowed by hashing, IO or the network:

- CheckpointDue(I): remember the in-memory hash at I; if the node is caught up, open a read
  transaction on the store as committed at I and queue the store check (store_check.py). When
  the check finishes: a store that disagrees with memory fences the node at once; either way the
  node votes the hash its store holds (voting.py), if it has a node key in the signer set.
- CheckpointCertified(I, H): compare H with the node's own hash at I. A difference fences the
  node; a match is shown as `verified_checkpoint_index` and marks the dump of I certified (if
  the store's hash at I is H), the one GetCheckpointDump serves.
- A SET_SIGNERS that took effect: compare the installed signer set with expected_signers_file.

A fenced node recovers (recovery.py) after `divergence_recovery_delay_ms` if it follows, at once
if it leads (while it leads, nobody can write).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.config import NodeConfig
from node.identity.keys import raw_public_key
from node.identity.signer_set import difference, installed_signer_set, read_signer_set
from node.ledger.checkpoints import certified
from node.ledger.commands import ActionKind
from node.ledger.events import ActionTaken, CheckpointCertified, CheckpointDue, Event
from node.ledger.governance import ROLE_NODE, policy, signer
from node.ledger.state import LedgerState
from node.ledger.state_hash import hash_bytes
from node.store import LedgerStore

from . import recovery
from .divergence import Divergence, Fence
from .files import CheckpointFiles
from .limits import own_hashes_kept
from .store_check import CheckResult, StoreCheck, StoreChecker
from .voting import SubmitVote, Voter

log = logging.getLogger("settle.checkpoint")


class CheckpointKeeper:
    def __init__(
        self,
        config: NodeConfig,
        loop,
        store: LedgerStore,
        state: LedgerState,
        *,
        node_key: Ed25519PrivateKey | None,
        submit_vote: SubmitVote | None,
        is_leader: Callable[[], bool],
        stop_replica: Callable[[], None],
        empty_for_restore: recovery.EmptyForRestore,
        restart: Callable[[], None] = recovery.restart_process,
    ) -> None:
        """`state` is the state just loaded from the store (the start-up check). Without a
        node key or a `submit_vote` the node checks checkpoints but votes nothing.
        `empty_for_restore` moves the state aside on recovery, keeping the Raft term and vote
        (the replica hands in node/replica/emptying.py's)."""
        self._config = config
        self._store = store
        self._is_leader = is_leader
        self._stop_replica = stop_replica
        self._empty_for_restore = empty_for_restore
        self._restart = restart
        self._lock = threading.Lock()
        self.fence = Fence()
        self.files = CheckpointFiles(config.checkpoints_dir)
        self._checker = StoreChecker(self.files, self._on_checked)
        self._node_key = node_key
        self._public_key = raw_public_key(node_key).hex() if node_key is not None else None
        self._voter = Voter(loop, config.node_key_id, node_key, submit_vote) if node_key and submit_vote else None
        self._own_hashes: dict[int, bytes] = {}  # due index -> in-memory hash after it
        self._store_hashes: dict[int, bytes] = {}  # due index -> hash of the stored records
        self._certified: dict[int, bytes] = {}  # certified index -> certified hash
        self._to_vote: dict[int, str] = {}  # due index -> the cluster id its vote binds
        self._applied_index = state.applied_index
        self._vote_problem_logged: str | None = None
        self._recovery_timer: threading.Timer | None = None
        self.verified_index = 0
        self.diverged_copies = [p.name for p in recovery.diverged_copies(config)]
        self._expected = read_signer_set(config.expected_signers_file) if config.expected_signers_file else None
        self.signer_set_problem = ""
        self.check_signer_set(state)
        self._check_at_start(state)

    # -- the apply thread (under the replica's lock) ----------------------------------------

    def after_commit(self, state: LedgerState, events: Sequence[Event], *, ready: bool) -> None:
        self._applied_index = state.applied_index
        for event in events:
            if isinstance(event, CheckpointDue):
                self._due(state, event.index, ready)
            elif isinstance(event, CheckpointCertified):
                self._on_certified(event.index, event.state_hash)
            elif isinstance(event, ActionTaken) and event.kind == ActionKind.SET_SIGNERS and event.outcome == "applied":
                self.check_signer_set(state)

    def _due(self, state: LedgerState, index: int, ready: bool) -> None:
        assert index == state.applied_index, (index, state.applied_index)
        memory_hash = hash_bytes(state.state_hash)
        with self._lock:
            self._own_hashes[index] = memory_hash
            _trim(self._own_hashes)
        if not ready or self.fence.divergence is not None:
            # Replaying or catching up: certificates are still checked, but only live entries are
            # voted on. Fenced: nothing this node holds is worth checking or voting any more.
            return
        cluster = self._vote_cluster(state)
        if cluster is not None:
            with self._lock:
                self._to_vote[index] = cluster
                _trim(self._to_vote)
        self._checker.submit(StoreCheck(index, memory_hash, self._store.open_reader()))

    def _vote_cluster(self, state: LedgerState) -> str | None:
        """The cluster id a vote binds, or None when this node cannot vote (said once)."""
        rules = policy(state)
        entry = signer(state, self._config.node_key_id)
        problem = None
        if self._node_key is None:
            problem = "this node has no node_key_file: it checks checkpoints but does not vote"
        elif rules is None:
            problem = "no signer set installed"
        elif entry is None or entry["role"] != ROLE_NODE:
            problem = f"{self._config.node_key_id} is not a node key of the signer set: not voting"
        elif entry["public_key"] != self._public_key:
            problem = f"the signer set lists another public key for {self._config.node_key_id}: not voting"
        if problem != self._vote_problem_logged:
            self._vote_problem_logged = problem
            if problem:
                log.warning("checkpoint votes: %s", problem)
        return None if problem else rules["cluster"]

    def _on_certified(self, index: int, certified_hash: bytes) -> None:
        with self._lock:
            own = self._own_hashes.get(index)
            self._certified[index] = certified_hash
            _trim(self._certified)
            dump_matches = self._store_hashes.get(index) == certified_hash
        if own is None:
            log.info("checkpoint %d certified (%s); this node holds no hash of its own at %d (it was restored past it)",
                     index, certified_hash.hex()[:16], index)
            return
        if own != certified_hash:
            self._diverge(index, f"certified hash {certified_hash.hex()} but this node's hash at {index} is {own.hex()}")
            return
        self.verified_index = max(self.verified_index, index)
        log.info("checkpoint %d certified; matches this node's hash %s", index, own.hex()[:16])
        if dump_matches:
            self.files.certify(index)

    # -- the checker's thread ---------------------------------------------------------------

    def _on_checked(self, result: CheckResult) -> None:
        if result.problem:
            self._diverge(result.index, f"store check: {result.problem}")
        with self._lock:
            self._store_hashes[result.index] = result.store_hash
            _trim(self._store_hashes)
            certified_hash = self._certified.get(result.index)
            cluster = self._to_vote.pop(result.index, None)
        if certified_hash is not None and certified_hash == result.store_hash and not result.problem:
            self.files.certify(result.index)  # certified before this node finished its check
        if cluster is not None and self._voter is not None:
            # The store's hash, even when it disagrees with memory: what this node would restart
            # with. A quorum of healthy nodes outvotes it; the log keeps what it claimed.
            self._voter.vote(cluster, result.index, result.store_hash)

    # -- divergence and recovery --------------------------------------------------------------

    @property
    def divergence(self) -> Divergence | None:
        return self.fence.divergence

    def _diverge(self, index: int, reason: str) -> None:
        if not self.fence.trip(index, reason):
            return
        leader = self._is_leader()
        delay_s = 0.0 if leader else self._config.divergence_recovery_delay_ms / 1000
        log.critical("recovery: %s; moving this node's data aside and restarting empty in %.1f s",
                     "this node leads, so at once" if leader else "fenced meanwhile", delay_s)
        timer = threading.Timer(delay_s, self._recover)
        timer.name = "checkpoint-recovery"
        timer.daemon = True
        self._recovery_timer = timer
        timer.start()

    def _recover(self) -> None:
        refusal = recovery.recovery_refusal(self._config)
        if refusal:
            log.critical("NOT RECOVERING AUTOMATICALLY: %s. The node stays fenced.", refusal)
            return
        applied_index = self._applied_index
        try:
            self._stop_replica()
            copy = recovery.move_state_aside(self._config, applied_index, self._empty_for_restore)
        except Exception:  # noqa: BLE001 - a half-stopped node must not go on serving: stay fenced
            log.critical("recovery failed; the node stays fenced", exc_info=True)
            return
        log.critical("diverged state moved to %s; restarting empty, to be restored from the peers", copy)
        self._restart()

    def _check_at_start(self, state: LedgerState) -> None:
        """The store's full hash was verified on load; if it stands exactly at the certified
        index, the certificate must match it too."""
        memory_hash = hash_bytes(state.state_hash)
        if state.applied_index:
            self._own_hashes[state.applied_index] = memory_hash
        latest = certified(state)
        if latest is not None and latest["index"] == state.applied_index and latest["hash"] != memory_hash.hex():
            self._diverge(state.applied_index, f"the store at {state.applied_index} hashes to {memory_hash.hex()}, "
                                               f"the certified checkpoint says {latest['hash']}")

    # -- the signer set ------------------------------------------------------------------------

    def check_signer_set(self, state: LedgerState) -> None:
        if self._expected is None:
            return
        problem = difference(self._expected, installed_signer_set(state)) or ""
        if problem == self.signer_set_problem:
            return
        self.signer_set_problem = problem
        if not problem:
            log.info("the installed signer set is the expected one (%s)", self._config.expected_signers_file)
        elif installed_signer_set(state) is None:
            log.info("signer set: %s (expected: %s)", problem, self._config.expected_signers_file)
        else:
            banner = "!" * 78
            log.critical("%s\nTHE INSTALLED SIGNER SET IS NOT THE EXPECTED ONE (%s): %s\n"
                         "no automatic action is taken; check who installed it\n%s",
                         banner, self._config.expected_signers_file, problem, banner)

    # -- reads for the server ------------------------------------------------------------------

    def certified_dump(self, index: int = 0) -> tuple[int, Path] | None:
        return self.files.certified_dump(index)

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stops the checker and the voter (any thread but the checker's own)."""
        timer = self._recovery_timer
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        if self._voter is not None:
            self._voter.close()
        self._checker.close()


def _trim(recent: dict[int, object]) -> None:
    while len(recent) > own_hashes_kept:
        del recent[min(recent)]
