"""apply(state, entry) -> EntryOutcome: the ledger's one entry point.

Deterministic and sans-IO: everything a decision needs is in the state and the entry (including
the leader's timestamp, bounded by ledger_clock). Each submitter's batch is checked first
(signed_batches: key, role, signature, replay window) and refused as a whole if it fails.
Business failures are per-command results; only a broken invariant raises, and that must stop
the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .breakers import run_due_timers
from .checkpoints import checkpoint_vote, mark_checkpoint_due
from .collateral import deposit, withdraw
from .commands import (
    BatchSignature,
    CheckpointVote,
    Command,
    CreateMarket,
    Deposit,
    EmergencyAction,
    LogEntry,
    PriceUpdate,
    SettleTrade,
    Withdraw,
)
from .emergency import emergency_action
from .events import Event
from .fund_unwinding import step_fund_auctions, track_fund_auctions
from .funding_sweep import pay_due_funding
from .global_mode import check_insurance_fund_floor
from .interventions import apply_due_changes
from .invariants import check_entry
from .ledger_clock import entry_time_ms
from .limits import command_id_bytes_max, entry_commands_max
from .liquidation import continue_liquidations
from .markets import create_market
from .option_marks import mark_option_markets
from .oracle import mark_repriced_markets, price_update
from .records import DedupRecord
from .results import Result, ResultCode
from .retention import prune_expired
from .signatures import SignatureVerifier, reject_every_signature
from .signed_batches import judge_batch, record_batch, refused_results
from .state import META_LEDGER_TIME, LedgerState
from .trades import settle_trade
from .validation import is_int64, is_valid_id

Handler = Callable[[LedgerState, Command, list[Event], SignatureVerifier], Result]

# One handler per command kind; a schema test checks every proto oneof member is here.
HANDLERS: dict[type, Handler] = {
    CreateMarket: lambda state, cmd, events, verify: create_market(state, cmd),
    Deposit: lambda state, cmd, events, verify: deposit(state, cmd, events),
    Withdraw: lambda state, cmd, events, verify: withdraw(state, cmd),
    SettleTrade: lambda state, cmd, events, verify: settle_trade(state, cmd, events),
    PriceUpdate: price_update,
    EmergencyAction: emergency_action,
    CheckpointVote: checkpoint_vote,
}


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    results: tuple[Result, ...]
    events: tuple[Event, ...]


def apply_command(state: LedgerState, cmd: Command, events: list[Event], verify: SignatureVerifier) -> Result:
    if not is_valid_id(cmd.id, command_id_bytes_max):
        return Result(str(cmd.id)[:command_id_bytes_max], ResultCode.INVALID_ID, "command id must be 1-64 bytes of [A-Za-z0-9._:-]")
    first = state.dedup.get(cmd.id)
    if first is not None:
        return Result(
            cmd.id, ResultCode.DUPLICATE, "command id was applied before",
            collateral=first.collateral, counterparty_collateral=first.counterparty_collateral,
            original_code=ResultCode(first.code),
        )
    result = HANDLERS[type(cmd)](state, cmd, events, verify)
    state.put_dedup(cmd.id, DedupRecord(result.code, result.collateral, result.counterparty_collateral))
    return result


def apply(state: LedgerState, entry: LogEntry, verify: SignatureVerifier = reject_every_signature) -> EntryOutcome:
    """Apply one entry. `verify` checks Ed25519 signatures (the replica passes
    node.identity.keys.verify_ed25519); without one, every signed statement is refused."""
    assert entry.index > state.applied_index, (entry.index, state.applied_index)
    assert len(entry.commands) <= entry_commands_max, len(entry.commands)
    assert is_int64(entry.timestamp_ms), entry.timestamp_ms
    state.entry_accounts = {}
    state.entry_markets = {}
    state.entry_liquidated = {}
    state.entry_repriced = {}
    state.entry_signed_ms_max = 0
    # Never backwards, whatever a (new) leader's clock says; never far ahead of the submitters'.
    state.put_meta(META_LEDGER_TIME, entry_time_ms(state, entry.timestamp_ms))
    prune_expired(state)  # dedup records and replay windows past the retention (bounded)
    events: list[Event] = []
    if state.next_guard_deadline_ms and state.ledger_time_ms >= state.next_guard_deadline_ms:
        run_due_timers(state, events)  # breaker cooldowns and grace periods, futures expiry
        check_insurance_fund_floor(state, events)
    if state.pending_changes and min(state.pending_changes.values()) <= state.ledger_time_ms:
        apply_due_changes(state, events)  # timelocked, quorum-approved loosening
    if state.next_funding_ms and state.ledger_time_ms >= state.next_funding_ms:
        pay_due_funding(state, events)  # perpetuals' funding intervals, O(1) per market
        check_insurance_fund_floor(state, events)
    if state.liquidating:
        continue_liquidations(state, events)  # one more slice for every account being liquidated
        check_insurance_fund_floor(state, events)
    results: list[Result] = []
    start = 0
    for batch in entry.batches or (BatchSignature(len(entry.commands)),):
        commands = entry.commands[start:start + batch.size]
        start += batch.size
        verdict = judge_batch(state, batch, commands, verify, entry.timestamp_ms)
        if verdict.refusal is not None:
            results.extend(refused_results(commands, verdict.refusal))
            continue
        if verdict.records:
            record_batch(state, batch, entry.timestamp_ms)
        for cmd in commands:
            results.append(apply_command(state, cmd, events, verify))
            check_insurance_fund_floor(state, events)  # before the next command can add risk
    assert start == len(entry.commands), (start, len(entry.commands))
    if state.entry_repriced:
        # One mark per entry (docs/design.md#one-mark-per-entry): after every command, so each
        # command of the entry was judged at the mark the entry started with, whatever order the
        # leader put the batches in; then breakers and the liquidation sweep at the new mark.
        mark_repriced_markets(state, events)
        check_insurance_fund_floor(state, events)
    if state.option_underlying:
        # Options' marks after the linear ones: each premium from its underlying's mark now
        # (option_marks.py, docs/design.md#options), then the sweep of option holders.
        mark_option_markets(state, events)
        check_insurance_fund_floor(state, events)
    if state.unwinding:
        # At the entry's marks: a fund offers what it inherited; ADL past the deadline.
        step_fund_auctions(state, events)
        check_insurance_fund_floor(state, events)
    track_fund_auctions(state, events)  # a fund that now holds a position starts its auction
    state.applied_index = entry.index
    mark_checkpoint_due(state, entry.index, events)
    state.finish_entry()
    check_entry(state)
    return EntryOutcome(tuple(results), tuple(events))
