"""What the codec refuses at the wire boundary, and what it names as the culprit."""

from __future__ import annotations

import pytest

from node.api.settlement.v1 import commands_pb2, log_pb2, results_pb2, settlement_pb2
from node.codec import (
    Batch,
    CodecError,
    batch_from_submitted,
    command_from_proto,
    command_to_proto,
    log_entry_from_bytes,
    result_from_proto,
)
from node.codec.limits import oracle_sources_wire_max, public_key_wire_bytes_max, signature_wire_bytes_max
from node.codec.log import LOG_ENTRY_VERSION, log_entry_to_bytes
from node.ledger.commands import Deposit
from node.ledger.limits import INT64_MAX, batch_commands_max, entry_commands_max, oracle_sources_max


def deposit(n: int = 0) -> commands_pb2.Command:
    return commands_pb2.Command(id=f"d-{n}", deposit=commands_pb2.Deposit(account="alice", amount=1))


def received(request: settlement_pb2.SubmitRequest) -> Batch:
    """A Submit request as the server reads it: its bytes parsed as a SubmittedBatch."""
    return batch_from_submitted(log_pb2.SubmittedBatch.FromString(request.SerializeToString()))


def test_command_without_a_kind_is_rejected():
    with pytest.raises(CodecError) as caught:
        command_from_proto(commands_pb2.Command(id="c-1"))
    assert caught.value.field == "kind"


def test_command_of_a_kind_unknown_to_this_node_is_rejected():
    # A newer client's oneof member (field 99, empty message) arrives as an unknown field.
    wire = commands_pb2.Command(id="c-1").SerializeToString() + bytes([0x9A, 0x06, 0x00])
    with pytest.raises(CodecError, match="kind"):
        command_from_proto(commands_pb2.Command.FromString(wire))


def test_empty_batch_is_rejected():
    with pytest.raises(CodecError) as caught:
        received(settlement_pb2.SubmitRequest())
    assert caught.value.field == "commands"


def test_batch_at_the_limit_is_accepted():
    assert len(received(settlement_pb2.SubmitRequest(commands=[deposit(n) for n in range(batch_commands_max)])).commands) == batch_commands_max


def test_batch_over_the_limit_is_rejected():
    request = settlement_pb2.SubmitRequest(commands=[deposit(n) for n in range(batch_commands_max + 1)])
    with pytest.raises(CodecError, match="at most"):
        received(request)


def log_entry(*batches: list, version: int = LOG_ENTRY_VERSION) -> bytes:
    return log_pb2.LogEntry(
        version=version,
        batches=[log_pb2.SubmittedBatch(commands=[c.SerializeToString() for c in commands]) for commands in batches],
    ).SerializeToString()


def test_logged_batch_over_the_batch_limit_is_rejected():
    with pytest.raises(CodecError, match="at most"):
        log_entry_from_bytes(log_entry([deposit(n) for n in range(batch_commands_max + 1)]), 1)


