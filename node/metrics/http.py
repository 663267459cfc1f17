"""The metrics endpoint: prometheus_client's HTTP server on the node's `metrics_address`.

A daemon thread, separate from the asyncio loop and the tick thread, so a slow scrape delays
neither. It serves one registry: the node's own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, start_http_server


@dataclass
class MetricsServer:
    address: str  # host:port actually bound
    _httpd: object
    _thread: threading.Thread

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def parse_address(address: str) -> tuple[str, int] | None:
    """"host:port" -> (host, port); "", "0" or a port of 0 means off (None)."""
    if address in ("", "0"):
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"metrics_address must be host:port, not {address!r}")
    return (None if int(port) == 0 else (host or "0.0.0.0", int(port)))


def serve(registry: CollectorRegistry, address: str) -> MetricsServer | None:
    """Serve `registry` on `address` (host:port); None when metrics are off. OSError if the port
    cannot be bound."""
    parsed = parse_address(address)
    if parsed is None:
        return None
    host, port = parsed
    httpd, thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(f"{host}:{httpd.server_port}", httpd, thread)
