"""A Hypothesis state machine for exactly-once under retention: the real ledger and a small model,
side by side, while a custodian's signed batches are sent, delayed, resent and replayed as time
passes well beyond `dedup_retention_ms`.

The model (plain dicts, the rules of node/ledger/retention.py and signed_batches.py written out):
a batch is judged by its signed clock (older than ledger time minus the retention: BATCH_EXPIRED),
then by its stream's replay window; a reused sequence or an expired batch whose every command is
still remembered is answered by dedup; records are retained from the later of the entry's time and
the batch's clock, and forgotten, a few entries' worth per entry, oldest first. After every step:
same result codes, same remembered ids, and each deposit credited at most once, ever.
"""

from __future__ import annotations

import heapq

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from node.identity.keys import verify_ed25519
from node.identity.quorum import signed_action
from node.ledger import LedgerState, LogEntry, apply
from node.ledger.commands import Deposit
from node.ledger.limits import batch_sequence_window, retention_prune_dedup_entries_max
from node.ledger.results import ResultCode

from .driver import signed_batch
from .governance import ALL_KEYS, CLUSTER, POLICY, genesis_payload

RETENTION_MS = 60_000
ACCOUNT = "alice"
REUSED = (ResultCode.SEQUENCE_REPLAYED, ResultCode.SEQUENCE_TOO_OLD, ResultCode.BATCH_EXPIRED)


class RetentionModel:
    def __init__(self, now: int) -> None:
        self.now = now
        self.seen: dict[str, int] = {}  # id -> the amount it credited (once)
        self.expiry: list[tuple[int, int, tuple[str, ...]]] = []  # heap: (retained since, entry, ids)
        self.window: dict | None = None  # the one stream's: highest, seen bits, last used
        self.credited = 0

    def apply_batch(self, entry: int, stamp: int, signed_at: int, sequence: int, deposits) -> list[ResultCode]:
        self.now = max(self.now, stamp)
        budget = retention_prune_dedup_entries_max
        while budget and self.expiry and self.expiry[0][0] < self.now - RETENTION_MS:
            for command_id in heapq.heappop(self.expiry)[2]:
                del self.seen[command_id]
            budget -= 1
        if self.window is not None and self.window["used"] < self.now - RETENTION_MS:
            self.window = None  # (one stream: well within the per-entry window budget)
        problem = None
        if signed_at < self.now - RETENTION_MS:
            problem = ResultCode.BATCH_EXPIRED
        elif self.window is not None and sequence <= self.window["highest"]:
            behind = self.window["highest"] - sequence
            if behind >= batch_sequence_window:
                problem = ResultCode.SEQUENCE_TOO_OLD
            elif self.window["bits"] >> behind & 1:
                problem = ResultCode.SEQUENCE_REPLAYED
        ids = [d.id for d in deposits]
        if problem is not None and not (problem in REUSED and all(i in self.seen for i in ids)):
            return [problem] * len(deposits)
        if problem is None:
            used = max(self.now, signed_at, self.window["used"] if self.window else 0)
            if self.window is None:
                self.window = {"highest": sequence, "bits": 1, "used": used}
            elif sequence > self.window["highest"]:
                shift = sequence - self.window["highest"]
                bits = self.window["bits"] << shift if shift < batch_sequence_window else 0
                self.window = {"highest": sequence, "bits": (bits | 1) & ((1 << batch_sequence_window) - 1), "used": used}
            else:
                self.window = dict(self.window, bits=self.window["bits"] | 1 << (self.window["highest"] - sequence), used=used)
        codes, written = [], []
        for deposit in deposits:
            if deposit.id in self.seen:
                codes.append(ResultCode.DUPLICATE)
                continue
            self.seen[deposit.id] = deposit.amount
            self.credited += deposit.amount
            written.append(deposit.id)
            codes.append(ResultCode.OK)
        if written:
            retained_since = max(self.now, signed_at if problem is None else 0)
            heapq.heappush(self.expiry, (retained_since, entry, tuple(written)))
        return codes


