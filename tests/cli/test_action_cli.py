"""`settle action`: proposal files, offline signing, co-signing and submitting, against a served
FakeReplica under the test signer set, run in-process through main()."""

from __future__ import annotations

import io
import json
import re

import pytest

from node.cli import proposals
from node.cli.action_cli import describe
from node.cli.cli import main
from node.identity.clock import now_ms
from node.identity.key_files import write_private_key
from node.identity.keys import raw_public_key, verify_ed25519
from node.identity.quorum import action_payload, sign_action
from node.ledger.action_payload import action_bytes
from node.ledger.commands import ActionKind
from node.ledger.records import MarketStatus, StatusReason
from tests.ledger.driver import MARKET
from tests.ledger.governance import CLUSTER, GUARDIANS, NODES, POLICY
from tests.server.governed_replica import NODE, governed_replica, write_credentials
from tests.server.serving import threaded


def settle(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def keys(tmp_path):
    """guardian-1..3 key files, as `settle new-key` writes them."""
    paths = {}
    for key_id, key in GUARDIANS.items():
        paths[key_id] = tmp_path / f"{key_id}.key"
        write_private_key(paths[key_id], key)
    return paths


def propose_offline(path, kind="HALT_MARKET", *extra) -> dict:
    code, out, err = settle("action", "propose", kind, "--offline", "--cluster", CLUSTER, "--epoch", "0", "--out", path, *extra)
    assert code == 0, err
    return json.loads(path.read_text())


def sign(path, keys, key_id) -> tuple[int, str, str]:
    return settle("action", "sign", path, "--key-file", keys[key_id], "--key-id", key_id)


# -- proposal files, offline ------------------------------------------------------------------


def test_propose_offline_writes_the_canonical_action_and_an_empty_signature_list(tmp_path):
    path = tmp_path / "halt.json"
    before = now_ms()
    code, out, _ = settle("action", "propose", "halt-market", "--market", MARKET, "--nonce", "42", "--ttl", "5m",
                          "--offline", "--cluster", CLUSTER, "--epoch", "3", "--out", path)
    assert code == 0
    document = json.loads(path.read_text())
    action = document["action"]
    assert before + 300_000 <= action["not_after_ms"] <= now_ms() + 300_000
    assert action == action_payload(CLUSTER, ActionKind.HALT_MARKET, 42, action["not_after_ms"], 3, market=MARKET)
    assert document["signatures"] == []
    assert action_bytes(action).decode() in out  # what every key signs is printed as is
    assert "HALT_MARKET  market BTC-PERP" in out and "nobody yet" in out


def test_a_backstop_registration_names_the_account_and_its_terms(tmp_path):
    document = propose_offline(tmp_path / "b.json", "REGISTER_BACKSTOP", "--market", MARKET, "--account", "lp-1",
                               "--discount-bps", "150", "--position-max", "200")
    action = document["action"]
    assert (action["kind"], action["account"], action["discount_bps"], action["position_max"]) == ("REGISTER_BACKSTOP", "lp-1", 150, 200)
    code, _, err = settle("action", "propose", "REGISTER_BACKSTOP", "--market", MARKET, "--account", "lp-1", "--offline",
                          "--cluster", CLUSTER, "--epoch", "0", "--out", tmp_path / "c.json")
    assert code == 2 and "needs --discount-bps" in err


def test_market_params_are_named_integers(tmp_path):
    document = propose_offline(tmp_path / "p.json", "SET_MARKET_PARAMS", "--market", MARKET,
                               "--param", "initial_margin_bps=2_000", "maintenance_margin_bps=1000", "--param", "position_cap=7")
    assert document["action"]["params"] == {"initial_margin_bps": 2_000, "maintenance_margin_bps": 1_000, "position_cap": 7}


def test_a_proposal_file_round_trips(tmp_path):
    proposal = proposals.new_proposal(CLUSTER, ActionKind.SET_MARKET_PARAMS, 2, now_ms(), market=MARKET,
                                      params={"open_interest_cap": 5, "initial_margin_bps": 2_000})
    signed = proposals.sign(proposal, "guardian-1", GUARDIANS["guardian-1"], now_ms())
    path = tmp_path / "p.json"
    proposals.create_proposal_file(path, signed)
    again = proposals.read_proposal(path)
    assert again == signed
    assert again.command() == signed.command()
    assert again.command().canonical_bytes == action_bytes(proposal.action)


def test_signing_offline_appends_a_signature_over_the_canonical_bytes(tmp_path, keys):
    path = tmp_path / "halt.json"
    document = propose_offline(path, "HALT_MARKET", "--market", MARKET)
    code, out, _ = sign(path, keys, "guardian-1")
    assert code == 0
    assert "guardian-1 signed" in out and "1 signature (guardian-1)" in out
    code, out, _ = sign(path, keys, "guardian-2")
    assert code == 0 and "2 signatures (guardian-1, guardian-2)" in out
    signed = json.loads(path.read_text())
    assert signed["action"] == document["action"]
    message = action_bytes(document["action"])
    for entry, key_id in zip(signed["signatures"], ("guardian-1", "guardian-2")):
        assert entry["key_id"] == key_id
        assert verify_ed25519(raw_public_key(GUARDIANS[key_id]), message, bytes.fromhex(entry["signature"]))


def test_signing_needs_no_node(tmp_path, keys):
    path = tmp_path / "halt.json"
    propose_offline(path, "GLOBAL_HALT")
    # An address nothing listens on: sign must not try it.
    assert settle("--nodes", "127.0.0.1:1", "action", "sign", path, "--key-file", keys["guardian-3"], "--key-id", "guardian-3")[0] == 0


def test_an_expired_proposal_is_not_signed(tmp_path, keys):
    path = tmp_path / "old.json"
    old = proposals.new_proposal(CLUSTER, ActionKind.HALT_MARKET, 0, now_ms() - 700_000, ttl_ms=600_000, market=MARKET)
    proposals.create_proposal_file(path, old)
    code, _, err = sign(path, keys, "guardian-1")
    assert code == 2
    assert "expired" in err and "propose it again" in err
    assert json.loads(path.read_text())["signatures"] == []


def test_the_same_key_id_or_the_same_key_signs_once(tmp_path, keys):
    path = tmp_path / "halt.json"
    propose_offline(path, "HALT_MARKET", "--market", MARKET)
    assert sign(path, keys, "guardian-1")[0] == 0
    code, _, err = sign(path, keys, "guardian-1")
    assert code == 2 and "guardian-1 already signed this proposal" in err
    code, _, err = settle("action", "sign", path, "--key-file", keys["guardian-1"], "--key-id", "guardian-2")
    assert code == 2 and "this key already signed the proposal as guardian-1" in err
    assert len(json.loads(path.read_text())["signatures"]) == 1


def _valid_document() -> dict:
    action = action_payload(CLUSTER, ActionKind.HALT_MARKET, 1, now_ms() + 60_000, 0, market=MARKET)
    return {"action": action, "signatures": [{"key_id": "guardian-1", "signature": sign_action(action, GUARDIANS["guardian-1"]).hex()}]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ("[]", "exactly `action` and `signatures`"),
        (json.dumps({"action": {}}), "exactly `action` and `signatures`"),
        (json.dumps({**_valid_document(), "action": {**_valid_document()["action"], "kind": "LAUNCH"}}), "kind must name an action"),
        (json.dumps({**_valid_document(), "action": {**_valid_document()["action"], "price": 5}}), "a HALT_MARKET carries exactly"),
        (json.dumps({**_valid_document(), "action": {**_valid_document()["action"], "nonce": 1.5}}), "int64"),
        (json.dumps({**_valid_document(), "signatures": [{"key_id": "guardian-1", "signature": "zz"}]}), "128 hex digits"),
        (json.dumps({**_valid_document(), "signatures": [{"key_id": "bad id!", "signature": "00" * 64}]}), "key_id must be"),
        (json.dumps({**_valid_document(), "signatures": _valid_document()["signatures"] * 2}), "a key id signed twice"),
        ("\udcff", "not UTF-8"),
    ],
    ids=["not-json", "a-list", "no-signatures", "unknown-kind", "extra-field", "float-nonce", "bad-hex",
         "bad-key-id", "twice", "not-utf8"],
)
def test_a_malformed_proposal_file_exits_2_and_says_what_is_wrong(tmp_path, keys, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    for argv in (("action", "sign", path, "--key-file", keys["guardian-1"], "--key-id", "guardian-2"),
                 ("--nodes", "127.0.0.1:1", "action", "submit", path)):
        code, out, err = settle(*argv)
        assert code == 2, (argv, out, err)
        assert err.startswith(f"settle: {path}") and message in err, err


def test_a_missing_file_exits_2(tmp_path, keys):
    code, _, err = sign(tmp_path / "nowhere.json", keys, "guardian-1")
    assert code == 2 and "cannot read" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("RESUME_MARKET",), "a RESUME_MARKET needs --market"),
        (("GLOBAL_HALT", "--market", MARKET), "a GLOBAL_HALT carries no market"),
        (("EMERGENCY_SETTLE", "--market", MARKET), "needs --price"),
        (("SET_MARKET_PARAMS", "--market", MARKET), "needs --param"),
        (("SET_MARKET_PARAMS", "--market", MARKET, "--param", "open_interest_cap"), "NAME=VALUE"),
        (("SET_MARKET_PARAMS", "--market", MARKET, "--param", "open_interest_cap=1.5"), "not an integer"),
        (("HALT_MARKET", "--market", MARKET, "--ttl", "16m"), "at most|within"),
        (("HALT_MARKET", "--market", MARKET, "--ttl", "ten"), "a duration"),
        (("SET_SIGNERS",), "unknown action"),
    ],
)
def test_propose_refuses_what_the_ledger_would_refuse(tmp_path, argv, message):
    code, _, err = settle("action", "propose", *argv, "--offline", "--cluster", CLUSTER, "--epoch", "0", "--out", tmp_path / "p.json")
    assert code == 2 and re.search(message, err), err
    assert not (tmp_path / "p.json").exists()


