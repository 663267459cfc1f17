"""A local cluster's TLS material (DIR/tls/, node/tls/directory.py) and its nodes' TLS settings.

One CA per cluster (named by its cluster id); a certificate per node (serving its host, 127.0.0.1
and localhost, and usable to call its peers) and per client identity (the guardians and the
client roles: key id = certificate CommonName = signer set entry). Created once and reused on
restart; a node added later (LocalCluster.add_spec) gets its certificate from the same CA.
Node i also serves health alone, plaintext, on base_port + 400 + i (for load balancers;
cluster/ports.py).
"""

from __future__ import annotations

from pathlib import Path

from cluster.ports import NodeSpec, health_port
from node.tls.client import tls_dir
from node.tls.directory import TlsDirectory

loopback_hosts = ("127.0.0.1", "localhost")


def tls_directory(data_dir: Path) -> TlsDirectory:
    return TlsDirectory(tls_dir(data_dir))


def _node_hosts(spec: NodeSpec) -> tuple[str, ...]:
    return tuple(dict.fromkeys((spec.host, *loopback_hosts)))


def prepare_tls(data_dir: Path, cluster_id: str, specs: list[NodeSpec], key_ids: list[str]) -> None:
    """The CA and every missing certificate: nodes of `specs`, and every key id of the signer set
    (`key_ids`: the nodes', the guardians' and the client roles')."""
    assert cluster_id, "prepare_tls runs after the cluster id is known"
    directory = tls_directory(data_dir)
    authority = directory.ensure_authority(cluster_id)
    nodes = {spec.node_id for spec in specs}
    for spec in specs:
        directory.ensure_identity(authority, spec.node_id, hosts=_node_hosts(spec), server=True)
    for key_id in key_ids:  # guardians and client roles (nodes done above)
        if key_id not in nodes:
            directory.ensure_identity(authority, key_id)


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
