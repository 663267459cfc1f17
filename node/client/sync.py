"""SyncSettlementClient: the async SDK behind blocking calls, for scripts and the CLI.

It owns an event loop running in a background thread; every call is a coroutine submitted to
that loop and waited for. The gRPC channels live on that loop only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

from node.client.sdk import SettlementClient

T = TypeVar("T")

BLOCKING = frozenset(
    {
        "submit", "submit_one", "deposit", "withdraw", "settle_trade", "price_update", "submit_price",
        "get_account", "get_market", "get_guards", "get_checkpoint", "status", "statuses",
    }
)


class SyncSettlementClient:
    def __init__(self, addresses: list[str], **options: Any) -> None:
        """`options` are SettlementClient's (timeout_s, max_attempts, ...)."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="settlement-client", daemon=True)
        self._thread.start()
        self._client = SettlementClient(addresses, **options)
        self._closed = False

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert not self._closed, "client is closed"
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def __getattr__(self, name: str) -> Any:
        """The coroutine methods of SettlementClient named in BLOCKING, as blocking calls with
        the same signatures; `leader` and `addresses` as they are."""
        if name in BLOCKING:
            method = getattr(self._client, name)
            return lambda *args, **kwargs: self._run(method(*args, **kwargs))
        if name in ("leader", "addresses"):
            return getattr(self._client, name)
        raise AttributeError(name)

    def watch_events(self, kinds: Iterable[int] = (), from_index: int | None = None, **options: Any) -> Iterator:
        """A blocking iterator of events; closing it (or leaving the for loop, or Ctrl-C)
        unsubscribes."""
        stream = self._client.watch_events(kinds, from_index, **options)
        step: list[asyncio.Task] = []  # the task reading the next event, if one is under way

        async def next_event() -> Any:
            step[:] = [asyncio.current_task()]
            return await stream.__anext__()

        async def unsubscribe() -> None:
            # A read interrupted on this thread may still be unwinding on the loop: finish it
            # before closing the stream, which refuses to close while a read is running.
            for task in step:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            await stream.aclose()

        try:
            while True:
                try:
                    yield self._run(next_event())
                except StopAsyncIteration:
                    return
        finally:
            if not self._closed:
                self._run(unsubscribe())

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._run(self._client.close())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> SyncSettlementClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
