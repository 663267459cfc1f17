"""The leader's check of batches before they are logged (docs/design.md#nothing-unverifiable-is-logged).

Every replica verifies every batch when it applies the entry, and stays the authority: a rogue
leader that logs a forged batch gains nothing. But a batch the ledger will refuse (unsigned, an
unknown key, a wrong role, a bad signature, expired, signed ahead, a used sequence) still cost
every node a log entry, a journal write and an apply, so anyone allowed to call Submit could grow
every node's log without holding a signing key. So before the coalescer logs the batches it
gathered for an entry, it asks the ledger's own verdict (`judge_batch`, node/ledger/
signed_batches.py) on each, on this node's current state, under the replica's lock, with the clock
this node stamps the entry with; a refused batch is answered with the ledger's result codes and
left out of the entry. A refusal here says the same as the ledger's: nothing was applied.

One look at the state serves a whole entry's batches: the lock is taken once per entry, not once
per Submit, so the check does not contend with applying for every small batch. The Ed25519
verifications (~100 us each) run outside the lock: the verdicts are first taken with every
signature assumed valid while noting which ones the ledger checks; if one of them then fails,
that batch's verdict is taken again with the real answers. A verifier is a pure function of its
arguments, so that is the verdict the ledger gives, its order of checks included.

The verdict is a forecast, taken before the batches in flight are applied: a batch it passes may
still be refused by the ledger (two batches with one sequence in flight together; a signer set
changed meanwhile), and one it refuses might have passed a moment later (a key added by an entry
in flight). Both answers are ones the ledger could have given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from node.codec.batch import Batch, batch_signature
from node.identity.keys import verify_ed25519
from node.ledger.results import Result, ResultCode
from node.ledger.signatures import SignatureVerifier
from node.ledger.signed_batches import judge_batch, refused_results
from node.ledger.state import LedgerState
from node.replica.port import ReplicaPort

Signed = tuple[bytes, bytes, bytes]  # (public key, message, signature)
Refusal = tuple[tuple[Result, ...], int]  # every command's result, and the applied index judged at


class BatchJudge:
    """The ledger's verdict on batches about to be logged, on this replica's current state.
    `on_refused` hears the code of every batch refused (metrics)."""

    def __init__(self, replica: ReplicaPort, on_refused: Callable[[ResultCode], None] = lambda code: None,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._replica = replica
        self._on_refused = on_refused
        self._clock_ms = clock_ms

    def refusals(self, batches: Sequence[Batch]) -> list[Refusal | None]:
        """For each batch, its refusal, or None when it may be logged. Blocks on the replica's
        lock while an entry applies: call it off the event loop."""
        stamped_ms = self._clock_ms()
        sealed = [batch_signature(batch) for batch in batches]  # the digests, outside the lock
        checked: list[list[Signed]] = [[] for _ in batches]
        answers: dict[Signed, bool] = {}

        def assume_valid(noted: list[Signed]) -> SignatureVerifier:
            def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
                noted.append((bytes(public_key), bytes(message), bytes(signature)))
                return True
            return verify

        def answered(public_key: bytes, message: bytes, signature: bytes) -> bool:
            signed = (bytes(public_key), bytes(message), bytes(signature))
            if signed not in answers:  # the state changed between the two looks: verify it here
                answers[signed] = verify_ed25519(*signed)
            return answers[signed]

        def verdicts(positions: list[int], verify_for: Callable[[int], SignatureVerifier]) -> Callable[[LedgerState], list]:
            def judged(state: LedgerState) -> list[tuple[ResultCode, str] | None]:
                return [judge_batch(state, sealed[n], batches[n].commands, verify_for(n), stamped_ms).refusal for n in positions]
            return judged

        everyone = list(range(len(batches)))
        first, applied_index = self._replica.read(verdicts(everyone, lambda n: assume_valid(checked[n])))
        refusals = dict(zip(everyone, first))
        for noted in checked:
            for signed in noted:
                if signed not in answers:
                    answers[signed] = verify_ed25519(*signed)
        failed = [n for n in everyone if not all(answers[signed] for signed in checked[n])]
        judged_at = dict.fromkeys(everyone, applied_index)
        if failed:
            again, index_again = self._replica.read(verdicts(failed, lambda n: answered))
            refusals.update(zip(failed, again))
            judged_at.update(dict.fromkeys(failed, index_again))
        out: list[Refusal | None] = []
        for n in everyone:
            refusal = refusals[n]
            if refusal is None:
                out.append(None)
                continue
            self._on_refused(refusal[0])
            out.append((refused_results(batches[n].commands, refusal), judged_at[n]))
        return out
