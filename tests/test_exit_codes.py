"""settle-node's exit codes (node/exit_codes.py): one per reason, and the words for each."""

from __future__ import annotations

from node.exit_codes import REASONS, NodeExit, describe
from node.replica.state_machine import fatal_exit_code


def test_every_exit_code_is_distinct_and_has_its_words():
    assert len({int(code) for code in NodeExit}) == len(NodeExit)
    assert set(REASONS) == set(NodeExit)


def test_the_code_a_node_stops_itself_with_is_the_one_the_state_machine_uses():
    assert NodeExit.STOPPED_ITSELF == fatal_exit_code


def test_a_code_is_described_in_words_and_a_signal_by_its_number():
    assert describe(4) == "exit code 4: its data directory is held by another process"
    assert describe(-9) == "killed by signal 9"
    assert describe(99) == "exit code 99"