def test_propose_never_overwrites_a_proposal_and_offline_needs_cluster_and_epoch(tmp_path):
    path = tmp_path / "halt.json"
    propose_offline(path, "GLOBAL_HALT")
    code, _, err = settle("action", "propose", "GLOBAL_HALT", "--offline", "--cluster", CLUSTER, "--epoch", "0", "--out", path)
    assert code == 2 and "exists" in err
    code, _, err = settle("action", "propose", "GLOBAL_HALT", "--offline", "--out", tmp_path / "other.json")
    assert code == 2 and "--offline needs --cluster ID and --epoch E" in err


# -- against a node -------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    with threaded(governed_replica(node_dir)) as server:
        server.credentials = write_credentials(tmp_path / "credentials")  # guardian-1 submits the batches
        yield server


def test_two_guardians_halt_a_market_through_propose_sign_submit(served, tmp_path, keys):
    path = tmp_path / "halt.json"
    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "action", "propose", "HALT_MARKET", "--market", MARKET, "--out", path)
    assert code == 0, out
    action = json.loads(path.read_text())["action"]
    assert (action["cluster"], action["epoch"]) == (CLUSTER, 0)  # read from the node's signer set

    assert sign(path, keys, "guardian-1")[0] == 0
    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "action", "submit", path)
    assert code == 1
    assert out.startswith("BELOW_THRESHOLD") and "1 distinct valid signers, 2 needed" in out

    assert sign(path, keys, "guardian-2")[0] == 0
    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "action", "submit", path)
    assert code == 0 and out.startswith("OK")
    market = served.replica.state.markets[MARKET]
    assert (market.status, market.status_reason) == (MarketStatus.HALTED, StatusReason.GUARDIAN_HALT)

    # The same file again is the same command: applied once, shown as its first outcome.
    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "action", "submit", path)
    assert code == 0 and "duplicate" in out


