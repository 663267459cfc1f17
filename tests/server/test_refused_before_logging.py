"""The leader answers a batch the ledger would refuse without logging it: unsigned, unknown key,
wrong role, bad signature, tampered, expired, signed ahead, a used sequence. What passes is logged
and the ledger, on every replica, still judges it."""

from __future__ import annotations

import copy

from node.api.settlement.v1 import log_pb2, results_pb2, settlement_pb2
from node.codec.commands import command_to_proto
from node.codec.results import result_from_proto
from node.identity.batch_signing import BatchSigner, batch_to_send
from node.identity.clock import now_ms
from node.identity.credentials import SigningKey
from node.identity.keys import private_key_from_seed
from node.ledger.commands import Deposit, SettleTrade
from node.ledger.results import ResultCode
from node.replica.logged_entry import apply_logged_entry
from node.codec.batch import batch_from_submitted
from node.codec.log import log_entry_to_bytes
from node.server.batch_precheck import BatchJudge
from tests.ledger.driver import MARKET, SUBMITTERS
from tests.ledger.governance import CLUSTER
from tests.server.governed_replica import governed_replica
from tests.server.serving import channel_to, run, serving

SUBMIT = "/settlement.v1.Settlement/Submit"
CUSTODIAN = SigningKey(SUBMITTERS["custodian"][0], "custodian", SUBMITTERS["custodian"][1])
SETTLER = SigningKey(SUBMITTERS["settler"][0], "settler", SUBMITTERS["settler"][1])
MALLORY = SigningKey("mallory", "custodian", private_key_from_seed("mallory"))


def deposit_batch(command_id: str = "d-1") -> log_pb2.SubmittedBatch:
    return batch_to_send([command_to_proto(Deposit(command_id, "alice", 100))])


def signed(batch: log_pb2.SubmittedBatch, key: SigningKey = CUSTODIAN, signer: BatchSigner | None = None, **sign) -> log_pb2.SubmittedBatch:
    (signer or BatchSigner()).sign(batch, key, CLUSTER, **sign)
    return batch


async def send(server, batch: log_pb2.SubmittedBatch) -> settlement_pb2.SubmitResponse:
    async with channel_to(server) as channel:
        submit = channel.unary_unary(SUBMIT, request_serializer=log_pb2.SubmittedBatch.SerializeToString,
                                     response_deserializer=settlement_pb2.SubmitResponse.FromString)
        return await submit(batch, timeout=5)


def answered(fake, batch: log_pb2.SubmittedBatch) -> tuple[list[ResultCode], int, int]:
    """(result codes, the reply's applied index, entries the replica was asked to log)."""
    logged_before = len(fake.submit_calls)

    async def main():
        async with serving(fake) as server:
            return await send(server, batch)

    reply = run(main)
    return [ResultCode(r.code) for r in reply.results], reply.applied_index, len(fake.submit_calls) - logged_before


def test_an_unsigned_batch_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path)
    codes, _, logged = answered(fake, deposit_batch())
    assert (codes, logged) == ([ResultCode.UNSIGNED_BATCH], 0)


def test_a_batch_under_a_key_not_in_the_signer_set_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path)
    codes, _, logged = answered(fake, signed(deposit_batch(), MALLORY))
    assert (codes, logged) == ([ResultCode.UNKNOWN_SIGNER], 0)


def test_a_batch_signed_by_another_key_under_a_known_key_id_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path)
    posing = SigningKey(CUSTODIAN.key_id, "custodian", MALLORY.key)
    codes, _, logged = answered(fake, signed(deposit_batch(), posing))
    assert (codes, logged) == ([ResultCode.INVALID_SIGNATURE], 0)


def test_a_tampered_batch_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path)
    batch = signed(deposit_batch())
    batch.commands[0] = command_to_proto(Deposit("d-1", "alice", 100_000)).SerializeToString()
    codes, _, logged = answered(fake, batch)
    assert (codes, logged) == ([ResultCode.INVALID_SIGNATURE], 0)


def test_a_batch_of_a_kind_the_keys_role_may_not_submit_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path)
    codes, _, logged = answered(fake, signed(deposit_batch(), SETTLER))
    assert (codes, logged) == ([ResultCode.WRONG_ROLE], 0)


def test_a_batch_signed_far_ahead_of_the_leaders_clock_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path, policy={"clock_lead_max_ms": 60_000})
    codes, _, logged = answered(fake, signed(deposit_batch(), signed_at_ms=now_ms() + 3_600_000))
    assert (codes, logged) == ([ResultCode.BATCH_SIGNED_AHEAD], 0)


