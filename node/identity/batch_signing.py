"""Signs Submit batches for an identity (docs/design.md#signed-batches, node/ledger/signed_batches.py).

A batch is signed over its commands' bytes exactly as they are sent, so it is built in that form
first (`batch_to_send`): a SubmittedBatch, whose bytes are a SubmitRequest's (proto/settlement/v1/
log.proto), holding each command encoded once. What is signed and what is sent are then the same
bytes, whatever any library would re-encode.

Each client picks its own random stream per key, so several processes sharing a key never
collide or wait for each other, and numbers its batches 1, 2, 3... within it: sequence =
stream << 32 | counter. A retry of an ambiguous batch resends the very same signed request (same
sequence), and dedup answers it. A batch the ledger refused as below the replay window
(SEQUENCE_TOO_OLD) was not applied, so it is signed again, on a fresh stream, with the time it
was first signed: the ledger remembers command ids for dedup_retention_ms after that time, so a
retry must never look younger than the first attempt (node/ledger/retention.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from node.api.settlement.v1 import commands_pb2, log_pb2
from node.codec.batch import commands_digest
from node.identity.clock import now_ms
from node.identity.credentials import SigningKey
from node.ledger.limits import batch_sequence_counter_bits
from node.ledger.signed_batches import batch_signing_bytes

stream_bits = 31  # stream << 32 | counter stays within int64
counter_max = (1 << batch_sequence_counter_bits) - 1


def batch_to_send(commands: Iterable[commands_pb2.Command]) -> log_pb2.SubmittedBatch:
    """A Submit request in the form it is signed and sent in: each command's deterministic
    encoding, made once. Send `SerializeToString()` of it as the SubmitRequest's bytes."""
    return log_pb2.SubmittedBatch(commands=[command.SerializeToString(deterministic=True) for command in commands])


class BatchSigner:
    """Fills a batch's key_id, sequence, signed_at_ms and signature."""

    def __init__(self) -> None:
        self._streams: dict[str, tuple[int, int]] = {}  # key id -> (stream, last counter)

    def new_stream(self, key_id: str) -> None:
        """Start a fresh stream for `key_id` (after SEQUENCE_TOO_OLD: its window has moved on)."""
        self._streams.pop(key_id, None)

    def next_sequence(self, key_id: str) -> int:
        stream, counter = self._streams.get(key_id, (0, counter_max))
        if counter == counter_max:
            stream, counter = 1 + secrets.randbelow((1 << stream_bits) - 1), 0
        self._streams[key_id] = (stream, counter + 1)
        return stream << batch_sequence_counter_bits | (counter + 1)

    def sign(self, batch: log_pb2.SubmittedBatch, signing: SigningKey, cluster: str,
             signed_at_ms: int | None = None) -> None:
        """Sign `batch` (see batch_to_send) in place for `cluster` with the next sequence, at
        `signed_at_ms`: the time its commands were first signed (default: now, for commands
        never sent before)."""
        batch.key_id = signing.key_id
        batch.sequence = self.next_sequence(signing.key_id)
        batch.signed_at_ms = now_ms() if signed_at_ms is None else signed_at_ms
        digest = commands_digest(batch.commands)
        batch.signature = signing.key.sign(batch_signing_bytes(cluster, batch.key_id, batch.sequence, batch.signed_at_ms, digest))