def test_node_keys_cannot_resume_and_the_code_is_printed(served, tmp_path):
    node_keys = {}
    for key_id, key in NODES.items():
        node_keys[key_id] = tmp_path / f"{key_id}.key"
        write_private_key(node_keys[key_id], key)
    path = tmp_path / "resume.json"
    assert settle("--nodes", served.address, "--credentials", served.credentials, "action", "propose", "RESUME_MARKET", "--market", MARKET, "--out", path)[0] == 0
    for key_id in ("node-1", "node-2"):
        assert sign(path, node_keys, key_id)[0] == 0
    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "--json", "action", "submit", path)
    assert code == 1
    (result,) = json.loads(out)["results"]
    assert result["code"] == "WRONG_ROLE"


def test_loosening_waits_in_pending_and_signers_shows_the_thresholds(served, tmp_path, keys):
    path = tmp_path / "loosen.json"
    assert settle("--nodes", served.address, "--credentials", served.credentials, "action", "propose", "SET_MARKET_PARAMS", "--market", MARKET,
                  "--param", "open_interest_cap=2000000", "--out", path)[0] == 0
    for key_id in ("guardian-1", "guardian-3"):
        assert sign(path, keys, key_id)[0] == 0
    assert settle("--nodes", served.address, "--credentials", served.credentials, "action", "submit", path)[0] == 0

    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "action", "pending")
    assert code == 0
    nonce = json.loads(path.read_text())["action"]["nonce"]
    assert str(nonce) in out and "SET_MARKET_PARAMS" in out and MARKET in out and "open_interest_cap" in out
    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "--json", "action", "pending")
    (change,) = json.loads(out)
    assert change["effective_at_ms"] == served.replica.time_ms + POLICY["timelock_ms"]

    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "action", "signers")
    assert code == 0
    assert f"signer set of cluster {CLUSTER}  checkpoint epoch 0" in out
    assert "2 node or guardian signatures" in out and "2 guardian signatures; loosening waits 60000 ms" in out
    assert re.search(r"\n  guardian-2 +guardian +[0-9a-f]{64}\n", out) and re.search(r"\n  node-3 +node +", out), out


