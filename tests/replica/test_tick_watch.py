"""The tick watch logs a pause of pysyncobj's tick thread with the collector's and the journal's
syncs' shares of it, so a stalled disk is told apart from the node's own work."""

from __future__ import annotations

import logging

from node.replica.tick_watch import TickWatch, tick_pause_logged_ms


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_a_long_pause_is_logged_with_the_journal_syncs_share_of_it(caplog):
    clock, synced = Clock(), [2.0]
    watch = TickWatch(clock, journal_sync_s=lambda: synced[0])
    try:
        watch.on_tick()
        clock.now_s += 1.2
        synced[0] += 0.9  # one msync of the journal took 900 ms of the pause
        with caplog.at_level(logging.WARNING, logger="settle.replica"):
            watch.on_tick()
    finally:
        watch.close()
    assert "tick thread paused 1200 ms" in caplog.text
    assert "the journal's syncs 900 ms" in caplog.text
    assert watch.longest_pause_ms == 1200


def test_the_syncs_of_earlier_ticks_are_not_counted_again(caplog):
    clock, synced = Clock(), [0.0]
    watch = TickWatch(clock, journal_sync_s=lambda: synced[0])
    try:
        watch.on_tick()
        synced[0] += 0.5
        clock.now_s += 0.01
        watch.on_tick()  # a tick of 10 ms whose syncs total moved: counted for that tick
        clock.now_s += 0.6
        with caplog.at_level(logging.WARNING, logger="settle.replica"):
            watch.on_tick()
    finally:
        watch.close()
    assert "tick thread paused 600 ms" in caplog.text
    assert "the journal's syncs 0 ms" in caplog.text


def test_a_tick_within_the_bound_is_not_logged(caplog):
    clock = Clock()
    watch = TickWatch(clock)
    try:
        watch.on_tick()
        clock.now_s += tick_pause_logged_ms / 1000
        with caplog.at_level(logging.WARNING, logger="settle.replica"):
            watch.on_tick()
    finally:
        watch.close()
    assert "paused" not in caplog.text
