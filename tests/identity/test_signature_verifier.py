"""The verifier handed to the ledger remembers valid signatures, so a leader's second check of a
batch (before logging it, then in apply) is a lookup; remembering changes no answer."""

from __future__ import annotations

import os

from node.identity.keys import private_key_from_seed, raw_public_key, verified_signatures_answered_from_memory, verify_ed25519

KEY = private_key_from_seed("verifier")
PUBLIC = raw_public_key(KEY)


def fresh_message() -> bytes:
    return b"batch " + os.urandom(16)


def test_a_valid_signature_verifies_and_is_remembered():
    message = fresh_message()
    signature = KEY.sign(message)
    # Counted as lookups answered from memory, not as signatures held: the memory is bounded
    # (verified_signatures_kept_max) and may be full when this test runs.
    before = verified_signatures_answered_from_memory()
    assert verify_ed25519(PUBLIC, message, signature)
    assert verified_signatures_answered_from_memory() == before
    assert verify_ed25519(PUBLIC, message, signature)  # the second check: a lookup, the same answer
    assert verified_signatures_answered_from_memory() == before + 1


def test_an_invalid_signature_is_refused_every_time_and_never_remembered():
    message = fresh_message()
    forged = private_key_from_seed("mallory").sign(message)
    before = verified_signatures_answered_from_memory()
    assert not verify_ed25519(PUBLIC, message, forged)
    assert not verify_ed25519(PUBLIC, message, forged)
    assert verified_signatures_answered_from_memory() == before


def test_a_remembered_signature_does_not_vouch_for_another_message():
    message = fresh_message()
    signature = KEY.sign(message)
    assert verify_ed25519(PUBLIC, message, signature)
    assert not verify_ed25519(PUBLIC, message + b"!", signature)
    assert not verify_ed25519(raw_public_key(private_key_from_seed("other")), message, signature)
