"""The SDK signs every batch for its identity: the key whose role may submit it, a sequence on
its own stream, the cluster id; a keyring splits a batch that needs several roles, and a batch
refused as below its replay window is signed again on a fresh stream."""

from __future__ import annotations

import pytest

from node.client import SyncSettlementClient
from node.client.errors import BatchExpired, NoSigningKey, OutcomeUnknown
from node.identity import batch_signing
from node.identity.clock import now_ms
from node.identity.credentials import ClientIdentity, SigningKey
from node.ledger.commands import Deposit, SettleTrade
from node.ledger.results import ResultCode
from tests.ledger.driver import MARKET, SUBMITTERS
from tests.ledger.governance import CLUSTER
from tests.server.governed_replica import governed_replica
from tests.server.serving import threaded

FAST = dict(timeout_s=3.0, backoff_base_ms=5, backoff_max_ms=20)


def signing(role: str) -> SigningKey:
    key_id, key = SUBMITTERS[role]
    return SigningKey(key_id, role, key)


def identity(*roles: str, cluster: str = CLUSTER) -> ClientIdentity:
    keys = tuple(signing(r) for r in roles)
    return ClientIdentity(keys[0].key_id if keys else "", keys, cluster=cluster)


@pytest.fixture
def served(tmp_path):
    with threaded(governed_replica(tmp_path)) as server:
        yield server


def client(served, who: ClientIdentity | None) -> SyncSettlementClient:
    return SyncSettlementClient([served.address], identity=who, **FAST)


def test_a_signed_deposit_applies(served):
    with client(served, identity("custodian")) as c:
        assert c.deposit("zed", 5).ok


def test_without_a_key_the_batch_goes_unsigned_and_is_refused(served):
    with client(served, None) as c:
        assert c.deposit("zed", 5).code == ResultCode.UNSIGNED_BATCH


def test_a_key_whose_role_cannot_submit_the_batch_sends_nothing(served):
    with client(served, identity("settler")) as c, pytest.raises(NoSigningKey, match="Deposit"):
        c.deposit("zed", 5)
    assert served.replica.submit_calls == []


def test_a_keyring_sends_a_batch_needing_two_roles_as_one_submit_per_role(served):
    batch = [Deposit("k-dep-1", "zed", 10**9), Deposit("k-dep-2", "yan", 10**9), SettleTrade("k-fill", MARKET, "zed", "yan", 50_000, 1)]
    with client(served, identity("settler", "custodian")) as c:
        reply = c.submit(batch)
    assert [r.code for r in reply.results] == [ResultCode.OK] * 3
    assert served.replica.submit_calls == [(2,), (1,)]


def test_the_cluster_id_is_asked_from_the_cluster_when_the_identity_has_none(served):
    with client(served, identity("custodian", cluster="")) as c:
        assert c.deposit("zed", 5).ok


def test_a_batch_below_its_replay_window_is_signed_again_on_a_fresh_stream(served):
    with client(served, identity("custodian")) as c:
        assert c.deposit("zed", 1).ok
        signer = c._client._signer  # noqa: SLF001 - rewind its stream, as a batch held back 200 others would be
        stream, counter = signer._streams["custodian-1"]
        signer._streams["custodian-1"] = (stream, counter + 200)
        assert c.deposit("zed", 1).ok
        signer._streams["custodian-1"] = (stream, counter)
        result = c.deposit("zed", 1)
    assert result.ok and not result.duplicate
    assert signer._streams["custodian-1"][0] != stream


RETENTION_MS = 3_600_000


@pytest.fixture
def served_short_retention(tmp_path):
    with threaded(governed_replica(tmp_path, policy={"dedup_retention_ms": RETENTION_MS})) as server:
        yield server


def test_a_batch_resigned_below_its_replay_window_keeps_the_time_it_was_first_signed(served, monkeypatch):
    with client(served, identity("custodian")) as c:
        assert c.deposit("zed", 1).ok
        signer = c._client._signer  # noqa: SLF001 - as in the test above
        stream, counter = signer._streams["custodian-1"]
        signer._streams["custodian-1"] = (stream, counter + 200)
        assert c.deposit("zed", 1).ok
        signer._streams["custodian-1"] = (stream, counter)
        readings: list[int] = []  # a clock that never reads the same twice
        monkeypatch.setattr(batch_signing, "now_ms", lambda: readings.append(now_ms() + 7 * len(readings)) or readings[-1])
        logged_before = len(served.replica.submit_calls)
        assert c.deposit("zed", 1).ok
    # The too-old attempt was answered by the leader without being logged; the re-signed one was.
    assert len(served.replica.submit_calls) == logged_before + 1
    assert served.replica.signed_at_calls[-1] == (readings[0],)


def test_a_retry_after_an_unknown_outcome_is_signed_with_the_first_attempt_s_time(served):
    served.replica.ambiguous_after_apply = False
    served.replica.ambiguous_submits = 100  # every attempt fails ambiguously: the SDK gives up
    with client(served, identity("custodian")) as c:
        with pytest.raises(OutcomeUnknown) as unknown:
            c.submit([Deposit("retried-later", "zed", 5)])
        served.replica.ambiguous_submits = 0
        assert c.submit([Deposit("retried-later", "zed", 5)]).results[0].ok
    assert unknown.value.signed_at_ms > 0
    assert served.replica.signed_at_calls[-1] == (unknown.value.signed_at_ms,)


def test_a_retry_older_than_the_retention_raises_batch_expired_and_applies_nothing(served_short_retention):
    fake = served_short_retention.replica
    with client(served_short_retention, identity("custodian")) as c:
        with pytest.raises(BatchExpired) as expired:
            c.submit([Deposit("too-late", "zed", 5)], first_signed_at_ms=now_ms() - RETENTION_MS - 600_000)
    assert expired.value.command_ids == ["too-late"]
    assert expired.value.results[0].code == ResultCode.BATCH_EXPIRED
    assert "too-late" not in fake.state.dedup and "zed" not in fake.state.accounts
