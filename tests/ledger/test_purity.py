"""The ledger is a pure state machine: standard library only, no clock, IO, threads, randomness or floats."""

import ast
import sys
from pathlib import Path

LEDGER = Path(__file__).resolve().parents[2] / "node" / "ledger"
FORBIDDEN_STDLIB = {
    "time", "datetime", "random", "secrets", "os", "io", "socket", "threading", "multiprocessing",
    "asyncio", "subprocess", "pathlib", "shutil", "tempfile", "uuid", "pickle", "marshal", "sqlite3",
    "concurrent", "signal", "select", "logging",
}


def ledger_modules():
    return sorted(LEDGER.glob("*.py"))


def imported_top_level_names(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


def test_ledger_imports_only_allowed_standard_library_modules():
    offenders = []
    for path in ledger_modules():
        for name in imported_top_level_names(ast.parse(path.read_text())):
            if name == "__future__":
                continue
            if name not in sys.stdlib_module_names or name in FORBIDDEN_STDLIB:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_ledger_never_uses_floats():
    offenders = []
    for path in ledger_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                offenders.append(f"{path.name}:{node.lineno} float literal")
            if isinstance(node, ast.Name) and node.id == "float":
                offenders.append(f"{path.name}:{node.lineno} float()")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                offenders.append(f"{path.name}:{node.lineno} true division")
    assert offenders == []


def test_ledger_never_iterates_a_set():
    offenders = []
    for path in ledger_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, (ast.Set, ast.SetComp)):
                offenders.append(f"{path.name}:{node.iter.lineno}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset"):
                if not (path.name == "limits.py"):
                    offenders.append(f"{path.name}:{node.lineno} builds a set")
    assert offenders == []
