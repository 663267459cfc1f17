"""Schema coverage: every command kind the API accepts has a ledger handler and its own tests."""

import ast
from pathlib import Path

from node.api.settlement.v1 import commands_pb2
from node.codec.commands import ONEOF_TO_TYPE
from node.ledger import HANDLERS
from node.ledger.commands import COMMAND_TYPES

LEDGER_TESTS = Path(__file__).resolve().parent / "ledger"


def oneof_members() -> list[str]:
    return [field.name for field in commands_pb2.Command.DESCRIPTOR.oneofs_by_name["kind"].fields]


def test_every_oneof_member_maps_to_a_ledger_command_type():
    assert sorted(oneof_members()) == sorted(ONEOF_TO_TYPE)
    assert sorted(t.__name__ for t in ONEOF_TO_TYPE.values()) == sorted(t.__name__ for t in COMMAND_TYPES)


def test_every_oneof_member_has_a_ledger_handler():
    missing = [name for name in oneof_members() if ONEOF_TO_TYPE[name] not in HANDLERS]
    assert missing == []


def test_every_oneof_member_has_a_test_module_with_tests():
    missing = []
    for name in oneof_members():
        path = LEDGER_TESTS / f"test_{name}.py"
        tests = []
        if path.exists():
            tree = ast.parse(path.read_text())
            tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        if len(tests) < 2:
            missing.append(f"{path.name}: {len(tests)} tests")
    assert missing == []
