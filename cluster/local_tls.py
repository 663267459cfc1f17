"""A local cluster's TLS material (DIR/tls/, node/tls/directory.py) and its nodes' TLS settings.

One CA per cluster (named by its cluster id); a certificate per node (serving its host, 127.0.0.1
and localhost, and usable to call its peers) and per client identity (the guardians and the
client roles: key id = certificate CommonName = signer set entry). Created once and reused on
restart; a node added later (LocalCluster.add_spec) gets its certificate from the same CA.
Node i also serves health alone, plaintext, on base_port + 400 + i (for load balancers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.tls.client import tls_dir
from node.tls.directory import TlsDirectory

if TYPE_CHECKING:
    from cluster.local import LocalCluster, NodeSpec

health_port_offset = 400  # node i answers grpc.health.v1 in plaintext on base_port + 400 + i
loopback_hosts = ("127.0.0.1", "localhost")


def tls_directory(cluster: LocalCluster) -> TlsDirectory:
    return TlsDirectory(tls_dir(cluster.data_dir))


def _node_hosts(spec: NodeSpec) -> tuple[str, ...]:
    return tuple(dict.fromkeys((spec.host, *loopback_hosts)))


def prepare_tls(cluster: LocalCluster) -> None:
    """The CA and every missing certificate: nodes of `specs`, and every key id of the signer set."""
    assert cluster.cluster_id, "prepare_tls runs after the cluster id is known"
    directory = tls_directory(cluster)
    authority = directory.ensure_authority(cluster.cluster_id)
    nodes = {spec.node_id for spec in cluster.specs}
    for spec in cluster.specs:
        directory.ensure_identity(authority, spec.node_id, hosts=_node_hosts(spec), server=True)
    for key_id in cluster._signing_keys():  # guardians and client roles (nodes done above)
        if key_id not in nodes:
            directory.ensure_identity(authority, key_id)


def health_port(spec: NodeSpec) -> int:
    return spec.grpc_port + health_port_offset


def tls_config_lines(spec: NodeSpec) -> list[str]:
    """node.toml lines (paths relative to DIR/node<i>/): mTLS with the node's certificate, and
    the plaintext health-only port."""
    tls = f"../{tls_dir('.').name}"
    return [
        f'tls_ca_file = "{tls}/ca.crt"',
        f'tls_certificate_file = "{tls}/{spec.node_id}.crt"',
        f'tls_key_file = "{tls}/{spec.node_id}.key"',
        f'health_address = "{spec.host}:{health_port(spec)}"',
    ]
