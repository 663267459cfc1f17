"""Group commit: concurrent Submit calls share replica.submit calls, each caller gets its own."""

from __future__ import annotations

import asyncio

import pytest

from node.api.settlement.v1 import results_pb2, settlement_pb2, settlement_pb2_grpc
from node.codec.commands import command_to_proto
from node.ledger.commands import Deposit
from node.ledger.results import Result, ResultCode
from node.replica.port import AmbiguousOutcome, Batch, Unavailable
from node.server import Overloaded, ServerOptions, SubmitCoalescer
from tests.server.fake_replica import FakeReplica
from tests.server.serving import channel_to, run, serving


def coalescer(fake: FakeReplica, **overrides) -> SubmitCoalescer:
    options = dict(
        entry_commands_max=1_000,
        coalesce_wait_ms=2,
        submits_in_flight_max=4,
        queued_commands_max=64_000,
        submit_timeout_ms=2_000,
    )
    return SubmitCoalescer(fake, **(options | overrides))


def deposits(tag: str, count: int) -> Batch:
    return Batch(tuple(Deposit(f"{tag}-{i}", f"acct-{tag}", 1) for i in range(count)))


def test_fifty_concurrent_submits_share_a_few_entries_and_each_gets_its_own_results():
    """While every in-flight slot waits on the replica, the other requests gather; once the
    replica answers they leave together. No timing: the replica is held until all 50 arrived."""
    fake = FakeReplica()
    options = ServerOptions()

    async def main():
        fake.submit_gate = asyncio.Event()
        async with serving(fake, options) as server:
            async with channel_to(server) as channel:
                stub = settlement_pb2_grpc.SettlementStub(channel)

                async def one(i: int):
                    request = settlement_pb2.SubmitRequest(
                        commands=[command_to_proto(Deposit(f"d-{i}", f"acct-{i}", 1_000 + i)), command_to_proto(Deposit(f"e-{i}", f"acct-{i}", 1))]
                    )
                    return i, await stub.Submit(request, timeout=30)

                calls = asyncio.gather(*(one(i) for i in range(50)))
                for _ in range(2_000):  # bounded: until all 100 commands reached the server
                    if sum(map(sum, fake.submit_calls)) + server.coalescer.queued_commands == 100:
                        break
                    await asyncio.sleep(0.01)
                fake.submit_gate.set()
                answers = await calls
        # The held slots, then everything that gathered behind them in one entry per freed slot.
        assert len(fake.submit_calls) <= options.submits_in_flight_max + 1 < 50 // 5, fake.submit_calls
        assert sum(sum(call) for call in fake.submit_calls) == 100
        for i, response in answers:
            assert [r.id for r in response.results] == [f"d-{i}", f"e-{i}"]
            assert [r.code for r in response.results] == [results_pb2.OK, results_pb2.OK]
            assert [r.collateral for r in response.results] == [1_000 + i, 1_001 + i]
        assert {fake.state.accounts[f"acct-{i}"].collateral for i in range(50)} == {1_001 + i for i in range(50)}

    run(main)


def test_an_entry_never_exceeds_the_command_bound_and_a_batch_never_splits():
    fake = FakeReplica()
    fake.submit_delay_s = 0.005

    async def main():
        c = coalescer(fake, entry_commands_max=10, submits_in_flight_max=1)
        try:
            answers = await asyncio.gather(*(c.submit(deposits(f"b{i}", 4)) for i in range(12)))
        finally:
            await c.close()
        assert all(sum(call) <= 10 for call in fake.submit_calls), fake.submit_calls
        assert all(size == 4 for call in fake.submit_calls for size in call)
        assert sum(len(call) for call in fake.submit_calls) == 12
        assert [[r.id for r in results] for results, _ in answers] == [[f"b{i}-{j}" for j in range(4)] for i in range(12)]

    run(main)


def test_entries_in_flight_are_bounded():
    fake = FakeReplica()
    in_flight = peak = 0
    original = fake.submit

    async def counting(batches, timeout_s):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)
            return await original(batches, timeout_s)
        finally:
            in_flight -= 1

    fake.submit = counting

    async def main():
        c = coalescer(fake, entry_commands_max=1, submits_in_flight_max=3, coalesce_wait_ms=0)
        try:
            await asyncio.gather(*(c.submit(deposits(f"b{i}", 1)) for i in range(20)))
        finally:
            await c.close()
        assert peak == 3
        assert len(fake.submit_calls) == 20

    run(main)


