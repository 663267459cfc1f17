"""A node's TLS settings in node.toml: all three files or none."""

from __future__ import annotations

import pytest

from node.config import ConfigError, load_config


def _config(tmp_path, extra: str):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('raft_password = "0123456789abcdef0123"\n')
    secrets.chmod(0o600)
    path = tmp_path / "node.toml"
    path.write_text('node_id = "n1"\ncluster_id = "c"\ngrpc_address = "127.0.0.1:1"\nraft_address = "127.0.0.1:2"\n'
                    'data_dir = "."\nsecrets_file = "secrets.toml"\n' + extra)
    return load_config(path)


def test_without_tls_settings_a_node_has_no_tls_and_no_health_port(tmp_path):
    config = _config(tmp_path, "")
    assert (config.tls_ca_file, config.tls_certificate_file, config.tls_key_file, config.health_address) == (None, None, None, "")


def test_tls_files_are_relative_to_the_config(tmp_path):
    config = _config(tmp_path, 'tls_ca_file = "tls/ca.crt"\ntls_certificate_file = "tls/n1.crt"\ntls_key_file = "tls/n1.key"\n'
                               'health_address = "127.0.0.1:3"\n')
    assert config.tls_key_file == tmp_path / "tls" / "n1.key"
    assert config.health_address == "127.0.0.1:3"


def test_some_tls_files_without_the_others_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="all of"):
        _config(tmp_path, 'tls_ca_file = "tls/ca.crt"\n')


def test_a_malformed_health_address_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="health_address"):
        _config(tmp_path, 'health_address = "nowhere"\n')


def test_a_node_whose_tls_key_is_readable_by_others_refuses_to_start(tmp_path):
    from node.config import server_tls
    from tests.tls.material import cluster_tls

    directory = cluster_tls(tmp_path)
    directory.key("node1").chmod(0o640)
    config = _config(tmp_path, 'tls_ca_file = "tls/ca.crt"\ntls_certificate_file = "tls/node1.crt"\ntls_key_file = "tls/node1.key"\n')
    with pytest.raises(ConfigError, match="chmod 600"):
        server_tls(config)
