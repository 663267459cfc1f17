"""Pure conversions between the protobuf API (node.api) and the ledger's records (node.ledger).

The codec is the wire boundary: it rejects what the ledger cannot even represent (no command
kind, unknown enum numbers, uint64 beyond int64, an empty or oversized batch, bytes that are not
a LogEntry, keys and signatures of junk size: node/codec/limits.py) with a CodecError, which the
server turns into INVALID_ARGUMENT for the whole request. Everything the ledger can judge itself
(positive amounts, id charset, tick multiples, a 31-byte key) passes through untouched, so the
ledger answers it per command with its own result code. A field this node does not know is
refused, never dropped: commands are logged and digested as the submitter sent them. The one
translation: CreateMarket's fields without a meaningful 0 (min_sources, stale_after_ms,
liquidation_slice_bps, most unwind_* fields) read 0 (proto3's "not set") as the default, and its
`optional` outlier_bps reads "not set" (only) as the default (node/codec/limits.py).
"""

from node.codec.batch import (
    Batch,
    SignedBatch,
    batch_from_submitted,
    batch_signature,
    commands_digest,
    encode_commands,
    signed_batch_from_proto,
)
from node.codec.commands import ONEOF_TO_TYPE, command_from_proto, command_to_proto
from node.codec.errors import CodecError
from node.codec.log import LOG_ENTRY_VERSION, DecodedEntry, decode_log_entry, log_entry_from_bytes, log_entry_to_bytes
from node.codec.results import result_from_proto, result_to_proto

__all__ = [
    "Batch",
    "batch_from_submitted",
    "batch_signature",
    "commands_digest",
    "encode_commands",
    "DecodedEntry",
    "CodecError",
    "LOG_ENTRY_VERSION",
    "ONEOF_TO_TYPE",
    "SignedBatch",
    "command_from_proto",
    "command_to_proto",
    "decode_log_entry",
    "log_entry_from_bytes",
    "log_entry_to_bytes",
    "result_from_proto",
    "result_to_proto",
    "signed_batch_from_proto",
]
