"""Cluster.Backup streams the backup file in bounded chunks; a diverged node refuses it."""

from __future__ import annotations

import grpc

from node.api.settlement.v1 import cluster_pb2, cluster_pb2_grpc
from node.backup.format import BackupHeader, backup_chunk_bytes
from tests.server.fake_replica import DIVERGED, FakeReplica
from tests.server.serving import channel_to, run, serving


async def fetch(server):
    async with channel_to(server) as channel:
        call = cluster_pb2_grpc.ClusterStub(channel).Backup(cluster_pb2.BackupRequest(), timeout=10)
        return [chunk async for chunk in call]


def _with_backup(fake: FakeReplica, path, data: bytes) -> FakeReplica:
    path.write_bytes(data)
    fake.backup = lambda: (BackupHeader("c", fake.node_id, 1, b"\0" * 32, 0), open(path, "rb"))
    return fake


def test_the_backup_is_streamed_whole_in_bounded_chunks(tmp_path):
    data = bytes(range(256)) * (backup_chunk_bytes // 256 * 2 + 3)
    fake = _with_backup(FakeReplica(), tmp_path / "b", data)

    async def main():
        async with serving(fake) as server:
            return await fetch(server)

    chunks = run(main)
    assert b"".join(c.data for c in chunks) == data and len(chunks) == 3
    assert max(len(c.data) for c in chunks) <= backup_chunk_bytes


def test_a_diverged_node_takes_no_backup(tmp_path):
    fake = _with_backup(FakeReplica(mode=DIVERGED), tmp_path / "b", b"x")

    async def main():
        async with serving(fake) as server:
            try:
                await fetch(server)
            except grpc.aio.AioRpcError as error:
                return error
        raise AssertionError("no error")

    error = run(main)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION and error.details().startswith("diverged:")
