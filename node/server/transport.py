"""The node's transports: the mTLS gRPC port, and a plaintext port that serves health alone.

The gRPC port requires a client certificate from the cluster CA (require_client_auth): without
one, with one from another CA or an expired one, the handshake fails and no handler runs. Load
balancers probe health without a certificate, so a node may also open a health-only port: a
separate grpc.aio server with nothing but grpc.health.v1 registered, sharing the main server's
health servicer (the same SERVING / NOT_SERVING answers), so nothing else is reachable there.
The TLS material and credentials themselves are node/tls/server.py's.

Both servers bind without SO_REUSEPORT, which grpc turns on by default: with it, a second node
started on the same address shares the port with the first and the kernel splits the calls
between them, so a taken port must fail the bind instead (AddressInUse).
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2_grpc

from node.port_check import GRPC, HEALTH, AddressInUse
from node.tls.files import TlsFiles
from node.tls.server import server_credentials

# Every grpc.aio server of the node gets these options: one listener per port (see above).
EXCLUSIVE_PORT_OPTIONS = (("grpc.so_reuseport", 0),)


def add_port(server: grpc.aio.Server, address: str, tls: TlsFiles | None, service: str = GRPC) -> int:
    """Binds `address` (mTLS with `tls`, else plaintext); returns the port. AddressInUse (an
    OSError) naming `service` and the address if it cannot."""
    try:
        port = server.add_secure_port(address, server_credentials(tls)) if tls is not None else server.add_insecure_port(address)
    except RuntimeError as error:  # grpc raises RuntimeError("Failed to bind ...")
        raise AddressInUse(service, address, str(error)) from None
    if port == 0:
        raise AddressInUse(service, address, "the bind failed")
    return port


def health_only_server(servicer, address: str) -> tuple[grpc.aio.Server, int]:
    """A plaintext server on `address` with the health service alone (not started)."""
    server = grpc.aio.server(options=EXCLUSIVE_PORT_OPTIONS)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return server, add_port(server, address, None, service=HEALTH)

