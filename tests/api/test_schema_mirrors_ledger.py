"""The protobuf schema and the ledger's records describe the same things with the same names."""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from pathlib import Path

import pytest
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor

from node.api.settlement.v1 import (
    cluster_pb2,
    commands_pb2,
    events_pb2,
    log_pb2,
    results_pb2,
    settlement_pb2,
    state_pb2,
)
from node.codec.commands import ONEOF_TO_TYPE
from node.ledger import commands, events, records, results

PROTO_DIR = Path(__file__).resolve().parents[2] / "proto" / "settlement" / "v1"
ALL_FILES = [cluster_pb2, commands_pb2, events_pb2, log_pb2, results_pb2, settlement_pb2, state_pb2]


def members(descriptor: EnumDescriptor) -> dict[str, int]:
    """Name -> number, without the UNSPECIFIED zero that proto3 needs and the ledger lacks."""
    return {v.name: v.number for v in descriptor.values if not v.name.endswith("_UNSPECIFIED")}


@pytest.mark.parametrize(
    ("ledger_enum", "proto_enum"),
    [
        (results.ResultCode, results_pb2.ResultCode),
        (commands.MarketKind, commands_pb2.MarketKind),
        (commands.OptionType, commands_pb2.OptionType),
        (commands.ActionKind, commands_pb2.ActionKind),
        (records.AccountStatus, state_pb2.Account.Status),
        (records.MarketStatus, state_pb2.Market.Status),
        (records.OracleVerdict, state_pb2.Market.OracleVerdict),
    ],
    ids=lambda e: getattr(e, "__name__", "proto"),
)
def test_enum_has_the_same_names_and_numbers_as_the_ledger(ledger_enum: type[enum.IntEnum], proto_enum):
    assert members(proto_enum.DESCRIPTOR) == {m.name: m.value for m in ledger_enum}


@pytest.mark.parametrize("proto_enum", [commands_pb2.MarketKind, commands_pb2.ActionKind])
def test_enum_zero_is_unspecified_where_the_ledger_has_no_zero(proto_enum):
    assert proto_enum.Name(0).endswith("_UNSPECIFIED")


def test_every_oneof_member_maps_to_a_distinct_ledger_command_type():
    oneof = {f.name for f in commands_pb2.Command.DESCRIPTOR.oneofs_by_name["kind"].fields}
    assert set(ONEOF_TO_TYPE) == oneof
    assert len(set(ONEOF_TO_TYPE.values())) == len(ONEOF_TO_TYPE)
    assert set(ONEOF_TO_TYPE.values()) == set(commands.COMMAND_TYPES)


@pytest.mark.parametrize("member", sorted(ONEOF_TO_TYPE))
def test_command_message_has_the_ledger_dataclass_fields(member):
    message = commands_pb2.Command.DESCRIPTOR.fields_by_name[member].message_type
    ledger_fields = {f.name for f in dataclasses.fields(ONEOF_TO_TYPE[member])} - {"id"}  # id lives on Command
    assert set(message.fields_by_name) == ledger_fields


def test_signature_message_has_the_ledger_dataclass_fields():
    assert set(commands_pb2.Signature.DESCRIPTOR.fields_by_name) == {f.name for f in dataclasses.fields(commands.Signature)}


def test_oracle_source_message_has_the_ledger_dataclass_fields():
    assert set(commands_pb2.OracleSource.DESCRIPTOR.fields_by_name) == {f.name for f in dataclasses.fields(commands.OracleSource)}


@pytest.mark.parametrize(
    "event_type",
    [
        events.Liquidation, events.Deleveraged, events.MarketStatusChanged, events.OracleVerdictChanged,
        events.GlobalModeChanged, events.ActionTaken, events.CheckpointDue, events.CheckpointCertified,
    ],
    ids=lambda t: t.__name__,
)
def test_event_message_has_the_ledger_event_fields(event_type):
    message = getattr(events_pb2, event_type.__name__)
    assert set(message.DESCRIPTOR.fields_by_name) == {f.name for f in dataclasses.fields(event_type)}


def test_every_event_kind_names_a_ledger_event_and_an_event_member():
    members = {f.name for f in events_pb2.Event.DESCRIPTOR.oneofs_by_name["kind"].fields}
    kinds = {name.lower() for name in events_pb2.EventKind.keys() if name != "EVENT_KIND_UNSPECIFIED"}
    assert kinds == members
    ledger = {re.sub(r"(?<!^)(?=[A-Z])", "_", t.__name__).lower() for t in typing.get_args(events.Event)}
    assert ledger == members


def all_fields():
    def walk(message):
        yield from ((message.full_name, f) for f in message.fields)
        for nested in message.nested_types:
            yield from walk(nested)

    for module in ALL_FILES:
        for message in module.DESCRIPTOR.message_types_by_name.values():
            yield from walk(message)


def test_no_field_is_floating_point():
    floats = {FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE}
    assert [f"{owner}.{f.name}" for owner, f in all_fields() if f.type in floats] == []


def test_millisecond_fields_are_int64():
    assert [f"{owner}.{f.name}" for owner, f in all_fields() if f.name.endswith("_ms") and f.type != FieldDescriptor.TYPE_INT64] == []


def test_every_declaration_in_the_proto_files_has_a_comment():
    uncommented = []
    for path in sorted(PROTO_DIR.glob("*.proto")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if re.match(r"\s*(message|enum|service)\s", line) and not lines[number - 1].strip().startswith("//"):
                uncommented.append(f"{path.name}:{number + 1}: {line.strip()}")
    assert uncommented == []
