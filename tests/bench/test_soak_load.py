"""The soak's load: batches assembled from pre-encoded trades are what protobuf would encode, and
every replica accepts them as the settler's signed batches (through the leader's codec path and
the ledger, no cluster)."""

from __future__ import annotations

from node.api.settlement.v1 import log_pb2, settlement_pb2
from node.codec.batch import batch_from_submitted
from node.codec.log import log_entry_from_bytes, log_entry_to_bytes
from node.identity.credentials import SigningKey
from node.ledger.commands import SettleTrade
from node.ledger.results import ResultCode
from tests.ledger.driver import MARKET, SUBMITTERS
from tests.ledger.governance import CLUSTER, governed_market

from cluster.bench.soak_load import TradeBatches, leader_hint, next_address

ACCOUNTS = 4
MARK = 50_000  # listed_market_with_traders' mark


def settler() -> SigningKey:
    key_id, key = SUBMITTERS["settler"]
    return SigningKey(key_id, "settler", key)


def funded_ledger():
    driver = governed_market().driver
    for account in range(ACCOUNTS):
        assert driver.deposit(f"a{account}", 10**9).ok
    return driver


def batches_for(driver, batch: int = 25) -> TradeBatches:
    return TradeBatches(settler(), CLUSTER, "soak0", MARKET, MARK, ACCOUNTS, seed=7, batch=batch, pool_size=16,
                        clock=lambda: driver.time_ms)


def apply_as_the_cluster_would(driver, request_bytes: bytes):
    """Leader: parse the Submit request (as a SubmittedBatch, as the server does) and log it;
    replica: decode the entry and apply it."""
    batch = batch_from_submitted(log_pb2.SubmittedBatch.FromString(request_bytes))
    driver.index += 1
    driver.time_ms += 1_000
    entry = log_entry_from_bytes(log_entry_to_bytes(driver.time_ms, [batch]), driver.index)
    return driver.apply_entry(entry), entry


def test_a_soak_batch_is_accepted_by_the_ledger_as_the_settlers_signed_trades():
    driver = funded_ledger()
    request, _ = batches_for(driver).next()
    results, entry = apply_as_the_cluster_would(driver, request)
    assert [r.code for r in results] == [ResultCode.OK] * 25
    assert all(isinstance(c, SettleTrade) and c.buyer != c.seller and c.quantity == 1 for c in entry.commands)


def test_consecutive_batches_carry_new_ids_and_the_next_sequence():
    driver = funded_ledger()
    batches = batches_for(driver)
    for _ in range(3):
        request, _ = batches.next()
        results, _ = apply_as_the_cluster_would(driver, request)
        assert {r.code for r in results} == {ResultCode.OK}  # a reused id would be DUPLICATE, a reused sequence refused


def test_a_batch_is_signed_at_the_time_it_is_built():
    driver = funded_ledger()
    batches = batches_for(driver)
    driver.time_ms += 5_000
    _, signed_at_ms = batches.next()
    assert signed_at_ms == driver.time_ms


def test_the_assembled_request_is_exactly_protobufs_own_encoding():
    driver = funded_ledger()
    request, _ = batches_for(driver, batch=1_000).next()
    parsed = settlement_pb2.SubmitRequest.FromString(request)
    assert len(parsed.commands) == 1_000
    assert parsed.SerializeToString(deterministic=True) == request


def test_a_followers_leader_hint_is_taken_from_its_trailing_metadata():
    assert leader_hint((("content-type", "x"), ("x-leader", "127.0.0.1:7002"))) == "127.0.0.1:7002"
    assert leader_hint((("x-leader", ""),)) is None
    assert leader_hint(None) is None


def test_without_a_hint_the_next_node_is_tried_in_turn():
    nodes = ["a:1", "b:2", "c:3"]
    assert [next_address(nodes, n) for n in nodes] == ["b:2", "c:3", "a:1"]
    assert next_address(nodes, "elsewhere:9") == "a:1"
