"""The signing contract at the wire: commands are digested and logged as the submitter sent them,
never re-encoded, and a field this node does not know is refused, never dropped."""

from __future__ import annotations

import hashlib
import struct

import pytest

from node.api.settlement.v1 import commands_pb2, log_pb2, settlement_pb2
from node.codec import Batch, CodecError, batch_from_submitted, command_to_proto, commands_digest, decode_log_entry, encode_commands
from node.codec.log import LOG_ENTRY_VERSION_RE_ENCODED, log_entry_to_bytes
from node.ledger.commands import Deposit, SettleTrade

TRADE = SettleTrade("t-1", "BTC-PERP", "alice", "bob", 50_000, 1)
# How protobufjs (and others) encode a field set explicitly to zero: proto3 writers may omit it, or
# not. SettleTrade.buyer_fee is field 6 (tag 0x30), seller_fee field 7 (0x38), both varint 0.
EXPLICIT_ZERO_FEES = b"\x30\x00\x38\x00"


def varint_field(number: int, value: int) -> bytes:
    """A varint field as any protobuf writer puts it: tag (number << 3 | 0), then the value."""
    out = bytearray()
    for part in (number << 3, value):
        while part > 0x7F:
            out.append(part & 0x7F | 0x80)
            part >>= 7
        out.append(part)
    return bytes(out)


def trade_with_explicit_zero_fees() -> bytes:
    inner = command_to_proto(TRADE).settle_trade.SerializeToString() + EXPLICIT_ZERO_FEES
    return commands_pb2.Command(id=TRADE.id).SerializeToString() + b"\x6a" + bytes([len(inner)]) + inner


def submitted(*encoded: bytes, **signed) -> log_pb2.SubmittedBatch:
    """A Submit request's bytes as the server parses them."""
    request = log_pb2.SubmittedBatch(commands=list(encoded), **signed).SerializeToString()
    return log_pb2.SubmittedBatch.FromString(request)


def test_the_digest_is_sha256_over_each_command_as_sent_framed_by_its_length_in_4_bytes_big_endian():
    first, second = b"\x0a\x01a", b"\x0a\x02bc" * 150  # 3 and 600 bytes
    expected = hashlib.sha256(struct.pack(">I", 3) + first + struct.pack(">I", 600) + second).digest()
    assert commands_digest([first, second]) == expected


def test_a_command_with_fields_set_explicitly_to_zero_decodes_as_the_same_command():
    batch = batch_from_submitted(submitted(trade_with_explicit_zero_fees()))
    assert batch.commands == (TRADE,)


def test_the_digest_covers_the_bytes_sent_not_this_nodes_re_encoding():
    sent = trade_with_explicit_zero_fees()
    assert sent != encode_commands((TRADE,))[0]
    batch = batch_from_submitted(submitted(sent, key_id="settler", signature=b"s" * 64))
    (sealed,) = decode_log_entry(log_entry_to_bytes(5, [batch]), 1).entry.batches
    assert sealed.commands_digest == commands_digest([sent])
    assert sealed.commands_digest != commands_digest(encode_commands((TRADE,)))


def test_the_leader_logs_each_commands_bytes_unchanged():
    sent = trade_with_explicit_zero_fees()
    data = log_entry_to_bytes(5, [batch_from_submitted(submitted(sent))])
    assert list(log_pb2.LogEntry.FromString(data).batches[0].commands) == [sent]


def test_a_submit_request_parses_as_a_submitted_batch_field_for_field():
    request = settlement_pb2.SubmitRequest.DESCRIPTOR.fields_by_name
    logged = log_pb2.SubmittedBatch.DESCRIPTOR.fields_by_name
    assert sorted(request) == sorted(logged)
    for name, field in request.items():
        assert logged[name].number == field.number
        assert logged[name].is_repeated == field.is_repeated
        # A message and bytes are the same on the wire (tag, length, bytes); scalars must match.
        if field.type != field.TYPE_MESSAGE:
            assert logged[name].type == field.type, name
        else:
            assert logged[name].type == field.TYPE_BYTES, name


def test_a_submit_request_built_by_protobuf_reads_back_with_the_same_commands():
    request = settlement_pb2.SubmitRequest(commands=[command_to_proto(TRADE)], key_id="k", sequence=3, signed_at_ms=9)
    batch = batch_from_submitted(log_pb2.SubmittedBatch.FromString(request.SerializeToString()))
    assert batch.commands == (TRADE,)
    assert (batch.signed.key_id, batch.signed.sequence, batch.signed.signed_at_ms) == ("k", 3, 9)