def test_cosign_appends_the_node_signature_when_its_view_agrees(tmp_path, keys):
    fake = governed_replica(tmp_path, stale=True)
    with threaded(fake) as server:
        path = tmp_path / "halt.json"
        assert settle("--nodes", server.address, "action", "propose", "HALT_MARKET", "--market", MARKET, "--out", path)[0] == 0
        assert sign(path, keys, "guardian-1")[0] == 0
        code, out, err = settle("action", "cosign", path, "--node", server.address)
        assert code == 0, err
        assert f"{NODE} ({server.address}, because {MARKET}'s oracle verdict is STALE) signed" in out
        assert "2 signatures (guardian-1, node-1)" in out
        code, out, _ = settle("action", "cosign", path, "--node", server.address)
        assert code == 2  # node-1 already signed
        credentials = write_credentials(tmp_path / "credentials")
        assert settle("--nodes", server.address, "--credentials", credentials, "action", "submit", path)[0] == 0
    assert fake.state.markets[MARKET].status == MarketStatus.HALTED


def test_cosign_refusals_exit_1_with_the_reason(served, tmp_path):
    halt, resume = tmp_path / "halt.json", tmp_path / "resume.json"
    assert settle("--nodes", served.address, "--credentials", served.credentials, "action", "propose", "HALT_MARKET", "--market", MARKET, "--out", halt)[0] == 0
    assert settle("--nodes", served.address, "--credentials", served.credentials, "action", "propose", "RESUME_MARKET", "--market", MARKET, "--out", resume)[0] == 0
    code, out, _ = settle("action", "cosign", halt, "--node", served.address)
    assert code == 1 and out.startswith("REFUSED") and "oracle is VALID" in out
    code, out, _ = settle("action", "cosign", resume, "--node", served.address)
    assert code == 1 and "a node co-signs only HALT_MARKET and GLOBAL_HALT" in out
    assert json.loads(halt.read_text())["signatures"] == []


