"""The checker's independent replay: the committed log applied through the pure ledger
(node/replica/logged_entry.py, exactly as a replica applies it) from a base whose correctness
does not rest on any one node, compared by checker.py with every node's store.

Nodes compact their journals as in production, so no journal need reach back to index 1. The
base is, in this order:
  1. the newest certified checkpoint C for which some node's journal holds every entry from
     C+1 to the end, and some node's dump of C (certified or still pending: the file name proves
     nothing) passes the auditor's checks: the certificate carries a quorum of valid node
     signatures of the signer set the harness wrote (never one a node serves), and the dump is of
     index C and its records, hashed exactly as the ledger hashes them, sum to the certified hash
     (node/checkpoint/certificate.py, dump.py; what `settle checkpoint verify` checks);
  2. else index 1, an empty ledger, when a journal still holds the whole log;
  3. else none: the replay is reported as skipped with every reason, never passed silently.
Certificates come from the nodes' final states (the newest) and, only if none of those gives a
base, from the governance records inside the kept dumps (the one in force when each was taken).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from node.checkpoint.certificate import certificate_problems
from node.checkpoint.dump import DumpError, records, summarize
from node.ledger import LedgerState
from node.ledger.records import TABLE_GOVERNANCE, decode_governance
from node.ledger.state import CERTIFICATE_KEY, state_from_records
from node.ledger.state_hash import hash_bytes
from node.replica.logged_entry import apply_logged_entry

from cluster.chaos.history import NodeView
from cluster.chaos.nodes import NodeLog, checkpoint_dumps, read_logs, view_of_state

BASE_CHECKPOINT = "checkpoint"
BASE_FIRST_INDEX = "index 1"


class BaseRefused(Exception):
    """A dump that may not be a replay's base, and why."""


@dataclass
class Replay:
    """What the replay found: `view` is None when it could not be made (`note` says why)."""

    view: NodeView | None
    base: str = ""  # BASE_CHECKPOINT, BASE_FIRST_INDEX, or '' (skipped)
    base_index: int = 0  # the checkpoint's index (0: the empty ledger before index 1)
    base_dump: str = ""  # node/file of the dump it started from
    journal: str = ""  # the node whose journal was replayed
    entries: int = 0  # log entries replayed onto the base
    refused: list[str] = field(default_factory=list)  # bases tried and refused, with the reason
    note: str = ""

    def summary(self) -> dict:
        return {"base": self.base or None, "base_index": self.base_index, "base_dump": self.base_dump,
                "journal": self.journal, "entries_replayed": self.entries, "refused": self.refused, "note": self.note}


def certified_state(dump: Path, certificate: dict, signer_set: dict) -> LedgerState:
    """The ledger state in `dump`, if it is the certified checkpoint `certificate` describes and
    the certificate is signed by a quorum of `signer_set`'s node keys; else BaseRefused."""
    problems, _ = certificate_problems(certificate, signer_set)
    if problems:
        raise BaseRefused(f"certificate of {certificate.get('index')}: {'; '.join(problems)}")
    index, certified_hash = certificate["index"], certificate["hash"]
    try:
        summary = summarize(dump)
    except (DumpError, OSError) as error:
        raise BaseRefused(f"{_name(dump)}: damaged: {error}") from None
    if summary.index != index:
        raise BaseRefused(f"{_name(dump)} is of index {summary.index}, the certificate of {index}")
    if summary.state_hash.hex() != certified_hash:
        raise BaseRefused(f"{_name(dump)} hashes to {summary.state_hash.hex()[:16]}, "
                          f"the certified hash at {index} is {certified_hash[:16]}")
    state = state_from_records(((t, k.decode("utf-8"), v) for t, k, v in records(dump)), index)
    if hash_bytes(state.state_hash).hex() != certified_hash:  # the decoded state, not just its bytes
        raise BaseRefused(f"{_name(dump)}: its records decode to a state hashing otherwise than certified")
    return state


def replay_onto(state: LedgerState, log: NodeLog, upto: int) -> int:
    """Applies the log's entries after the state's applied index, up to `upto`; returns how many
    entries were logged in that range (no-op and membership entries change no ledger state)."""
    base = state.applied_index
    replayed = 0
    for index, data in log.entries:
        if index <= base:
            continue
        if index > upto:
            break
        replayed += 1
        if data is not None:
            apply_logged_entry(state, index, data)
    return replayed


