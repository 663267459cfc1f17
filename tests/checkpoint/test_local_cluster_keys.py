"""The local launcher's keys and genesis signer set: generated once, private, and what every node
is told to expect; the genesis action is signed by every key it lists."""

from __future__ import annotations

import json
import stat
import tomllib

import pytest

from cluster.local import CLIENT_ROLES, LOCAL_POLICY, LocalCluster
from node.identity.credentials import identity_key_file
from node.identity.signer_set import read_signer_set
from node.config import ConfigError, load_config, load_node_key
from node.identity.keys import raw_public_key, verify_ed25519
from node.ledger import LedgerState, LogEntry, apply
from node.ledger.commands import ActionKind
from node.ledger.results import ResultCode


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_and_the_signer_set_are_written_once_and_kept_private(tmp_path):
    cluster = LocalCluster(tmp_path / "c", nodes=3, base_port=29000)
    cluster.prepare()
    assert mode(cluster.keys_dir) == 0o700
    files = [cluster.node_key_file(n) for n in (1, 2, 3)] + [cluster.guardian_key_file(n) for n in (1, 2, 3)] \
        + [identity_key_file(cluster.data_dir, role) for role in CLIENT_ROLES]
    assert all(mode(f) == 0o600 for f in files)
    document = read_signer_set(cluster.signers_file)
    assert document["policy"] == LOCAL_POLICY and document["cluster"] == cluster.cluster_id
    assert [(e["key_id"], e["role"]) for e in document["signers"]] == [
        ("auditor", "auditor"), ("custodian", "custodian"),
        ("guardian1", "guardian"), ("guardian2", "guardian"), ("guardian3", "guardian"),
        ("node1", "node"), ("node2", "node"), ("node3", "node"),
        ("operator", "operator"), ("oracle", "oracle"), ("settler", "settler")]
    config = load_config(cluster.config_path(2))
    assert config.node_key_file.resolve() == cluster.node_key_file(2)
    assert config.expected_signers_file.resolve() == cluster.signers_file
    node2 = next(e for e in document["signers"] if e["key_id"] == "node2")
    assert raw_public_key(load_node_key(config)).hex() == node2["public_key"] and config.node_key_id == "node2"

    before = {f: f.read_bytes() for f in files}
    LocalCluster(tmp_path / "c", nodes=3, base_port=29000).prepare()  # a restart reuses everything
    assert {f: f.read_bytes() for f in files} == before
    with pytest.raises(SystemExit, match="another signer set or policy"):
        LocalCluster(tmp_path / "c", nodes=3, base_port=29000, policy={"checkpoint_every_ms": 1}).prepare()


def test_a_policy_override_and_five_nodes_get_a_majority_threshold(tmp_path):
    cluster = LocalCluster(tmp_path / "c", nodes=5, base_port=29000, policy={"checkpoint_every_entries": 7})
    cluster.prepare()
    policy = read_signer_set(cluster.signers_file)["policy"]
    assert (policy["checkpoint_threshold"], policy["checkpoint_every_entries"]) == (3, 7)


def test_the_genesis_action_is_accepted_by_the_ledger(tmp_path):
    cluster = LocalCluster(tmp_path / "c", nodes=3, base_port=29000)
    cluster.prepare()
    action = cluster.genesis_action()
    assert action.kind == ActionKind.SET_SIGNERS and len(action.signatures) == 6 + len(CLIENT_ROLES)
    state = LedgerState()
    (result,) = apply(state, LogEntry(1, 1_000, (action,)), verify_ed25519).results
    assert result.code == ResultCode.OK
    assert state.governance["policy"]["cluster"] == cluster.cluster_id


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    cluster = LocalCluster(tmp_path / "c", nodes=3, base_port=29000)
    cluster.prepare()
    cluster.node_key_file(1).chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_node_key(load_config(cluster.config_path(1)))
    assert tomllib.loads(cluster.config_path(1).read_text())["node_key_file"] == "../keys/node1.key"
    assert json.loads(cluster.signers_file.read_text())["cluster"] == cluster.cluster_id
