"""The leader's check of a batch before it is logged (docs/design.md#nothing-unverifiable-is-logged).

Every replica verifies every batch when it applies the entry, and stays the authority: a rogue
leader that logs a forged batch gains nothing. But a batch the ledger will refuse (unsigned, an
unknown key, a wrong role, a bad signature, expired, signed ahead, a used sequence) still cost
every node a log entry, a journal write and an apply, so anyone allowed to call Submit could grow
every node's log without holding a signing key. So Submit first asks the ledger's own verdict
(`judge_batch`, node/ledger/signed_batches.py) on this node's current state, under the replica's
lock, with the clock this node would stamp the entry with, and answers a refused batch with the
ledger's result codes itself, logging nothing. A refusal here says the same as the ledger's:
nothing was applied.

The Ed25519 verification (~100 us) runs outside the lock, where it does not hold up applying: the
verdict is first taken with every signature assumed valid while noting which ones the ledger
checks; if one of them then fails, the verdict is taken again with the real answers. A verifier is
a pure function of its arguments, so that is the verdict the ledger gives.

The verdict is a forecast, taken before the batches in flight are applied: a batch it passes may
still be refused by the ledger (two batches with one sequence in flight together; a signer set
changed meanwhile), and one it refuses might have passed a moment later (a key added by an entry
in flight). Both answers are ones the ledger could have given.
"""

from __future__ import annotations

from collections.abc import Callable

from node.codec.batch import Batch, batch_signature
from node.identity.keys import verify_ed25519
from node.ledger.results import Result
from node.ledger.signatures import SignatureVerifier
from node.ledger.signed_batches import judge_batch, refused_results
from node.ledger.state import LedgerState
from node.replica.port import ReplicaPort

Signed = tuple[bytes, bytes, bytes]  # (public key, message, signature)


def refusal_before_logging(replica: ReplicaPort, batch: Batch, stamped_ms: int) -> tuple[tuple[Result, ...], int] | None:
    """(every command's result, the applied index it was judged at) for a batch the ledger would
    refuse as a whole now; None when it may be logged. Blocks on the replica's lock while an
    entry applies: call it off the event loop."""
    sealed = batch_signature(batch)  # the digest, outside the lock
    checked: list[Signed] = []
    answers: dict[Signed, bool] = {}

    def assume_valid(public_key: bytes, message: bytes, signature: bytes) -> bool:
        checked.append((bytes(public_key), bytes(message), bytes(signature)))
        return True

    def answered(public_key: bytes, message: bytes, signature: bytes) -> bool:
        signed = (bytes(public_key), bytes(message), bytes(signature))
        if signed not in answers:  # the state changed between the two looks: verify it here
            answers[signed] = verify_ed25519(*signed)
        return answers[signed]

    def verdict(verify: SignatureVerifier) -> Callable[[LedgerState], tuple[Result, ...] | None]:
        def judged(state: LedgerState) -> tuple[Result, ...] | None:
            refusal = judge_batch(state, sealed, batch.commands, verify, stamped_ms).refusal
            return refused_results(batch.commands, refusal) if refusal is not None else None
        return judged

    results, applied_index = replica.read(verdict(assume_valid))
    for signed in checked:
        answers[signed] = verify_ed25519(*signed)
    if not all(answers.values()):
        results, applied_index = replica.read(verdict(answered))
    return (results, applied_index) if results is not None else None