@pytest.mark.parametrize(
    ("unknown", "field", "number"),
    [
        (varint_field(999, 7), "commands[0]", 999),  # a field of the Command itself
        (None, "commands[0].settle_trade", 99),  # field 99 inside the SettleTrade
    ],
    ids=["in-command", "nested"],
)
def test_a_command_carrying_a_field_this_node_does_not_know_is_refused_naming_it(unknown, field, number):
    if unknown is None:
        inner = command_to_proto(TRADE).settle_trade.SerializeToString() + varint_field(99, 1)
        encoded = commands_pb2.Command(id=TRADE.id).SerializeToString() + b"\x6a" + bytes([len(inner)]) + inner
    else:
        encoded = command_to_proto(TRADE).SerializeToString() + unknown
    with pytest.raises(CodecError) as caught:
        batch_from_submitted(submitted(encoded))
    assert caught.value.field == field
    assert f"field {number} is not known" in caught.value.reason


def test_the_error_names_which_command_of_the_batch_carries_the_unknown_field():
    good = command_to_proto(Deposit("d-1", "a", 1)).SerializeToString()
    with pytest.raises(CodecError) as caught:
        batch_from_submitted(submitted(good, good + varint_field(999, 7)))
    assert caught.value.field == "commands[1]"


def test_a_request_carrying_a_field_this_node_does_not_know_is_refused():
    request = submitted(command_to_proto(TRADE).SerializeToString())
    request.MergeFromString(varint_field(500, 42))
    with pytest.raises(CodecError, match="field 500 is not known"):
        batch_from_submitted(request)


def test_bytes_that_are_not_a_command_are_refused_naming_the_command():
    with pytest.raises(CodecError) as caught:
        batch_from_submitted(submitted(b"\xff\xff\xff"))
    assert caught.value.field == "commands[0]"


def test_a_logged_command_carrying_an_unknown_field_makes_the_entry_unreadable():
    # Only a rogue leader logs one (an honest one refuses it at Submit); every replica refuses the
    # entry alike and applies it as empty (node/replica/logged_entry.py).
    entry = log_pb2.LogEntry(version=2, timestamp_ms=5, batches=[
        log_pb2.SubmittedBatch(commands=[command_to_proto(TRADE).SerializeToString() + varint_field(999, 7)])])
    with pytest.raises(CodecError, match="field 999 is not known"):
        decode_log_entry(entry.SerializeToString(), 1)


@pytest.mark.parametrize("where", ["entry", "batch"])
def test_a_log_entry_or_a_logged_batch_carrying_an_unknown_field_is_unreadable(where):
    batch = log_pb2.SubmittedBatch(commands=[command_to_proto(TRADE).SerializeToString()])
    if where == "batch":
        batch.MergeFromString(varint_field(77, 1))
    entry = log_pb2.LogEntry(version=2, timestamp_ms=5, batches=[batch]).SerializeToString()
    if where == "entry":
        entry += varint_field(77, 1)
    with pytest.raises(CodecError, match="field 77 is not known"):
        decode_log_entry(entry, 1)


def test_a_version_1_entry_is_read_with_the_digest_version_1_signed():
    # Version 1 leaders logged their deterministic re-encoding, and the digest was SHA-256 of the
    # commands as a protobuf `repeated Command commands = 1` field.
    commands = [command_to_proto(TRADE), command_to_proto(Deposit("d-1", "a", 1))]
    entry = log_pb2.LogEntry(version=LOG_ENTRY_VERSION_RE_ENCODED, timestamp_ms=5, batches=[log_pb2.SubmittedBatch(
        commands=[c.SerializeToString(deterministic=True) for c in commands], key_id="settler", signature=b"s" * 64)])
    (sealed,) = decode_log_entry(entry.SerializeToString(), 1).entry.batches
    version_1_digest = hashlib.sha256(settlement_pb2.SubmitRequest(commands=commands).SerializeToString(deterministic=True)).digest()
    assert sealed.commands_digest == version_1_digest


def test_a_batch_no_client_sent_is_logged_in_its_deterministic_encoding():
    data = log_entry_to_bytes(5, [Batch((TRADE,))])
    assert list(log_pb2.LogEntry.FromString(data).batches[0].commands) == list(encode_commands((TRADE,)))