def test_a_batch_signed_before_the_retention_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path, policy={"dedup_retention_ms": 3_600_000})
    codes, _, logged = answered(fake, signed(deposit_batch(), signed_at_ms=now_ms() - 7_200_000))
    assert (codes, logged) == ([ResultCode.BATCH_EXPIRED], 0)


def test_a_batch_both_expired_and_badly_signed_is_refused_for_its_signature_first_as_the_ledger_orders_it(tmp_path):
    fake = governed_replica(tmp_path, policy={"dedup_retention_ms": 3_600_000})
    posing = SigningKey(CUSTODIAN.key_id, "custodian", MALLORY.key)
    codes, _, logged = answered(fake, signed(deposit_batch(), posing, signed_at_ms=now_ms() - 7_200_000))
    assert (codes, logged) == ([ResultCode.INVALID_SIGNATURE], 0)


def test_a_signed_batch_is_logged_and_applied(tmp_path):
    fake = governed_replica(tmp_path)
    codes, _, logged = answered(fake, signed(deposit_batch()))
    assert (codes, logged) == ([ResultCode.OK], 1)


def test_a_resent_applied_batch_is_logged_and_answered_by_dedup(tmp_path):
    fake = governed_replica(tmp_path)
    batch = signed(deposit_batch())
    assert answered(fake, batch)[0] == [ResultCode.OK]
    codes, _, logged = answered(fake, batch)
    assert (codes, logged) == ([ResultCode.DUPLICATE], 1)


def test_a_used_sequence_carrying_new_commands_is_refused_without_being_logged(tmp_path):
    fake = governed_replica(tmp_path)
    first = signed(deposit_batch("d-1"))
    assert answered(fake, first)[0] == [ResultCode.OK]
    again = deposit_batch("d-2")
    signer = BatchSigner()
    signer.next_sequence = lambda key_id: first.sequence  # the same sequence, signed again over other commands
    codes, _, logged = answered(fake, signed(again, signer=signer, signed_at_ms=first.signed_at_ms))
    assert (codes, logged) == ([ResultCode.SEQUENCE_REPLAYED], 0)


def test_a_refusal_carries_the_applied_index_it_was_judged_at(tmp_path):
    fake = governed_replica(tmp_path)
    judged_at = fake.state.applied_index
    _, applied_index, _ = answered(fake, deposit_batch())
    assert applied_index == judged_at == fake.state.applied_index


def test_the_leader_answers_a_refused_batch_exactly_as_the_ledger_would(tmp_path):
    fake = governed_replica(tmp_path)
    batch = signed(batch_to_send([command_to_proto(SettleTrade("t-1", MARKET, "alice", "bob", 50_000, 1)),
                                  command_to_proto(Deposit("d-9", "alice", 1))]), SETTLER)
    ledger = copy.deepcopy(fake.state)
    fake.time_ms += 1_000
    applied = apply_logged_entry(ledger, ledger.applied_index + 1,
                                 log_entry_to_bytes(fake.time_ms, [batch_from_submitted(batch)]))

    async def main():
        async with serving(fake) as server:
            return await send(server, batch)

    reply = run(main)
    assert [result_from_proto(r) for r in reply.results] == list(applied.results_per_batch[0])
    assert {r.code for r in reply.results} == {results_pb2.WRONG_ROLE}


def test_before_the_genesis_signer_set_batches_are_logged_unchecked(tmp_path):
    from tests.server.fake_replica import FakeReplica

    fake = FakeReplica()
    codes, _, logged = answered(fake, deposit_batch())
    assert (codes, logged) == ([ResultCode.OK], 1)


def test_one_look_at_the_state_judges_a_whole_entrys_batches(tmp_path):
    fake = governed_replica(tmp_path)
    batches = [batch_from_submitted(signed(deposit_batch(f"d-{n}"))) for n in range(5)]
    looks = fake.read_calls
    assert BatchJudge(fake).refusals(batches) == [None] * 5
    assert fake.read_calls == looks + 1


def test_a_bad_signature_in_an_entry_costs_one_more_look_and_refuses_that_batch_alone(tmp_path):
    fake = governed_replica(tmp_path)
    posing = SigningKey(CUSTODIAN.key_id, "custodian", MALLORY.key)
    batches = [batch_from_submitted(signed(deposit_batch("d-1"))), batch_from_submitted(signed(deposit_batch("d-2"), posing)),
               batch_from_submitted(signed(deposit_batch("d-3")))]
    looks = fake.read_calls
    refusals = BatchJudge(fake).refusals(batches)
    assert refusals[0] is None and refusals[2] is None
    assert [r.code for r in refusals[1][0]] == [ResultCode.INVALID_SIGNATURE]
    assert fake.read_calls == looks + 2
