"""`settle checkpoint export` and `settle checkpoint verify`: an auditor's check of a certified
checkpoint, offline; a tampered dump, a forged signature or a foreign signer set is INVALID."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from node.checkpoint.audit import CERTIFICATE_FILE, DUMP_FILE
from node.checkpoint.dump import DumpWriter
from node.checkpoint.dump import records as read_records
from node.cli.cli import main
from node.identity.keys import private_key_from_seed
from node.identity.quorum import checkpoint_vote, signer_entry_for
from node.identity.signer_set import signer_set_document
from node.ledger.governance import checkpoint_vote_bytes
from node.ledger.records import TABLE_ACCOUNT, Account, decode_account, encode_account
from node.ledger.state_hash import hash_bytes
from tests.ledger.governance import CLUSTER, NODES, POLICY, SIGNERS, governed_market
from tests.server.fake_replica import FakeReplica
from tests.server.serving import threaded


def settle(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def write_dump(path, records, index):
    writer = DumpWriter(path, index)
    for table, key, value in sorted(records):
        writer.add(table, key.encode(), value)
    return writer.finish()


@pytest.fixture
def certified(tmp_path):
    """A governed ledger whose first due checkpoint is certified by node-1 and node-2; returns
    (driver, dump file of the state at that index, signers.json)."""
    governed = governed_market()
    driver = governed.driver
    index, state_hash = driver.index, hash_bytes(driver.state.state_hash)
    dump = tmp_path / "node-dump"
    assert write_dump(dump, driver.state.records(), index) == state_hash
    for node in ("node-1", "node-2"):
        assert driver.one(checkpoint_vote(driver.next_id("vote"), CLUSTER, node, NODES[node], index, state_hash)).ok
    signers = tmp_path / "signers.json"
    signers.write_text(json.dumps(signer_set_document(CLUSTER, SIGNERS, POLICY)))
    return driver, dump, signers


@pytest.fixture
def exported(certified, tmp_path):
    """An export directory written by hand from the certified ledger."""
    driver, dump, _ = certified
    certificate = dict(driver.state.governance["certificate"])
    directory = tmp_path / "export"
    directory.mkdir()
    (directory / CERTIFICATE_FILE).write_text(json.dumps(certificate))
    shutil.copyfile(dump, directory / DUMP_FILE)
    return directory


def test_a_certified_checkpoint_verifies_against_the_trusted_signer_set(exported, certified):
    code, out, _ = settle("checkpoint", "verify", exported, "--signers", certified[2])
    assert code == 0, out
    assert "VALID" in out and "valid node signatures: node-1, node-2 (threshold 2)" in out
    assert "WARNING" not in out


def test_without_a_signer_set_the_dumps_own_is_used_and_said_to_be_self_attested(exported):
    code, out, _ = settle("checkpoint", "verify", exported)
    assert code == 0, out
    assert out.startswith("WARNING: no --signers file") and "self-attested" in out


def test_a_tampered_dump_is_invalid(exported):
    records = []
    for table, key, value in read_records(exported / DUMP_FILE):
        if table == TABLE_ACCOUNT and key == b"alice":
            account = decode_account(value)
            value = encode_account(Account(account.collateral + 1, account.status))
        records.append((table, key.decode(), value))
    certificate = json.loads((exported / CERTIFICATE_FILE).read_text())
    write_dump(exported / DUMP_FILE, records, certificate["index"])
    code, out, _ = settle("checkpoint", "verify", exported)
    assert code == 1
    assert "the dump's records hash to" in out and out.rstrip().endswith("INVALID")


def test_a_forged_signature_is_invalid(exported, certified):
    certificate = json.loads((exported / CERTIFICATE_FILE).read_text())
    mallory = private_key_from_seed("mallory")
    forged = mallory.sign(checkpoint_vote_bytes(CLUSTER, "node-2", certificate["index"], bytes.fromhex(certificate["hash"])))
    certificate["signatures"] = [[node, forged.hex() if node == "node-2" else sig] for node, sig in certificate["signatures"]]
    (exported / CERTIFICATE_FILE).write_text(json.dumps(certificate))
    code, out, _ = settle("checkpoint", "verify", exported, "--signers", certified[2])
    assert code == 1
    assert "node-2's signature does not verify" in out


def test_signatures_of_another_signer_set_are_invalid(exported, tmp_path):
    strangers = sorted((signer_entry_for(f"node-{i}", "node", private_key_from_seed(f"stranger {i}")) for i in (1, 2, 3)),
                       key=lambda e: e["key_id"])
    guardians = [e for e in SIGNERS if e["role"] == "guardian"]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(signer_set_document(CLUSTER, strangers + guardians, POLICY)))
    code, out, _ = settle("checkpoint", "verify", exported, "--signers", other)
    assert code == 1
    assert "node-1's signature does not verify" in out


def test_a_missing_export_or_a_bad_signer_file_is_a_usage_error(tmp_path, exported, capsys):
    assert settle("checkpoint", "verify", tmp_path / "nowhere")[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert settle("checkpoint", "verify", exported, "--signers", bad)[0] == 2
    assert "a signer set is {cluster, policy, signers}" in capsys.readouterr().err


def test_export_fetches_the_certificate_and_the_dump_then_verify_accepts_it(certified, tmp_path):
    driver, dump, signers = certified
    fake = FakeReplica("node1")
    fake.state = driver.state
    index = driver.state.governance["certificate"]["index"]
    fake.dumps[index] = dump
    out_dir = tmp_path / "audit"
    with threaded(fake) as served:
        code, out, err = settle("--nodes", served.address, "checkpoint", "export", out_dir)
    assert code == 0, err
    assert f"exported checkpoint {index}" in out
    certificate = json.loads((out_dir / CERTIFICATE_FILE).read_text())
    assert certificate["signer_set"] == json.loads(signers.read_text())
    assert settle("checkpoint", "verify", out_dir, "--signers", signers)[0] == 0


def test_export_refuses_a_dump_that_does_not_match_the_certificate(certified, tmp_path, capsys):
    driver, dump, _ = certified
    fake = FakeReplica("node1")
    fake.state = driver.state
    index = driver.state.governance["certificate"]["index"]
    wrong = tmp_path / "wrong-dump"
    write_dump(wrong, [r for r in driver.state.records() if r[1] != "alice"], index)
    fake.dumps[index] = wrong
    with threaded(fake) as served:
        code, _, _ = settle("--nodes", served.address, "checkpoint", "export", tmp_path / "audit")
    assert code == 1
    assert "not the certified" in capsys.readouterr().err
    assert not (tmp_path / "audit" / DUMP_FILE).exists()
