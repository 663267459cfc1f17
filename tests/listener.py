"""A socket listening on a loopback port, as another process's server would hold it."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


@contextlib.contextmanager
def listening(host: str = "127.0.0.1", port: int = 0, share_port: bool = True) -> Iterator[int]:
    """Listens on host:port (0: a free one) and yields the port. `share_port`: with SO_REUSEPORT,
    as grpc servers set it by default, so only a listener that refuses sharing is kept out."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share_port:
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        held.bind((host, port))
        held.listen(1)
        yield held.getsockname()[1]