def test_a_lone_request_waits_no_longer_than_the_coalesce_bound():
    fake = FakeReplica()

    async def main():
        c = coalescer(fake, coalesce_wait_ms=2)
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await c.submit(deposits("solo", 1))
            assert loop.time() - started < 0.5
        finally:
            await c.close()

    run(main)


def test_every_caller_of_a_failed_entry_hears_the_failure():
    fake = FakeReplica()
    fake.ambiguous_submits = 1
    fake.ambiguous_after_apply = False
    fake.submit_delay_s = 0.01

    async def main():
        c = coalescer(fake, submits_in_flight_max=1, coalesce_wait_ms=20)
        try:
            answers = await asyncio.gather(*(c.submit(deposits(f"b{i}", 1)) for i in range(3)), return_exceptions=True)
        finally:
            await c.close()
        assert len(fake.submit_calls) == 1
        assert all(isinstance(a, AmbiguousOutcome) for a in answers)

    run(main)


def test_a_caller_that_gives_up_before_its_entry_leaves_is_not_logged():
    fake = FakeReplica()

    async def main():
        c = coalescer(fake, coalesce_wait_ms=200)
        try:
            waiting = asyncio.ensure_future(c.submit(deposits("gone", 1)))
            await asyncio.sleep(0.01)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await c.submit(deposits("kept", 1))
        finally:
            await c.close()
        assert fake.submit_calls == [(1,)]
        assert "acct-gone" not in fake.state.accounts

    run(main)


def test_too_many_queued_commands_is_overloaded_and_close_refuses_what_waits():
    fake = FakeReplica()
    fake.submit_delay_s = 0.2

    async def main():
        c = coalescer(fake, queued_commands_max=1_000, submits_in_flight_max=1, coalesce_wait_ms=0)
        in_flight = asyncio.ensure_future(c.submit(deposits("a", 1)))
        while not fake.submit_calls:  # "a" holds the only slot
            await asyncio.sleep(0.001)
        queued = asyncio.ensure_future(c.submit(deposits("b", 1_000)))
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):
            await c.submit(deposits("c", 1))
        await c.close()
        assert len((await in_flight)[0]) == 1  # the entry in flight finishes
        with pytest.raises(Unavailable):
            await queued  # never logged
        with pytest.raises(Unavailable):
            await c.submit(deposits("d", 1))
        assert fake.submit_calls == [(1,)]

    run(main)


def refusing(tags: set[str]):
    """A judge that refuses the batches whose commands carry one of `tags` (their account)."""
    def judge(batches):
        return [((Result(b.commands[0].id, ResultCode.UNSIGNED_BATCH, "refused"),), 7) if b.commands[0].account in tags else None
                for b in batches]
    return judge


def test_batches_the_judge_refuses_are_answered_and_left_out_of_the_entry():
    fake = FakeReplica()

    async def main():
        c = coalescer(fake, coalesce_wait_ms=50, judge=refusing({"acct-bad"}))
        try:
            good, bad = await asyncio.gather(c.submit(deposits("good", 2)), c.submit(deposits("bad", 1)))
        finally:
            await c.close()
        assert fake.submit_calls == [(2,)]
        assert [r.code for r in good[0]] == [ResultCode.OK, ResultCode.OK]
        assert bad == ((Result("bad-0", ResultCode.UNSIGNED_BATCH, "refused"),), 7)
        assert "acct-bad" not in fake.state.accounts

    run(main)


def test_an_entry_whose_every_batch_is_refused_is_not_logged():
    fake = FakeReplica()

    async def main():
        c = coalescer(fake, judge=refusing({"acct-bad"}))
        try:
            refused = await c.submit(deposits("bad", 1))
            assert [r.code for r in refused[0]] == [ResultCode.UNSIGNED_BATCH]
            assert [r.code for r in (await c.submit(deposits("good", 1)))[0]] == [ResultCode.OK]  # the slot was freed
        finally:
            await c.close()
        assert fake.submit_calls == [(1,)]

    run(main)