def _name(dump: Path) -> str:
    return f"{dump.parent.parent.name}/{dump.name}"


def _distinct(certificates: Iterable[dict | None]) -> list[dict]:
    """Each (index, hash) once, newest first; shapes that are not a certificate are dropped
    (certified_state says what is wrong with the rest)."""
    seen: dict[tuple, dict] = {}
    for certificate in certificates:
        if isinstance(certificate, dict) and isinstance(certificate.get("index"), int):
            seen.setdefault((certificate["index"], str(certificate.get("hash"))), certificate)
    return [seen[key] for key in sorted(seen, key=lambda k: k[0], reverse=True)]


def certificates_in_dumps(dumps: dict[int, list[Path]]) -> list[dict]:
    """The certificate recorded in each dump's own governance records (an older checkpoint's)."""
    found = []
    for paths in dumps.values():
        for path in paths:
            try:
                for table, key, value in records(path):
                    if table == TABLE_GOVERNANCE and key == CERTIFICATE_KEY.encode():
                        found.append(decode_governance(value))
            except (DumpError, OSError, ValueError):
                continue  # a damaged dump offers no certificate; as a base it is refused anyway
    return found


def _from_checkpoints(certificates: list[dict], logs: list[NodeLog], dumps: dict[int, list[Path]],
                      signer_set: dict, upto: int, replay: Replay) -> bool:
    for certificate in certificates:
        index = certificate["index"]
        if index > upto:
            replay.refused.append(f"checkpoint {index}: above the final applied index {upto}")
            continue
        log = next((log for log in logs if log.holds(index + 1, upto)), None)
        if log is None:
            replay.refused.append(f"checkpoint {index}: no journal holds {index + 1}..{upto}")
            continue
        if not dumps.get(index):
            replay.refused.append(f"checkpoint {index}: no node kept its dump")
            continue
        for dump in dumps[index]:
            try:
                state = certified_state(dump, certificate, signer_set)
            except BaseRefused as error:
                replay.refused.append(f"checkpoint {index}: {error}")
                continue
            replay.entries = replay_onto(state, log, upto)
            replay.view = view_of_state(f"replay({_name(dump)}+{log.node})", state)
            replay.base, replay.base_index, replay.base_dump, replay.journal = BASE_CHECKPOINT, index, _name(dump), log.node
            return True
    return False


def independent_replay(logs: list[NodeLog], certificates: Iterable[dict | None], dumps: dict[int, list[Path]],
                       signer_set: dict, upto: int) -> Replay:
    """The replayed final state from the best base there is (see the module doc)."""
    replay = Replay(view=None)
    if _from_checkpoints(_distinct(certificates), logs, dumps, signer_set, upto, replay):
        return replay
    known = {(c["index"], str(c.get("hash"))) for c in _distinct(certificates)}
    older = [c for c in _distinct(certificates_in_dumps(dumps)) if (c["index"], str(c.get("hash"))) not in known]
    if older and _from_checkpoints(older, logs, dumps, signer_set, upto, replay):
        return replay
    log = next((log for log in logs if log.holds(1, upto)), None)
    if log is not None:
        state = LedgerState()
        replay.entries = replay_onto(state, log, upto)
        replay.view = view_of_state(f"replay({log.node})", state)
        replay.base, replay.journal = BASE_FIRST_INDEX, log.node
        return replay
    spans = "; ".join(f"{log.node}'s journal holds {log.span()}" for log in logs)
    tried = "; ".join(replay.refused) or "no certified checkpoint"
    replay.note = f"no base to replay from up to {upto}: {tried}; no journal holds 1..{upto} ({spans or 'no journal'})"
    return replay


def replay_nodes(node_dirs: list[Path], views: list[NodeView], signer_set: dict, upto: int) -> Replay:
    """The independent replay from the stopped nodes' journals and dumps, with the certificates
    their final states record."""
    logs, problems = read_logs(node_dirs)
    replay = independent_replay(logs, [view.certificate for view in views], checkpoint_dumps(node_dirs), signer_set, upto)
    if problems and replay.view is None:
        replay.note += f" (unreadable: {'; '.join(problems)})"
    return replay
