"""GetCheckpointDump streams the dump file a node kept; NOT_FOUND when it kept none; a diverged
node answers FAILED_PRECONDITION like every other call."""

from __future__ import annotations

import grpc

from node.api.settlement.v1 import settlement_pb2, settlement_pb2_grpc
from node.server.settlement import dump_chunk_bytes
from tests.server.fake_replica import DIVERGED, FakeReplica
from tests.server.serving import channel_to, run, serving


async def fetch(server, index: int = 0):
    async with channel_to(server) as channel:
        call = settlement_pb2_grpc.SettlementStub(channel).GetCheckpointDump(
            settlement_pb2.GetCheckpointDumpRequest(index=index), timeout=10)
        return [chunk async for chunk in call]


def test_the_dump_is_streamed_whole_in_pieces(tmp_path):
    fake = FakeReplica()
    data = bytes(range(256)) * (dump_chunk_bytes // 256 * 2 + 3)
    (tmp_path / "dump").write_bytes(data)
    fake.dumps[12] = tmp_path / "dump"

    async def main():
        async with serving(fake) as server:
            return await fetch(server), await fetch(server, 12)

    latest, by_index = run(main)
    assert b"".join(c.data for c in latest) == data and len(latest) == 3
    assert {c.index for c in latest} == {12} and b"".join(c.data for c in by_index) == data


def test_no_dump_is_not_found():
    async def main():
        async with serving(FakeReplica()) as server:
            try:
                await fetch(server, 5)
            except grpc.aio.AioRpcError as error:
                return error
        raise AssertionError("no error")

    error = run(main)
    assert error.code() == grpc.StatusCode.NOT_FOUND and "kept no dump of checkpoint 5" in error.details()


def test_a_diverged_node_serves_no_dump(tmp_path):
    fake = FakeReplica(mode=DIVERGED)
    (tmp_path / "dump").write_bytes(b"x")
    fake.dumps[3] = tmp_path / "dump"

    async def main():
        async with serving(fake) as server:
            try:
                await fetch(server)
            except grpc.aio.AioRpcError as error:
                return error
        raise AssertionError("no error")

    error = run(main)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details().startswith("diverged:") and "at checkpoint 7" in error.details()