def test_a_withdraw_fees_proposal_carries_its_amount_and_needs_guardians():
    proposal = proposals.new_proposal(CLUSTER, ActionKind.WITHDRAW_FEES, 0, now_ms(), amount=1_500)
    assert proposal.action["amount"] == 1_500
    assert "resume class" in describe(proposal, now_ms())
    with pytest.raises(proposals.ProposalError, match="needs --amount"):
        proposals.new_proposal(CLUSTER, ActionKind.WITHDRAW_FEES, 0, now_ms())
    with pytest.raises(proposals.ProposalError, match="carries no amount"):
        proposals.new_proposal(CLUSTER, ActionKind.HALT_MARKET, 0, now_ms(), market=MARKET, amount=1)


# -- bounded governance (issue 18): temporary tightening, cancelling, custody ------------------------


def test_a_temporary_tightening_proposal_states_its_duration(tmp_path):
    document = propose_offline(tmp_path / "t.json", "SET_MARKET_PARAMS", "--market", MARKET,
                               "--param", "initial_margin_bps=1500", "--revert-after", "60m")
    assert document["action"]["revert_after_ms"] == 3_600_000
    assert "temporary: reverts by itself 3600000 ms" in describe(proposals.Proposal(document["action"]), now_ms())
    with pytest.raises(proposals.ProposalError, match="carries no revert_after_ms"):
        proposals.new_proposal(CLUSTER, ActionKind.HALT_MARKET, 0, now_ms(), market=MARKET, revert_after_ms=1)


def test_a_cancel_pending_proposal_names_the_change_and_needs_the_halt_class(tmp_path):
    document = propose_offline(tmp_path / "c.json", "CANCEL_PENDING", "--pending-nonce", "4017")
    assert document["action"]["pending_nonce"] == 4017
    text = describe(proposals.Proposal(document["action"]), now_ms())
    assert "cancels pending change 4017" in text and "halt class" in text


def test_a_policy_params_proposal_needs_guardians():
    proposal = proposals.new_proposal(CLUSTER, ActionKind.SET_POLICY_PARAMS, 0, now_ms(), params={"custody_quorum": 3})
    assert "resume class (guardians only)" in describe(proposal, now_ms())


def test_two_custodians_withdraw_a_large_amount_through_propose_sign_submit(served, tmp_path):
    from node.ledger.commands import Deposit
    from tests.ledger.governance import CUSTODIANS
    from tests.server.governed_replica import apply_now

    apply_now(served.replica, Deposit("whale-in", "whale", 3 * 10**12))
    paths = {}
    for key_id in ("custodian-1", "custodian-2"):
        paths[key_id] = tmp_path / f"{key_id}.key"
        write_private_key(paths[key_id], CUSTODIANS[key_id])
    path = tmp_path / "w.json"
    online = ("--nodes", served.address, "--credentials", served.credentials)
    code, out, _ = settle(*online, "action", "propose", "CUSTODY_WITHDRAW", "--account", "whale", "--amount", str(2 * 10**12), "--out", path)
    assert code == 0 and "custodian signatures only" in out, out
    assert sign(path, paths, "custodian-1")[0] == 0
    code, out, _ = settle(*online, "action", "submit", path)
    assert code == 1 and out.startswith("BELOW_THRESHOLD"), out
    assert sign(path, paths, "custodian-2")[0] == 0
    code, out, _ = settle(*online, "action", "submit", path)
    assert code == 0 and out.startswith("OK"), out
    assert served.replica.state.accounts["whale"].collateral == 10**12


def test_signers_shows_the_governed_policy_parameters_in_force(served):
    code, out, _ = settle("--nodes", served.address, "--credentials", served.credentials, "action", "signers")
    assert code == 0
    assert re.search(r"\n  custody_quorum_threshold +1000000000000 +1000000000000 +lower\n", out), out
    assert re.search(r"\n  margin_raise_grace_ms +3600000 +3600000 +higher\n", out), out
