"""What the soak reads from outside a node: RSS from /proc status, bytes on disk, metrics, log lines."""

from __future__ import annotations

import json
import os

import pytest

from cluster.bench.soak_probes import (
    LogTail,
    data_dir_parts,
    disk_bytes,
    elections,
    node_metrics,
    rss_bytes,
    scan_log_lines,
)

STATUS = """Name:\tpython
State:\tS (sleeping)
VmPeak:\t  912344 kB
VmSize:\t  900000 kB
VmHWM:\t  210000 kB
VmRSS:\t  190275 kB
RssAnon:\t  150000 kB
Threads:\t12
"""


def leader_change(term: int, leader: str, node: str = "node1") -> str:
    return json.dumps({"time": "2026-12-03T10:21:39.513Z", "level": "INFO", "logger": "settle.events",
                       "message": f"term {term}: leader is {leader}", "node": node, "term": term, "applied": 0,
                       "event": "leader_change", "new_term": term, "leader": leader, "is_self": leader == node})


TRUNCATION = json.dumps({"level": "CRITICAL", "logger": "pysyncobj.syncobj", "message":
                         "truncating already-applied log entries from index 172 (last applied: 172) - state machine "
                         "may have diverged from other cluster members", "node": "node2"})


def test_rss_is_the_vmrss_line_in_bytes():
    assert rss_bytes(STATUS) == 190275 * 1024


def test_a_status_without_vmrss_is_refused():
    with pytest.raises(ValueError, match="VmRSS"):
        rss_bytes("Name:\tkthreadd\nState:\tS (sleeping)\n")


def test_a_vmrss_line_in_another_unit_is_refused():
    with pytest.raises(ValueError, match="VmRSS"):
        rss_bytes("VmRSS:\t 12 MB\n")


def test_leader_change_lines_give_the_terms_they_announce():
    lines = [leader_change(1, "node3"), leader_change(3, "node3"), leader_change(3, "node3", node="node2"),
             "not json at all, though it says leader_change", json.dumps({"message": "leader_change", "event": "node_start", "new_term": 9})]
    findings = scan_log_lines(lines)
    assert findings.leader_terms == {1, 3}
    assert len(findings.leader_change_lines) == 3


def test_truncation_lines_are_found_whatever_their_format():
    lines = [TRUNCATION, "CRITICAL truncating already-applied log entries from index 5 (last applied: 9)", leader_change(1, "node1")]
    assert scan_log_lines(lines).truncation_lines == lines[:2]


def test_a_term_already_logged_before_the_load_is_no_election():
    assert elections({1}, {1}) == 0
    assert elections({1}, {1, 3, 4}) == 2


def test_a_log_tail_returns_only_complete_lines_appended_since_the_last_read(tmp_path):
    log = tmp_path / "node.log"
    log.write_text("first\nsecond\nhal")
    tail = LogTail(log)
    assert tail.new_lines() == ["first", "second"]
    assert tail.new_lines() == []
    with open(log, "a") as f:
        f.write("f of the third\n")
    assert tail.new_lines() == ["half of the third"]


def test_a_log_tail_of_a_missing_file_is_empty(tmp_path):
    assert LogTail(tmp_path / "absent.log").new_lines() == []


EXPOSITION = """# HELP settle_commands_applied_total Commands applied, by command kind and result code
# TYPE settle_commands_applied_total counter
settle_commands_applied_total{kind="Deposit",code="OK"} 2000.0
settle_commands_applied_total{kind="SettleTrade",code="OK"} 315000.0
settle_commands_applied_total{kind="SettleTrade",code="INSUFFICIENT_MARGIN"} 12.0
# HELP settle_raft_term Current Raft term
# TYPE settle_raft_term gauge
settle_raft_term 3.0
# HELP settle_dedup_records Command ids remembered for exactly-once (bounded by dedup_retention_ms)
# TYPE settle_dedup_records gauge
settle_dedup_records 124009.0
# HELP settle_replay_windows Submitter streams whose replay window is kept
# TYPE settle_replay_windows gauge
settle_replay_windows 6.0
"""


def test_metrics_give_settled_trades_dedup_records_replay_windows_and_the_term():
    figures = node_metrics(EXPOSITION)
    assert (figures.trades_settled, figures.dedup_records, figures.replay_windows, figures.term) == (315000, 124009, 6, 3)


def test_no_trade_applied_yet_counts_zero_trades():
    without_trades = "\n".join(line for line in EXPOSITION.splitlines() if "SettleTrade" not in line) + "\n"
    assert node_metrics(without_trades).trades_settled == 0


def test_metrics_without_the_dedup_gauges_are_refused():
    older = "\n".join(line for line in EXPOSITION.splitlines() if "dedup" not in line) + "\n"
    with pytest.raises(ValueError, match="dedup_records"):
        node_metrics(older)


def test_disk_bytes_count_allocated_blocks_not_lengths(tmp_path):
    sparse = tmp_path / "sparse"
    with open(sparse, "wb") as f:
        f.seek(64 << 20)
        f.write(b"x")
    assert disk_bytes(sparse) < 1 << 20


def test_disk_bytes_count_a_hard_linked_file_once(tmp_path):
    (tmp_path / "a").write_bytes(os.urandom(64 << 10))
    alone = disk_bytes(tmp_path)
    os.link(tmp_path / "a", tmp_path / "b")
    assert disk_bytes(tmp_path) == alone >= 64 << 10


def test_the_data_directory_is_split_by_top_level_entry_without_the_log(tmp_path):
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "data.mdb").write_bytes(os.urandom(8192))
    (tmp_path / "raft.journal").write_bytes(os.urandom(4096))
    (tmp_path / "node.log").write_bytes(os.urandom(4096))
    parts = data_dir_parts(tmp_path)
    assert set(parts) == {"ledger", "raft.journal"}
    assert parts["ledger"] >= 8192 and parts["raft.journal"] >= 4096