class ExactlyOnceUnderRetention(RuleBasedStateMachine):
    batches = Bundle("batches")

    @initialize()
    def genesis(self) -> None:
        self.state = LedgerState()
        self.index, self.clock_ms, self.sequence, self.ids = 1, 1_000_000, 0, 0
        self.credited_ids: set[str] = set()
        payload = dict(genesis_payload(), policy=dict(POLICY, dedup_retention_ms=RETENTION_MS))
        outcome = apply(self.state, LogEntry(1, self.clock_ms, (signed_action("genesis", payload, ALL_KEYS),)), verify_ed25519)
        assert outcome.results[0].ok
        self.model = RetentionModel(self.clock_ms)
        self.model.seen["genesis"] = 0
        heapq.heappush(self.model.expiry, (self.clock_ms, 1, ("genesis",)))

    def submit(self, batch, advance_ms: int) -> None:
        self.index += 1
        self.clock_ms += advance_ms
        deposits, signature = batch
        got = apply(self.state, LogEntry(self.index, self.clock_ms, deposits, (signature,)), verify_ed25519).results
        want = self.model.apply_batch(self.index, self.clock_ms, signature.signed_at_ms, signature.sequence & 0xFFFFFFFF, deposits)
        assert [r.code for r in got] == want, (got, want)
        for deposit, result in zip(deposits, got):
            if result.code == ResultCode.OK:
                assert deposit.id not in self.credited_ids, f"{deposit.id} credited twice"
                self.credited_ids.add(deposit.id)

    @rule(target=batches, size=st.integers(1, 3), signed_ago_ms=st.sampled_from((0, 0, -5_000, 20_000, 59_000, 61_000)),
          advance_ms=st.sampled_from((1_000, 5_000, 30_000)))
    def send_a_batch(self, size, signed_ago_ms, advance_ms):
        """New deposits, signed a while before they are logged (a slow network, a queue), or by a
        submitter whose clock runs 5 s fast."""
        deposits = tuple(Deposit(f"dep-{self.ids + n}", ACCOUNT, 1 + n) for n in range(size))
        self.ids += size
        return self.send(deposits, self.clock_ms + advance_ms - signed_ago_ms, advance_ms)

    @rule(target=batches, batch=batches, advance_ms=st.sampled_from((1_000, 30_000, 61_000)))
    def sign_the_same_commands_again(self, batch, advance_ms):
        """The same commands on a new sequence, with the time they were first signed: the SDK's
        retry after an unknown outcome, or after SEQUENCE_TOO_OLD."""
        deposits, first = batch
        return self.send(deposits, first.signed_at_ms, advance_ms)

    def send(self, deposits, signed_at: int, advance_ms: int):
        self.sequence += 1
        signature = signed_batch(list(deposits), CLUSTER, signed_at, {}, role="custodian", sequence=7 << 32 | self.sequence)
        batch = (deposits, signature)
        self.submit(batch, advance_ms)
        return batch

    @rule(batch=batches, advance_ms=st.sampled_from((1_000, 30_000, 61_000, 200_000)))
    def resend_a_batch(self, batch, advance_ms):
        """The very same signed batch again: an SDK retry, or a rogue leader's replay."""
        self.submit(batch, advance_ms)

    @rule(advance_ms=st.sampled_from((10_000, 61_000, 300_000)), entries=st.integers(1, 4))
    def time_passes(self, advance_ms, entries):
        """Entries with no commands: pruning goes on, a few entries' records at a time."""
        for _ in range(entries):
            self.index += 1
            self.clock_ms += advance_ms
            apply(self.state, LogEntry(self.index, self.clock_ms, ()), verify_ed25519)
            assert self.model.apply_batch(self.index, self.clock_ms, self.clock_ms, 0, ()) == []

    @invariant()
    def the_same_ids_are_remembered(self) -> None:
        if hasattr(self, "model"):
            assert set(self.state.dedup) == set(self.model.seen)

    @invariant()
    def the_balance_is_every_deposit_credited_once(self) -> None:
        if hasattr(self, "model"):
            account = self.state.accounts.get(ACCOUNT)
            assert (account.collateral if account else 0) == self.model.credited


TestExactlyOnceUnderRetention = ExactlyOnceUnderRetention.TestCase
TestExactlyOnceUnderRetention.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
