"""Test vectors of every signed message, for client authors in any language (README "Writing a
client in another language", docs/design.md#signing-contract).

    python -m cluster.signing_vectors            # rewrite docs/signing-vectors.json
    python -m cluster.signing_vectors --check    # exit 1 if the committed file differs

One fixed Ed25519 seed signs everything (Ed25519 is deterministic: the same seed and message
always give the same signature). Each vector gives its inputs, the exact bytes signed, the
digest where there is one, the signature, and for batches the command bytes and the whole
SubmitRequest as it goes on the wire. The batch vectors include a command with fields set
explicitly to zero, as protobufjs writes them: the digest is over the bytes sent, so it differs
from the digest of the same command encoded without them, and both verify.
tests/api/test_signing_vectors.py checks the file against the node's own functions, and
tests/conformance/js checks it from Node.js.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from google.protobuf import json_format

from node.api.settlement.v1 import commands_pb2, settlement_pb2
from node.codec.batch import commands_digest
from node.identity.keys import private_key_from_raw, raw_public_key
from node.ledger.action_payload import action_bytes
from node.ledger.governance import checkpoint_vote_bytes
from node.ledger.signatures import price_update_bytes
from node.ledger.signed_batches import batch_signing_bytes

REPO_ROOT = Path(__file__).resolve().parents[1]
VECTORS_FILE = REPO_ROOT / "docs" / "signing-vectors.json"

SEED = bytes(range(32))  # 000102...1f: a published test seed, never a real key
CLUSTER = "vectors-cluster"
STREAM = 0x1234567  # a sequence is stream << 32 | counter
SIGNED_AT_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

# SettleTrade.buyer_fee is field 6 and seller_fee field 7, both varint: tag bytes 0x30 and 0x38.
# A proto3 writer may omit a zero or write it; protobufjs writes a field set explicitly to 0.
EXPLICIT_ZERO_FEES = b"\x30\x00\x38\x00"


def _command(fields: dict) -> commands_pb2.Command:
    return json_format.ParseDict(fields, commands_pb2.Command())


def _trade_with_explicit_zero_fees(fields: dict) -> bytes:
    """`fields` (a SettleTrade command, fees 0) encoded as protobufjs encodes it: every field in
    number order, the zero fees written out."""
    message = _command(fields)
    inner = message.settle_trade.SerializeToString(deterministic=True) + EXPLICIT_ZERO_FEES
    outer = commands_pb2.Command(id=message.id).SerializeToString(deterministic=True)
    return outer + b"\x6a" + _varint(len(inner)) + inner  # field 13 (settle_trade), length-delimited


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _batch_vector(name: str, key, key_id: str, counter: int, commands: list[tuple[dict, bytes]]) -> dict:
    sequence = STREAM << 32 | counter
    encoded = [data for _, data in commands]
    framed = b"".join(len(data).to_bytes(4, "big") + data for data in encoded)
    digest = commands_digest(encoded)
    message = batch_signing_bytes(CLUSTER, key_id, sequence, SIGNED_AT_MS, digest)
    signature = key.sign(message)
    tail = settlement_pb2.SubmitRequest(key_id=key_id, sequence=sequence, signature=signature, signed_at_ms=SIGNED_AT_MS)
    request = b"".join(b"\x0a" + _varint(len(data)) + data for data in encoded) + tail.SerializeToString(deterministic=True)
    return {
        "name": name,
        "cluster": CLUSTER,
        "key_id": key_id,
        "stream": STREAM,
        "counter": counter,
        "sequence": str(sequence),
        "signed_at_ms": str(SIGNED_AT_MS),
        "commands": [{"fields": fields, "bytes_hex": data.hex()} for fields, data in commands],
        "digest_input_hex": framed.hex(),
        "commands_digest_hex": digest.hex(),
        "message_hex": message.hex(),
        "signature_hex": signature.hex(),
        "request_hex": request.hex(),
    }


def vectors() -> dict:
    key = private_key_from_raw(SEED)
    # `fields` are the command as an object (proto field names, 64-bit integers as strings): a field
    # present with 0 is written out by protobufjs, one absent is not.
    trade = {"id": "trade-1", "settle_trade": {"market": "BTC-PERP", "buyer": "alice", "seller": "bob",
                                                "price": "54600000000", "quantity": "1"}}
    trade_zero_fees = {"id": "trade-1", "settle_trade": dict(trade["settle_trade"], buyer_fee="0", seller_fee="0")}
    fee_trade = {"id": "trade-2", "settle_trade": {"market": "BTC-PERP", "buyer": "bob", "seller": "alice",
                                                    "price": "54610000000", "quantity": "2", "buyer_fee": "1200", "seller_fee": "800"}}
    deposit = {"id": "dep-1", "deposit": {"account": "alice", "amount": "10000000000"}}
    price = {"market": "BTC-PERP", "source": "feed-1", "price": 54_700_000_000, "source_time_ms": SIGNED_AT_MS}
    price_message = price_update_bytes(price["market"], price["source"], price["price"], price["source_time_ms"])
    action = {"cluster": CLUSTER, "domain": "settlement.v1/action", "epoch": 3, "kind": "HALT_MARKET",
              "market": "BTC-PERP", "nonce": 17, "not_after_ms": SIGNED_AT_MS + 300_000}
    vote = {"cluster": CLUSTER, "key_id": "node1", "index": 4_200, "state_hash_hex": bytes(range(32, 64)).hex()}
    vote_message = checkpoint_vote_bytes(vote["cluster"], vote["key_id"], vote["index"], bytes.fromhex(vote["state_hash_hex"]))
    return {
        "about": "Ed25519 test vectors of every message the settlement node verifies; generated by "
                 "python -m cluster.signing_vectors. Integers above 2^53 are strings. Byte strings are hex.",
        "key": {
            "seed_hex": SEED.hex(),
            "public_key_hex": raw_public_key(key).hex(),
            "key_file": SEED.hex() + "\n",
        },
        "batches": [
            _batch_vector("one SettleTrade, fees set explicitly to zero (written as protobufjs writes them)",
                          key, "settler", 1, [(trade_zero_fees, _trade_with_explicit_zero_fees(trade_zero_fees))]),
            _batch_vector("the same SettleTrade encoded without the zero fields (as protobuf's Python and Go write it)",
                          key, "settler", 2, [(trade, _command(trade).SerializeToString(deterministic=True))]),
            _batch_vector("two commands in one batch",
                          key, "settler", 3, [(trade, _command(trade).SerializeToString(deterministic=True)),
                                              (fee_trade, _command(fee_trade).SerializeToString(deterministic=True))]),
            _batch_vector("a custodian's Deposit", key, "custodian", 4,
                          [(deposit, _command(deposit).SerializeToString(deterministic=True))]),
        ],
        "price_updates": [dict(price, price=str(price["price"]), source_time_ms=str(price["source_time_ms"]),
                               message_hex=price_message.hex(), signature_hex=key.sign(price_message).hex())],
        "actions": [{"payload": action, "canonical_json": action_bytes(action).decode(),
                     "message_hex": action_bytes(action).hex(), "signature_hex": key.sign(action_bytes(action)).hex()}],
        "checkpoint_votes": [dict(vote, message_hex=vote_message.hex(), signature_hex=key.sign(vote_message).hex())],
    }


def render() -> str:
    return json.dumps(vectors(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from what this generates")
    parser.add_argument("--out", type=Path, default=VECTORS_FILE)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not args.out.exists() or args.out.read_text() != text:
            print(f"{args.out} is stale: run python -m cluster.signing_vectors", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
