"""A local cluster's TLS material (cluster/local_tls.py): made by prepare(), reused on restart,
extended for a node added later, and named in every node's config."""

from __future__ import annotations

import stat

from cluster.local import LocalCluster
from cluster.ports import health_port_offset
from node.config import load_config
from node.tls.authority import common_name
from node.tls.files import read_certificate

IDENTITIES = {"node1", "node2", "node3", "guardian1", "guardian2", "guardian3", "settler", "custodian", "oracle",
              "operator", "auditor"}


def _tls_files(cluster: LocalCluster) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (cluster.data_dir / "tls").iterdir()}


def test_prepare_issues_a_certificate_per_node_and_identity_with_private_keys_0600(tmp_path):
    cluster = LocalCluster(tmp_path / "c", nodes=3, base_port=29000)
    cluster.prepare()
    tls = cluster.data_dir / "tls"
    assert stat.S_IMODE(tls.stat().st_mode) == 0o700
    assert {p.stem for p in tls.glob("*.crt")} == IDENTITIES | {"ca"}
    for key in tls.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    for identity in IDENTITIES:
        assert common_name(read_certificate(tls / f"{identity}.crt")) == identity


def test_a_restart_reuses_every_certificate(tmp_path):
    LocalCluster(tmp_path / "c", nodes=3, base_port=29000).prepare()
    before = _tls_files(LocalCluster(tmp_path / "c", nodes=3, base_port=29000))
    again = LocalCluster(tmp_path / "c", nodes=3, base_port=29000)
    again.prepare()
    assert _tls_files(again) == before


def test_a_node_added_later_gets_a_certificate_from_the_same_ca(tmp_path):
    cluster = LocalCluster(tmp_path / "c", nodes=3, base_port=29000)
    cluster.prepare()
    before = _tls_files(cluster)
    spec = cluster.add_spec()
    after = _tls_files(cluster)
    assert {name: after[name] for name in before} == before
    tls = cluster.data_dir / "tls"
    read_certificate(tls / f"{spec.node_id}.crt").verify_directly_issued_by(read_certificate(tls / "ca.crt"))
    assert load_config(cluster.config_path(spec.number)).tls_certificate_file.resolve() == (tls / f"{spec.node_id}.crt").resolve()


def test_every_node_config_names_its_certificate_and_a_plaintext_health_port(tmp_path):
    cluster = LocalCluster(tmp_path / "c", nodes=3, base_port=29000)
    cluster.prepare()
    tls = (cluster.data_dir / "tls").resolve()
    for spec in cluster.specs:
        config = load_config(cluster.config_path(spec.number))
        assert config.tls_ca_file.resolve() == tls / "ca.crt"
        assert config.tls_certificate_file.resolve() == tls / f"{spec.node_id}.crt"
        assert config.tls_key_file.resolve() == tls / f"{spec.node_id}.key"
        assert config.health_address == f"127.0.0.1:{29000 + health_port_offset + spec.number}"
        assert [p.node_id for p in config.peers] == [s.node_id for s in cluster.specs if s is not spec]
