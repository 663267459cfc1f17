"""What the soak reads from a running node: its RSS, its data on disk, its metrics and its log.

Every figure is read from outside the node, as an operator would: /proc/<pid>/status, the files
under its data directory, its Prometheus endpoint (metrics_address) and the JSON lines of its log.
The parsing is kept apart from the reading so tests can feed it text.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

metrics_timeout_s = 5.0
log_file_name = "node.log"  # the launcher's copy of the node's output, not the node's own state
disk_block_bytes = 512  # st_blocks counts 512-byte units
truncation_text = "truncating already-applied log entries"  # pysyncobj, at CRITICAL: Raft rewrote applied entries
leader_change_event = "leader_change"


def rss_bytes(status_text: str) -> int:
    """The resident set size in a /proc/<pid>/status text, in bytes (its VmRSS line, in kB)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            fields = line.split()
            if len(fields) != 3 or fields[2] != "kB" or not fields[1].isdigit():
                raise ValueError(f"unexpected VmRSS line: {line!r}")
            return int(fields[1]) * 1024
    raise ValueError("no VmRSS line (the process has exited or is a kernel thread)")


def process_rss_bytes(pid: int) -> int | None:
    """RSS of a live process, None once it is gone."""
    try:
        return rss_bytes(Path(f"/proc/{pid}/status").read_text())
    except (OSError, ValueError):
        return None


def disk_bytes(path: Path) -> int:
    """Bytes allocated on disk under `path`, like du: blocks, not lengths (sparse files count
    what they hold), each inode once; 0 if it is gone."""
    seen: set[tuple[int, int]] = set()
    total = 0
    paths = [path] if not path.is_dir() else [Path(root) / name for root, _, files in os.walk(path) for name in files]
    for file in paths:
        try:
            st = file.lstat()
        except OSError:
            continue  # removed while we walked (a dump replaced, a checkpoint pruned)
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        total += st.st_blocks * disk_block_bytes
    return total


def data_dir_parts(node_dir: Path) -> dict[str, int]:
    """Bytes on disk of each top-level entry of a node's data directory (the LMDB store
    `ledger`, `raft.journal`, `raft.dump`, `checkpoints`, ...), its log left out."""
    parts = {}
    try:
        entries = sorted(node_dir.iterdir())
    except OSError:
        return {}
    for entry in entries:
        if entry.name != log_file_name:
            parts[entry.name] = disk_bytes(entry)
    return parts


@dataclass(frozen=True, slots=True)
class NodeMetrics:
    """The figures the soak takes from one scrape of a node's metrics endpoint."""

    trades_settled: int  # settle_commands_applied_total{kind="SettleTrade",code="OK"}: applied on this node
    dedup_records: int  # settle_dedup_records
    replay_windows: int  # settle_replay_windows
    term: int  # settle_raft_term


def node_metrics(exposition: str) -> NodeMetrics:
    """Parses a Prometheus text exposition; a missing family is a ValueError (another version)."""
    found: dict[str, float] = {"trades_settled": 0.0}  # no trade applied yet: no labelled sample
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "settle_commands_applied_total" and sample.labels == {"kind": "SettleTrade", "code": "OK"}:
                found["trades_settled"] = sample.value
            elif sample.name == "settle_dedup_records":
                found["dedup_records"] = sample.value
            elif sample.name == "settle_replay_windows":
                found["replay_windows"] = sample.value
            elif sample.name == "settle_raft_term":
                found["term"] = sample.value
    missing = {"dedup_records", "replay_windows", "term"} - set(found)
    if missing:
        raise ValueError(f"the metrics lack {sorted(missing)}")
    return NodeMetrics(**{name: int(value) for name, value in found.items()})


def scrape(metrics_address: str) -> NodeMetrics | None:
    """One scrape of http://<metrics_address>/metrics; None if the node does not answer."""
    try:
        with urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=metrics_timeout_s) as reply:
            return node_metrics(reply.read().decode())
    except (OSError, ValueError):
        return None


@dataclass
class LogFindings:
    """What a run of node log lines says about Raft's health."""

    leader_terms: set[int] = field(default_factory=set)  # new_term of every leader_change line
    leader_change_lines: list[str] = field(default_factory=list)
    truncation_lines: list[str] = field(default_factory=list)

    def add(self, other: LogFindings) -> None:
        self.leader_terms |= other.leader_terms
        self.leader_change_lines += other.leader_change_lines
        self.truncation_lines += other.truncation_lines


def elections(terms_before: set[int], terms_during: set[int]) -> int:
    """Leader elections during a window: terms first logged by a leader_change line in it (every
    node logs the leader it already knew once at start, and each node logs each new term)."""
    return len(terms_during - terms_before)


def scan_log_lines(lines: Iterable[str]) -> LogFindings:
    """leader_change events (node/logs.py, one per node per new term or leader) and pysyncobj's
    'truncating already-applied log entries' lines, in any format (the latter need not be JSON)."""
    findings = LogFindings()
    for line in lines:
        if truncation_text in line:
            findings.truncation_lines.append(line)
        if leader_change_event not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == leader_change_event and isinstance(record.get("new_term"), int):
            findings.leader_terms.add(record["new_term"])
            findings.leader_change_lines.append(line)
    return findings


class LogTail:
    """Reads the lines appended to a growing log since the last call (a partial last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""

    def new_lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        return [line.decode(errors="replace") for line in complete]
