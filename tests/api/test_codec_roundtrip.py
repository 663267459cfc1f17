"""Ledger records survive the trip through protobuf unchanged."""

from __future__ import annotations

import dataclasses

import pytest

from node.api.settlement.v1 import commands_pb2, log_pb2, settlement_pb2
from node.codec import (
    Batch,
    SignedBatch,
    command_from_proto,
    command_to_proto,
    decode_log_entry,
    log_entry_from_bytes,
    log_entry_to_bytes,
    result_from_proto,
    result_to_proto,
)
from node.codec.limits import create_market_wire_defaults
from node.codec.batch import batch_from_submitted, commands_digest, encode_commands
from node.ledger.commands import (
    COMMAND_TYPES, ActionKind, BatchSignature, CreateMarket, Deposit, EmergencyAction, LogEntry, MarketKind, SettleTrade,
)
from node.ledger.limits import INT64_MAX, INT64_MIN
from node.ledger.results import Result, ResultCode


def test_samples_cover_every_command_type_with_every_field_set(sample_commands):
    assert {type(command) for command in sample_commands} == set(COMMAND_TYPES)
    for command in sample_commands:
        unset = [f.name for f in dataclasses.fields(command) if not getattr(command, f.name)]
        assert unset == [], f"{type(command).__name__} leaves {unset} at a falsy default"


def test_every_command_type_round_trips_through_proto(sample_command):
    assert command_from_proto(command_to_proto(sample_command)) == sample_command


def test_every_command_type_round_trips_through_wire_bytes(sample_command):
    wire = command_to_proto(sample_command).SerializeToString()
    assert command_from_proto(commands_pb2.Command.FromString(wire)) == sample_command


def test_int64_extremes_round_trip():
    trade = SettleTrade(id="t", market="m", buyer="a", seller="b", price=INT64_MAX, quantity=INT64_MIN)
    action = EmergencyAction(id="e", kind=ActionKind.HALT_MARKET, canonical_bytes=b"", nonce=INT64_MAX, not_after_ms=INT64_MIN)
    assert command_from_proto(command_to_proto(trade)) == trade
    assert command_from_proto(command_to_proto(action)) == action


def test_values_the_ledger_judges_pass_through_unjudged():
    # Negative amount and an illegal id are the ledger's to answer per command (INVALID_AMOUNT,
    # INVALID_ID), not the codec's to reject for the whole batch.
    deposit = Deposit(id="", account="sys:insurance", amount=-5)
    assert command_from_proto(command_to_proto(deposit)) == deposit


def test_log_entry_round_trips_through_bytes(sample_commands):
    data = log_entry_to_bytes(1_763_000_000_000, [Batch(sample_commands)])
    unsigned = (BatchSignature(len(sample_commands)),)
    assert log_entry_from_bytes(data, 17) == LogEntry(index=17, timestamp_ms=1_763_000_000_000, commands=sample_commands, batches=unsigned)


def test_log_entry_carries_each_signed_batch_unchanged(sample_commands):
    first = SignedBatch(key_id="settler-1", sequence=INT64_MAX, signature=b"\x09" * 64, signed_at_ms=4)
    second = SignedBatch(key_id="oracle-2", sequence=3, signature=b"\x07" * 64, signed_at_ms=-1)
    data = log_entry_to_bytes(5, [Batch(sample_commands[1:3], first), Batch(sample_commands[3:4], second)])
    decoded = decode_log_entry(data, 3)
    assert decoded.entry.commands == sample_commands[1:4]
    assert decoded.batch_sizes == (2, 1)
    assert decoded.signatures == (first, second)
    assert [(b.size, b.key_id, b.sequence, b.signed_at_ms, b.signature) for b in decoded.entry.batches] == [
        (2, "settler-1", INT64_MAX, 4, b"\x09" * 64), (1, "oracle-2", 3, -1, b"\x07" * 64)]


def test_each_replica_computes_the_commands_digest_itself_from_the_logged_commands(sample_commands):
    signed = SignedBatch(key_id="settler-1", sequence=1, signature=b"\x09" * 64, signed_at_ms=4)
    data = log_entry_to_bytes(5, [Batch(sample_commands[1:3], signed)])
    (batch,) = decode_log_entry(data, 3).entry.batches
    assert batch.commands_digest == commands_digest(encode_commands(sample_commands[1:3]))
    assert batch.commands_digest != commands_digest(encode_commands(sample_commands[1:2]))


def test_log_entry_index_is_supplied_by_the_replica_not_stored(sample_commands):
    data = log_entry_to_bytes(5, [Batch(sample_commands[1:2])])
    assert log_entry_from_bytes(data, 4).index == 4


