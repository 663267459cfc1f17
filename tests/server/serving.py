"""Starting and always stopping real grpc.aio servers on 127.0.0.1 around a FakeReplica."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import grpc

from node.server import ServerOptions, SettlementServer, start_server
from tests.server.fake_replica import FakeReplica

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
test_timeout_s = 20


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Runs one async test body on a fresh event loop, bounded in time."""

    async def bounded() -> T:
        async with asyncio.timeout(test_timeout_s):
            return await main()

    return asyncio.run(bounded())


def address(server: SettlementServer) -> str:
    return f"{LOOPBACK}:{server.port}"


@contextlib.asynccontextmanager
async def serving(replica: FakeReplica, options: ServerOptions = ServerOptions()) -> AsyncIterator[SettlementServer]:
    server = await start_server(replica, f"{LOOPBACK}:0", options, node_key=replica.node_key_source)
    try:
        yield server
    finally:
        await server.stop(grace=0.2)


@contextlib.asynccontextmanager
async def channel_to(server: SettlementServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(address(server))
    try:
        yield channel
    finally:
        await channel.close()


class ThreadedServer:
    """A server on its own event loop in a background thread, for callers that block (the CLI,
    the sync client) on the test's thread."""

    def __init__(self, replica: FakeReplica, options: ServerOptions = ServerOptions()) -> None:
        self.replica = replica
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-server", daemon=True)
        self.server: SettlementServer | None = None

    def call(self, coroutine: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(test_timeout_s)  # type: ignore[arg-type]

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        try:
            self.server = self.call(start_server(self.replica, f"{LOOPBACK}:0", self._options,
                                                 node_key=self.replica.node_key_source))
        except BaseException:
            self._shutdown()
            raise
        return self

    @property
    def address(self) -> str:
        assert self.server is not None
        return address(self.server)

    def _shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(test_timeout_s)
        self._loop.close()

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self.server is not None:
                self.call(self.server.stop(grace=0.2))
        finally:
            self._shutdown()


@contextlib.contextmanager
def threaded(replica: FakeReplica, options: ServerOptions = ServerOptions()) -> Iterator[ThreadedServer]:
    with ThreadedServer(replica, options) as served:
        yield served