def test_log_entry_over_the_entry_limit_is_rejected():
    batches = [[deposit(n) for n in range(batch_commands_max)] for _ in range(entry_commands_max // batch_commands_max + 1)]
    with pytest.raises(CodecError, match="in one entry"):
        log_entry_from_bytes(log_entry(*batches), 1)


def test_encoding_an_entry_over_the_entry_limit_is_refused():
    commands = tuple(Deposit(id=f"d-{n}", account="alice", amount=1) for n in range(batch_commands_max))
    with pytest.raises(CodecError, match="in one entry"):
        log_entry_to_bytes(1, [Batch(commands)] * (entry_commands_max // batch_commands_max + 1))


def test_empty_logged_batch_is_rejected():
    with pytest.raises(CodecError, match="empty batch"):
        log_entry_from_bytes(log_entry([]), 1)


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (commands_pb2.Command(id="m", create_market=commands_pb2.CreateMarket(kind=9)), "create_market.kind"),
        (commands_pb2.Command(id="m", create_market=commands_pb2.CreateMarket(kind=1, option_type=7)), "create_market.option_type"),
        (commands_pb2.Command(id="e", emergency_action=commands_pb2.EmergencyAction(kind=42)), "emergency_action.kind"),
    ],
    ids=["MarketKind", "OptionType", "ActionKind"],
)
def test_unknown_enum_number_is_rejected(command, field):
    with pytest.raises(CodecError) as caught:
        command_from_proto(command)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "command",
    [
        commands_pb2.Command(id="m", create_market=commands_pb2.CreateMarket()),
        commands_pb2.Command(id="e", emergency_action=commands_pb2.EmergencyAction()),
    ],
    ids=["MarketKind", "ActionKind"],
)
def test_unspecified_enum_without_a_ledger_value_is_rejected(command):
    with pytest.raises(CodecError, match="kind"):
        command_from_proto(command)


def test_unknown_result_code_is_rejected():
    with pytest.raises(CodecError) as caught:
        result_from_proto(results_pb2.Result(id="c", code=999))
    assert caught.value.field == "code"


@pytest.mark.parametrize("data", [b"\xff\xff\xff\xff", b"garbage", b"\x0a\x05ab"], ids=["bad-tag", "text", "truncated"])
def test_garbage_bytes_are_not_a_log_entry(data):
    with pytest.raises(CodecError):
        log_entry_from_bytes(data, 1)


@pytest.mark.parametrize("version", [0, LOG_ENTRY_VERSION + 1])
def test_log_entry_of_unknown_version_is_rejected(version):
    with pytest.raises(CodecError) as caught:
        log_entry_from_bytes(log_entry([deposit()], version=version), 1)
    assert caught.value.field == "version"


def test_invalid_utf8_in_a_string_field_is_malformed():
    good = log_entry_to_bytes(1, [Batch((Deposit(id="d-1", account="alice", amount=1),))])
    with pytest.raises(CodecError):
        log_entry_from_bytes(good.replace(b"alice", b"al\xffce"), 1)


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (commands_pb2.Command(id="e", emergency_action=commands_pb2.EmergencyAction(kind=1, nonce=INT64_MAX + 1)), "emergency_action.nonce"),
        (commands_pb2.Command(id="v", checkpoint_vote=commands_pb2.CheckpointVote(index=2**64 - 1)), "checkpoint_vote.index"),
    ],
    ids=["nonce", "checkpoint-index"],
)
def test_uint64_beyond_int64_is_rejected(command, field):
    with pytest.raises(CodecError) as caught:
        command_from_proto(command)
    assert caught.value.field == field


def test_submit_sequence_beyond_int64_is_rejected():
    request = settlement_pb2.SubmitRequest(commands=[deposit()], key_id="k", sequence=INT64_MAX + 1)
    with pytest.raises(CodecError) as caught:
        received(request)
    assert caught.value.field == "sequence"


def test_error_names_the_offending_command_and_field():
    bad = commands_pb2.Command(id="e", emergency_action=commands_pb2.EmergencyAction(kind=1, nonce=2**64 - 1))
    with pytest.raises(CodecError) as caught:
        received(settlement_pb2.SubmitRequest(commands=[deposit(), bad]))
    assert caught.value.field == "commands[1].emergency_action.nonce"


def test_ledger_value_that_does_not_fit_the_wire_is_a_codec_error():
    with pytest.raises(CodecError, match="deposit"):
        command_to_proto(Deposit(id="d", account="a", amount=INT64_MAX + 1))


def create_market_command(**fields) -> commands_pb2.Command:
    return commands_pb2.Command(id="m", create_market=commands_pb2.CreateMarket(kind=commands_pb2.PERPETUAL, **fields))


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (create_market_command(sources=[commands_pb2.OracleSource(source=f"s{n}", public_key=b"k" * 32) for n in range(oracle_sources_wire_max + 1)]),
         "create_market.sources"),
        (create_market_command(sources=[commands_pb2.OracleSource(source="a", public_key=b"k" * 32),
                                        commands_pb2.OracleSource(source="b", public_key=b"k" * (public_key_wire_bytes_max + 1))]),
         "create_market.sources[1].public_key"),
        (commands_pb2.Command(id="p", price_update=commands_pb2.PriceUpdate(signature=b"s" * (signature_wire_bytes_max + 1))),
         "price_update.signature"),
    ],
    ids=["too-many-sources", "huge-public-key", "huge-signature"],
)
def test_junk_sized_sources_keys_and_signatures_are_refused_whole(command, field):
    with pytest.raises(CodecError) as caught:
        command_from_proto(command)
    assert caught.value.field == field


def test_sizes_the_ledger_judges_pass_through_to_it():
    # A 31-byte key or 17 sources are the ledger's to answer (INVALID_MARKET_PARAMS), per command.
    sources = [commands_pb2.OracleSource(source=f"s{n}", public_key=b"k" * 31) for n in range(oracle_sources_max + 1)]
    decoded = command_from_proto(create_market_command(sources=sources))
    assert len(decoded.sources) == oracle_sources_max + 1 and decoded.sources[0].public_key == b"k" * 31
    price = command_from_proto(commands_pb2.Command(id="p", price_update=commands_pb2.PriceUpdate(signature=b"s" * 65)))
    assert price.signature == b"s" * 65