def test_log_entry_may_carry_no_batches():
    # A barrier for linearizable reads, or a time tick: nothing to apply but the index and time.
    decoded = decode_log_entry(log_entry_to_bytes(9, []), 8)
    assert decoded.entry == LogEntry(index=8, timestamp_ms=9, commands=())
    assert decoded.batch_sizes == ()


def test_equal_log_entries_encode_to_equal_bytes(sample_commands):
    again = tuple(command_from_proto(command_to_proto(c)) for c in sample_commands)
    assert log_entry_to_bytes(5, [Batch(sample_commands)]) == log_entry_to_bytes(5, [Batch(again)])


def received(request: settlement_pb2.SubmitRequest) -> Batch:
    """A Submit request as the server reads it: its bytes parsed as a SubmittedBatch."""
    return batch_from_submitted(log_pb2.SubmittedBatch.FromString(request.SerializeToString()))


def test_submit_request_decodes_to_commands_and_signed_batch(sample_commands):
    request = settlement_pb2.SubmitRequest(
        commands=[command_to_proto(c) for c in sample_commands], key_id="settler-1", sequence=7, signature=b"sig"
    )
    assert (received(request).commands, received(request).signed) == (sample_commands, SignedBatch("settler-1", 7, b"sig"))
    request.signed_at_ms = 12
    assert received(request).signed == SignedBatch("settler-1", 7, b"sig", 12)


def test_unsigned_submit_request_gives_an_empty_signed_batch(sample_commands):
    request = settlement_pb2.SubmitRequest(commands=[command_to_proto(sample_commands[1])])
    assert received(request).signed == SignedBatch()


@pytest.mark.parametrize("code", list(ResultCode), ids=lambda code: code.name)
def test_every_result_code_round_trips(code):
    result = Result(id="c-1", code=code, message="why", collateral=INT64_MAX, counterparty_collateral=INT64_MIN)
    assert result_from_proto(result_to_proto(result)) == result


def test_duplicate_result_round_trips_with_its_original_code():
    result = Result(id="c-1", code=ResultCode.DUPLICATE, original_code=ResultCode.INSUFFICIENT_MARGIN, collateral=12)
    decoded = result_from_proto(result_to_proto(result))
    assert decoded == result
    assert decoded.original_code is ResultCode.INSUFFICIENT_MARGIN


def test_unset_create_market_fields_without_a_meaningful_zero_decode_to_the_ledger_defaults():
    message = commands_pb2.Command(id="m", create_market=commands_pb2.CreateMarket(market="M", kind=commands_pb2.PERPETUAL))
    decoded = command_from_proto(message)
    zeros = dict.fromkeys(("tick_size", "lot_size", "initial_margin_bps", "maintenance_margin_bps", "liquidation_fee_bps",
                           "open_interest_cap", "trade_band_bps", "band_bps", "band_window_ms", "cooldown_ms"), 0)
    assert decoded == CreateMarket(id="m", market="M", kind=MarketKind.PERPETUAL, **zeros)
    assert (decoded.min_sources, decoded.stale_after_ms, decoded.liquidation_slice_bps) == (1, 60_000, 10_000)


def test_an_unset_outlier_bps_is_the_default_and_an_explicit_zero_turns_the_rule_off():
    unset = commands_pb2.CreateMarket(market="M", kind=commands_pb2.PERPETUAL)
    off = commands_pb2.CreateMarket(market="M", kind=commands_pb2.PERPETUAL, outlier_bps=0)
    assert command_from_proto(commands_pb2.Command(id="m", create_market=unset)).outlier_bps == 1_000
    assert command_from_proto(commands_pb2.Command(id="m", create_market=off)).outlier_bps == 0
    listing = CreateMarket(id="m", market="M", kind=MarketKind.PERPETUAL, tick_size=1, lot_size=1, initial_margin_bps=1,
                           maintenance_margin_bps=1, liquidation_fee_bps=0, open_interest_cap=0, trade_band_bps=1,
                           band_bps=0, band_window_ms=0, cooldown_ms=0, outlier_bps=0)
    assert command_from_proto(commands_pb2.Command.FromString(command_to_proto(listing).SerializeToString())) == listing


def test_the_wire_defaults_are_the_ledger_dataclass_defaults():
    # Fixed in the codec for the log's sake; they must still say what the ledger says today.
    fields = {f.name: f.default for f in dataclasses.fields(CreateMarket)}
    assert create_market_wire_defaults == {name: fields[name] for name in create_market_wire_defaults}
