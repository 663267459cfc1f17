"""Recovery moves only the node's state aside (its Raft term and vote stay), keeps a bounded
number of copies and stops recovering a node that keeps diverging; votes are retried a bounded
number of times with one id."""

from __future__ import annotations

import asyncio
import os
import time

from node.checkpoint import recovery
from node.checkpoint.limits import diverged_copies_kept, recoveries_max, recovery_window_s, vote_attempts_max
from node.checkpoint.voting import Voter, vote_id
from node.ledger.results import ResultCode
from node.replica.emptying import empty_for_restore
from node.replica.journal import TermAndVote, read_term_and_vote, write_term_and_vote
from tests.ledger.governance import NODES

from .helpers import node_config


def _node_dir(tmp_path):
    config = node_config(tmp_path / "node2")
    data = config.data_dir
    (data / "ledger").mkdir(parents=True)
    (data / "ledger" / "data.mdb").write_bytes(b"lmdb")
    (data / "checkpoints").mkdir()
    for name in ("raft.journal", "raft.dump", "node.toml", "node.log", "node.pid"):
        (data / name).write_text(name)
    write_term_and_vote(config.raft_meta_file, TermAndVote(7, "127.0.0.1:9"))
    return config


def test_only_the_state_moves_aside_config_and_logs_stay(tmp_path):
    config = _node_dir(tmp_path)
    copy = recovery.move_state_aside(config, 42, empty_for_restore)
    assert copy == tmp_path / "node2.diverged-42"
    assert sorted(p.name for p in copy.iterdir()) == ["checkpoints", "ledger", "raft.dump", "raft.journal", "raft.journal.meta"]
    assert sorted(p.name for p in config.data_dir.iterdir()) == ["node.log", "node.pid", "node.toml", "raft.journal.meta"]
    assert read_term_and_vote(config.raft_meta_file) == TermAndVote(7, "127.0.0.1:9")
    assert recovery.move_state_aside(config, 42, empty_for_restore) == tmp_path / "node2.diverged-42-2"  # never overwrites a copy


def test_old_copies_are_pruned_and_a_node_that_keeps_diverging_stays_fenced(tmp_path):
    config = _node_dir(tmp_path)
    assert recovery.recovery_refusal(config) is None
    for index in range(1, diverged_copies_kept + 3):
        copy = recovery.move_state_aside(config, index, empty_for_restore)
        os.utime(copy, (time.time() - 10 + index, time.time() - 10 + index))
    assert [p.name for p in recovery.diverged_copies(config)] == [
        f"node2.diverged-{i}" for i in range(3, diverged_copies_kept + 3)]
    assert diverged_copies_kept >= recoveries_max
    refusal = recovery.recovery_refusal(config)
    assert refusal is not None and f"{recoveries_max} recoveries within {recovery_window_s} s" in refusal
    assert recovery.recovery_refusal(config, now_s=time.time() + recovery_window_s + 1) is None


def test_a_vote_is_retried_with_the_same_id_and_given_up_after_its_attempts():
    async def main():
        calls = []

        async def flaky(command):
            calls.append(command.id)
            raise ConnectionError("no leader")

        voter = Voter(asyncio.get_running_loop(), "node-1", NODES["node-1"], flaky, retry_pause_s=0)
        voter.vote("c", 9, b"\x01" * 32)
        await asyncio.sleep(0)
        await voter.wait_idle()
        assert calls == [vote_id("node-1", 9)] * vote_attempts_max
        assert voter.outcomes == {9: None}

        answers = iter([ConnectionError("leader changed"), ResultCode.OK])

        async def once_ambiguous(command):
            calls.append(command.id)
            answer = next(answers)
            if isinstance(answer, Exception):
                raise answer
            return answer

        calls.clear()
        voter = Voter(asyncio.get_running_loop(), "node-1", NODES["node-1"], once_ambiguous, retry_pause_s=0)
        voter.vote("c", 10, b"\x02" * 32)
        await asyncio.sleep(0)
        await voter.wait_idle()
        assert calls == [vote_id("node-1", 10)] * 2 and voter.outcomes == {10: ResultCode.OK}

    asyncio.run(asyncio.wait_for(main(), 10))
