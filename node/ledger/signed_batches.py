"""Signed batches: the log carries each submitter's proof of intent (docs/design.md#access-control).

Raft tolerates crashes, not lies: a leader could append a Withdraw nobody sent. So every batch in
an entry names its submitter's key, a sequence number and the submitter's clock, signed with
Ed25519 over `batch_signing_bytes`, and every replica checks it here before any command of the
batch runs:

- the key is in the signer set and its role may submit every command kind in the batch
  (`ROLE_COMMANDS`), else UNKNOWN_SIGNER / WRONG_ROLE;
- the signature is valid over the digest the replica computed itself from the logged commands,
  else INVALID_SIGNATURE (a leader cannot swap commands under a signature);
- the sequence was not used before: a sequence is stream << 32 | counter, and each stream keeps
  an IPsec-style window of its last `batch_sequence_window` counters. A counter seen before is
  SEQUENCE_REPLAYED, one below the window SEQUENCE_TOO_OLD. An honest retry of a batch that was
  applied resends the same signed bytes: when every command of a reused-sequence batch is
  already in the dedup table, the batch goes on and dedup answers each command (DUPLICATE,
  nothing changes), so exactly-once holds and retries still learn their outcome.

- it was signed no earlier than ledger time - dedup_retention_ms, else BATCH_EXPIRED: the bound
  that lets the ledger forget old dedup records and replay windows safely (retention.py); an
  expired batch whose every command is still remembered is answered by dedup, like a replay. And
  no later than the leader's stamp + clock_lead_max_ms, else BATCH_SIGNED_AHEAD (the submitter's
  clock is wrong: its records would be retained from that far-off time).

A refused batch changes nothing: every command in it gets the batch's code, the sequence is not
consumed. Before a signer set is installed (bootstrap, before genesis) batches are not checked:
there are no keys to check them against.

`judge_batch` is the one verdict: `apply` calls it for every batch of an entry, and the leader
calls it on its current state before it logs a batch, so that a batch that fails is answered
without reaching the log (node/server/batch_precheck.py). The leader's verdict is a forecast:
batches in flight are not in its state yet, so two batches with one sequence both pass it, and
the ledger, applying them in order, refuses the second.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .commands import (
    BatchSignature,
    CheckpointVote,
    Command,
    CreateMarket,
    Deposit,
    EmergencyAction,
    PriceUpdate,
    SettleTrade,
    Withdraw,
)
from .governance import (
    ROLE_CUSTODIAN,
    ROLE_GUARDIAN,
    ROLE_NODE,
    ROLE_OPERATOR,
    ROLE_ORACLE,
    ROLE_SETTLER,
    policy,
    signer,
)
from .limits import (
    batch_sequence_counter_bits,
    batch_sequence_window,
    command_id_bytes_max,
    signature_bytes_max,
    source_id_bytes_max,
)
from .results import Result, ResultCode
from .retention import retention_cutoff_ms
from .signatures import SignatureVerifier
from .state import META_FORGOTTEN_THROUGH_MS, META_NEWEST_SIGNED_MS, WINDOW_PREFIX, LedgerState
from .validation import is_int64, is_valid_id

BATCH_DOMAIN = b"settlement.v1/batch\x00"
commands_digest_bytes = 32  # SHA-256
_NUMBERS = struct.Struct(">qq")
_COUNTER_MASK = (1 << batch_sequence_counter_bits) - 1

# Which command kinds each role may submit. Auditors and readers submit nothing.
ROLE_COMMANDS: dict[str, tuple[type, ...]] = {
    ROLE_SETTLER: (SettleTrade,),
    ROLE_CUSTODIAN: (Deposit, Withdraw, EmergencyAction),  # a CUSTODY_WITHDRAW its quorum signed
    ROLE_ORACLE: (PriceUpdate,),
    ROLE_OPERATOR: (CreateMarket,),
    ROLE_GUARDIAN: (EmergencyAction,),
    ROLE_NODE: (CheckpointVote, EmergencyAction),  # votes, and halts it co-signed
}

# Roles whose clock bounds the leader's (ledger_clock.py). A node key is excluded: a rogue leader
# holds one and could sign any time it likes.
CLOCK_ROLES = (ROLE_SETTLER, ROLE_CUSTODIAN, ROLE_ORACLE, ROLE_OPERATOR, ROLE_GUARDIAN)


def batch_signing_bytes(cluster: str, key_id: str, sequence: int, signed_at_ms: int, commands_digest: bytes) -> bytes:
    """What a submitter signs: domain tag, cluster, key id, sequence, its clock and the SHA-256
    of the batch's commands as sent (node.codec.batch.commands_digest). Ids are length-prefixed
    (1 byte); the numbers are signed 64-bit big-endian (docs/design.md#signed-batches)."""
    c, k = cluster.encode(), key_id.encode()
    return b"".join((BATCH_DOMAIN, bytes([len(c)]), c, bytes([len(k)]), k, _NUMBERS.pack(sequence, signed_at_ms), commands_digest))


def split_sequence(sequence: int) -> tuple[int, int]:
    """(stream, counter) of a sequence number."""
    return sequence >> batch_sequence_counter_bits, sequence & _COUNTER_MASK


def window_key(key_id: str, stream: int) -> str:
    return f"{WINDOW_PREFIX}{key_id}/{stream}"


def check_batch(
    state: LedgerState, batch: BatchSignature, commands: tuple[Command, ...], verify: SignatureVerifier,
    stamped_ms: int,
) -> tuple[ResultCode, str] | None:
    """Why the batch may not run, or None. Checks only; `record_batch` consumes the sequence."""
    rules = policy(state)
    if rules is None:
        return None  # bootstrap: no signer set yet
    if not batch.signed:
        return ResultCode.UNSIGNED_BATCH, "a batch must be signed by its submitter once a signer set is installed"
    if not is_valid_id(batch.key_id, source_id_bytes_max):
        return ResultCode.UNKNOWN_SIGNER, "the batch's key id is malformed"
    entry = signer(state, batch.key_id)
    if entry is None:
        return ResultCode.UNKNOWN_SIGNER, f"{batch.key_id} is not in the signer set"
    allowed = ROLE_COMMANDS.get(entry["role"], ())
    for command in commands:
        if type(command) not in allowed:
            return ResultCode.WRONG_ROLE, f"{batch.key_id} is a {entry['role']} key and may not submit {type(command).__name__}"
    if not (is_int64(batch.sequence) and batch.sequence >= 0 and is_int64(batch.signed_at_ms)) \
            or len(batch.commands_digest) != commands_digest_bytes or len(batch.signature) > signature_bytes_max:
        return ResultCode.INVALID_SIGNATURE, "the batch's signed fields are out of range"
    message = batch_signing_bytes(rules["cluster"], batch.key_id, batch.sequence, batch.signed_at_ms, batch.commands_digest)
    if not verify(bytes.fromhex(entry["public_key"]), message, batch.signature):
        return ResultCode.INVALID_SIGNATURE, f"the batch's signature does not verify under {batch.key_id}'s key"
    if batch.signed_at_ms < retention_cutoff_ms(state):
        return ResultCode.BATCH_EXPIRED, (
            f"signed at {batch.signed_at_ms}, more than dedup_retention_ms ({rules['dedup_retention_ms']}) before "
            f"ledger time {state.ledger_time_ms}, or at or before records already forgotten "
            f"({state.meta[META_FORGOTTEN_THROUGH_MS]}): nothing applied now; read its commands' outcome back, never resend them"
        )
    if batch.signed_at_ms > stamped_ms + rules["clock_lead_max_ms"]:
        return ResultCode.BATCH_SIGNED_AHEAD, (
            f"signed at {batch.signed_at_ms}, more than clock_lead_max_ms ({rules['clock_lead_max_ms']}) after "
            f"the leader's clock {stamped_ms}: check the submitter's clock"
        )
    return _sequence_problem(state, batch)


@dataclass(frozen=True, slots=True)
class BatchVerdict:
    """What becomes of a batch: refused as a whole (`refusal`, every command gets its code), or
    its commands run, as a new batch (`records`: its sequence is consumed, its clock counts) or as
    a retry or replay that dedup answers command by command."""

    refusal: tuple[ResultCode, str] | None
    records: bool


ACCEPTED = BatchVerdict(None, True)
ANSWERED_BY_DEDUP = BatchVerdict(None, False)


def judge_batch(
    state: LedgerState, batch: BatchSignature, commands: tuple[Command, ...], verify: SignatureVerifier,
    stamped_ms: int,
) -> BatchVerdict:
    """The verdict on one batch in `state`, for an entry stamped `stamped_ms`. Changes nothing."""
    problem = check_batch(state, batch, commands, verify, stamped_ms)
    if problem is None:
        return ACCEPTED
    if is_answered_by_dedup(state, problem, commands):
        return ANSWERED_BY_DEDUP
    return BatchVerdict(problem, False)


def refused_results(commands: tuple[Command, ...], refusal: tuple[ResultCode, str]) -> tuple[Result, ...]:
    """Every command of a refused batch answered with the batch's code (ids cut to the limit)."""
    code, message = refusal
    return tuple(Result(str(command.id)[:command_id_bytes_max], code, message) for command in commands)


def _sequence_problem(state: LedgerState, batch: BatchSignature) -> tuple[ResultCode, str] | None:
    stream, counter = split_sequence(batch.sequence)
    if counter == 0:
        return ResultCode.SEQUENCE_TOO_OLD, "a sequence's counter starts at 1"
    window = state.governance.get(window_key(batch.key_id, stream))
    if window is None or counter > window["highest"]:
        return None
    behind = window["highest"] - counter
    if behind >= batch_sequence_window:
        return ResultCode.SEQUENCE_TOO_OLD, f"sequence {batch.sequence} is below stream {stream}'s replay window"
    if window["seen"] >> behind & 1:
        return ResultCode.SEQUENCE_REPLAYED, f"sequence {batch.sequence} was used before by {batch.key_id}"
    return None


def is_answered_by_dedup(state: LedgerState, problem: tuple[ResultCode, str], commands: tuple[Command, ...]) -> bool:
    """A reused sequence (or an expired batch) whose every command was applied before and is still
    remembered: a retry (or a replay) that dedup answers without changing anything."""
    return problem[0] in (ResultCode.SEQUENCE_REPLAYED, ResultCode.SEQUENCE_TOO_OLD, ResultCode.BATCH_EXPIRED) \
        and all(command.id in state.dedup for command in commands)


def record_batch(state: LedgerState, batch: BatchSignature, stamped_ms: int) -> None:
    """Consume an accepted batch's sequence and let its clock bound the leader's (the newer of
    its signed time and the entry's stamp, so a submitter's fast clock cannot lift the bound)."""
    if policy(state) is None:
        return
    stream, counter = split_sequence(batch.sequence)
    key = window_key(batch.key_id, stream)
    window = state.governance.get(key)
    # Retained from its latest use: the ledger time or the batch's signed clock, whichever is later
    # (retention.py forgets the window once every batch it carried is expired).
    signed_ms = batch.signed_at_ms
    if signed_ms > state.entry_signed_ms_max:
        state.entry_signed_ms_max = signed_ms
    used_ms = max(state.ledger_time_ms, signed_ms, window["last_used_ms"] if window is not None else 0)
    if window is None:
        state.put_governance(key, {"highest": counter, "last_used_ms": used_ms, "seen": 1})
    elif counter > window["highest"]:
        shifted = window["seen"] << (counter - window["highest"]) if counter - window["highest"] < batch_sequence_window else 0
        state.put_governance(key, {"highest": counter, "last_used_ms": used_ms,
                                   "seen": (shifted | 1) & ((1 << batch_sequence_window) - 1)})
    else:
        state.put_governance(key, {"highest": window["highest"], "last_used_ms": used_ms,
                                   "seen": window["seen"] | 1 << (window["highest"] - counter)})
    if signer(state, batch.key_id)["role"] in CLOCK_ROLES:
        newest = min(batch.signed_at_ms, stamped_ms)
        if newest > state.meta[META_NEWEST_SIGNED_MS]:
            state.put_meta(META_NEWEST_SIGNED_MS, newest)
