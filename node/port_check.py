"""Is an address free to listen on? Asked for each of a node's ports before it opens its store.

Every listener of the node binds without SO_REUSEPORT (gRPC's servers are told so in
node/server/transport.py; pysyncobj and the metrics server never set it), so a port another
process listens on is refused, not shared. pysyncobj, though, retries a failed bind forever in
the background and the node would serve gRPC with no Raft at all; and a gRPC or metrics port
found taken only after the replica joined the cluster would leave it half started. So the node
binds a throwaway socket to each address first and stops at once if one is taken.

This is check-then-bind: a process that takes the port between this check and the real bind
wins the race. Then gRPC, health and metrics still fail loudly at their bind (the same exit
codes), and only Raft would be left retrying; the data directory lock (node/data_lock.py)
already keeps a second node of the same directory out, which is the case this guards against.
"""

from __future__ import annotations

import socket

# The node's listeners, as messages and exit codes name them.
GRPC, RAFT, METRICS, HEALTH = "gRPC", "Raft", "metrics", "health"

class AddressInUse(OSError):
    """`address` (one of the node's `service` addresses) cannot be listened on."""

    def __init__(self, service: str, address: str, reason: str) -> None:
        self.service = service
        self.address = address
        super().__init__(f"cannot listen for {service} on {address}: {reason} (another process holds the port?)")


def split_address(address: str) -> tuple[str, int]:
    """"host:port" or "[v6 host]:port" -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not host:port: {address!r}")
    return host.strip("[]"), int(port)


def check_address_free(service: str, address: str) -> None:
    """Raises AddressInUse unless a listener could bind `address` now. "" or port 0 (nothing to
    bind, or any free port) pass."""
    if not address:
        return
    host, port = split_address(address)
    if port == 0:
        return
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            # As the real listeners do: a previous run's connections in TIME_WAIT are no conflict,
            # a socket listening there is.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(sockaddr)
    except OSError as error:
        raise AddressInUse(service, address, error.strerror or str(error)) from None
