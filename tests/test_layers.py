"""The node's layers, as docs/design.md#dependency-direction draws them: imports point inward.

Read from the source (every import statement, those inside functions too), never by importing:
- the node never imports its own client SDK: only node/main.py (which builds the checkpoint vote
  submitter) and node/cli may import node.client;
- the SDK talks over the wire only: it imports the API, the codec, identity, TLS and the ledger's
  command and result types, nothing of the node's insides;
- the server sees the replica only through its port;
- pysyncobj's private names stay inside the adapter (node/replica/raft.py, journal.py);
- nothing under node/ imports the tooling (cluster/) or the tests;
- the node's packages import each other without circles.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "node"

SDK_MAY_IMPORT = ("node.api", "node.codec", "node.identity", "node.tls", "node.client",
                  "node.ledger.commands", "node.ledger.results", "node.ledger.limits")
MAY_IMPORT_THE_SDK = ("node/main.py", "node/cli/")
PYSYNCOBJ_ADAPTER = ("node/replica/raft.py", "node/replica/journal.py")
PYSYNCOBJ_PRIVATE = re.compile(r"\._isLeader\b|\._getLeader\b|_SyncObj__|_FileJournal__|\.raftCurrentTerm\b|\.raftCommitIndex\b|\.otherNodes\b")


def node_modules() -> list[Path]:
    return sorted(p for p in NODE.rglob("*.py") if "api" not in p.relative_to(NODE).parts[:1])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[str]:
    """Every module an import statement in `path` names (relative imports resolved)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield module
            for alias in node.names:  # `from node.client import sdk` names node.client.sdk
                yield f"{module}.{alias.name}"


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_only_main_and_the_cli_import_the_client_sdk():
    offenders = [
        f"{relative(path)} imports {module}"
        for path in node_modules()
        if not relative(path).startswith(MAY_IMPORT_THE_SDK) and not relative(path).startswith("node/client/")
        for module in imports_of(path)
        if within(module, "node.client")
    ]
    assert offenders == []


def test_the_sdk_imports_only_the_api_codec_identity_tls_and_ledger_types():
    offenders = [
        f"{relative(path)} imports {module}"
        for path in node_modules() if relative(path).startswith("node/client/")
        for module in imports_of(path)
        if within(module, "node") and not any(within(module, allowed) for allowed in SDK_MAY_IMPORT)
    ]
    assert offenders == []


def test_the_server_sees_the_replica_only_through_its_port():
    offenders = [
        f"{relative(path)} imports {module}"
        for path in node_modules() if relative(path).startswith("node/server/")
        for module in imports_of(path)
        if (within(module, "node.replica") and not within(module, "node.replica.port")) or within(module, "pysyncobj")
    ]
    assert offenders == []


def test_pysyncobj_private_names_stay_inside_the_adapter():
    offenders = [
        f"{relative(path)}:{number}: {line.strip()}"
        for path in node_modules() if relative(path) not in PYSYNCOBJ_ADAPTER
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PYSYNCOBJ_PRIVATE.search(line)
    ]
    assert offenders == []


def test_the_node_never_imports_the_tooling_or_the_tests():
    offenders = [
        f"{relative(path)} imports {module}"
        for path in node_modules()
        for module in imports_of(path)
        if within(module, "cluster") or within(module, "tests")
    ]
    assert offenders == []


def package_of(module: str) -> str | None:
    """node.<package> for a module of the node (node.main and node.config are their own)."""
    parts = module.split(".")
    if parts[0] != "node" or len(parts) < 2 or parts[1] == "api":
        return None
    return f"node.{parts[1]}"


def test_the_node_packages_import_each_other_without_circles():
    edges: dict[str, set[str]] = {}
    known = {package_of(module_name(path)) for path in node_modules()} - {None, "node"}
    for path in node_modules():
        source = package_of(module_name(path))
        for module in imports_of(path):
            target = package_of(module)
            if source and target and source != target and target in known:
                edges.setdefault(source, set()).add(target)
    circles = []

    def visit(package: str, trail: list[str]) -> None:
        for target in sorted(edges.get(package, ())):
            if target in trail:
                circles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif len(trail) < len(known):
                visit(target, trail + [target])

    for package in sorted(known):
        visit(package, [package])
    assert sorted(set(circles)) == []
