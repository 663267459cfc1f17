"""docs/signing-vectors.json: what a client in another language checks its signing against. Every
vector must be what the node itself builds, digests, signs and verifies."""

from __future__ import annotations

import json

import pytest
from google.protobuf import json_format

from cluster.signing_vectors import VECTORS_FILE, render
from node.api.settlement.v1 import commands_pb2, log_pb2, settlement_pb2
from node.codec import batch_from_submitted, batch_signature, commands_digest
from node.identity.key_files import read_private_key
from node.identity.keys import raw_public_key, verify_ed25519
from node.ledger.action_payload import action_bytes, parse_action
from node.ledger.governance import checkpoint_vote_bytes
from node.ledger.signatures import price_update_bytes
from node.ledger.signed_batches import batch_signing_bytes

VECTORS = json.loads(VECTORS_FILE.read_text())
PUBLIC_KEY = bytes.fromhex(VECTORS["key"]["public_key_hex"])
BATCHES = VECTORS["batches"]


def test_the_committed_vectors_are_what_the_generator_writes():
    assert VECTORS_FILE.read_text() == render(), "run python -m cluster.signing_vectors"


def test_the_key_file_of_the_vectors_holds_the_seed_as_hex_and_gives_the_public_key(tmp_path):
    key_file = tmp_path / "vectors.key"
    key_file.write_text(VECTORS["key"]["key_file"])
    assert raw_public_key(read_private_key(key_file)) == PUBLIC_KEY


@pytest.mark.parametrize("vector", BATCHES, ids=[v["name"] for v in BATCHES])
def test_a_batch_vectors_command_bytes_decode_to_its_fields(vector):
    for command in vector["commands"]:
        assert commands_pb2.Command.FromString(bytes.fromhex(command["bytes_hex"])) == \
            json_format.ParseDict(command["fields"], commands_pb2.Command())


@pytest.mark.parametrize("vector", BATCHES, ids=[v["name"] for v in BATCHES])
def test_a_batch_vectors_digest_is_over_its_command_bytes_framed_by_length(vector):
    encoded = [bytes.fromhex(c["bytes_hex"]) for c in vector["commands"]]
    assert b"".join(len(e).to_bytes(4, "big") + e for e in encoded).hex() == vector["digest_input_hex"]
    assert commands_digest(encoded).hex() == vector["commands_digest_hex"]


@pytest.mark.parametrize("vector", BATCHES, ids=[v["name"] for v in BATCHES])
def test_a_batch_vectors_message_and_signature_are_the_nodes(vector):
    sequence = int(vector["sequence"])
    assert sequence == vector["stream"] << 32 | vector["counter"]
    message = batch_signing_bytes(vector["cluster"], vector["key_id"], sequence, int(vector["signed_at_ms"]),
                                  bytes.fromhex(vector["commands_digest_hex"]))
    assert message.hex() == vector["message_hex"]
    assert verify_ed25519(PUBLIC_KEY, message, bytes.fromhex(vector["signature_hex"]))


@pytest.mark.parametrize("vector", BATCHES, ids=[v["name"] for v in BATCHES])
def test_a_batch_vectors_request_is_what_the_node_reads_and_verifies(vector):
    request = bytes.fromhex(vector["request_hex"])
    batch = batch_from_submitted(log_pb2.SubmittedBatch.FromString(request))
    assert [e.hex() for e in batch.encoded] == [c["bytes_hex"] for c in vector["commands"]]
    sealed = batch_signature(batch)
    message = batch_signing_bytes(vector["cluster"], sealed.key_id, sealed.sequence, sealed.signed_at_ms, sealed.commands_digest)
    assert verify_ed25519(PUBLIC_KEY, message, sealed.signature)
    assert len(settlement_pb2.SubmitRequest.FromString(request).commands) == len(vector["commands"])  # any library reads it


def test_a_command_with_explicit_zero_fields_digests_differently_from_its_canonical_encoding():
    explicit, canonical = BATCHES[0]["commands"][0], BATCHES[1]["commands"][0]
    assert commands_pb2.Command.FromString(bytes.fromhex(explicit["bytes_hex"])) == \
        commands_pb2.Command.FromString(bytes.fromhex(canonical["bytes_hex"]))
    assert explicit["bytes_hex"] != canonical["bytes_hex"]
    assert BATCHES[0]["commands_digest_hex"] != BATCHES[1]["commands_digest_hex"]


@pytest.mark.parametrize("vector", VECTORS["price_updates"])
def test_a_price_update_vector_is_the_nodes_message_and_verifies(vector):
    message = price_update_bytes(vector["market"], vector["source"], int(vector["price"]), int(vector["source_time_ms"]))
    assert message.hex() == vector["message_hex"]
    assert verify_ed25519(PUBLIC_KEY, message, bytes.fromhex(vector["signature_hex"]))


@pytest.mark.parametrize("vector", VECTORS["actions"])
def test_an_action_vector_is_canonical_json_the_ledger_reads_and_verifies(vector):
    message = action_bytes(vector["payload"])
    assert message.hex() == vector["message_hex"] and message.decode() == vector["canonical_json"]
    assert parse_action(message) == (vector["payload"], None)
    assert verify_ed25519(PUBLIC_KEY, message, bytes.fromhex(vector["signature_hex"]))


@pytest.mark.parametrize("vector", VECTORS["checkpoint_votes"])
def test_a_checkpoint_vote_vector_is_the_nodes_message_and_verifies(vector):
    message = checkpoint_vote_bytes(vector["cluster"], vector["key_id"], vector["index"], bytes.fromhex(vector["state_hash_hex"]))
    assert message.hex() == vector["message_hex"]
    assert verify_ed25519(PUBLIC_KEY, message, bytes.fromhex(vector["signature_hex"]))
