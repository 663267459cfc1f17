"""What signed batches cost a replica: decode + verify + apply, signed vs unsigned, per batch size.

    python -m cluster.bench.batch_signatures [--trades 20000] [--accounts 2000] [--repeats 3]

Every replica checks each submitted batch once (docs/design.md#access-control): it recomputes the
SHA-256 digest of the logged commands' bytes, verifies one Ed25519 signature and updates one replay
window. The same trades are replayed through the replica's path (LogEntry bytes -> decode ->
apply) twice: on a ledger without a signer set (batches are not checked) and on one with a signer
set, every batch signed by the settler key, alternating, best of --repeats each. Reported per
batch size (1 and 1,000 commands): trades per second both ways, the overhead per batch in microseconds and the share it takes. Prints one
JSON object; not a test, the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

from cluster.ledger_workload import MARKETS, START_PRICES, account_id, opening_entries
from node.codec.batch import Batch, SignedBatch, commands_digest, encode_commands
from node.codec.log import decode_log_entry, log_entry_to_bytes
from node.identity.keys import private_key_from_seed, verify_ed25519
from node.identity.quorum import action_payload, signed_action, signer_entry_for
from node.ledger import LedgerState, apply
from node.ledger.commands import ActionKind, BatchSignature, LogEntry, SettleTrade
from node.ledger.signed_batches import batch_signing_bytes
from node.runtime import tune_garbage_collector

CLUSTER = "bench"
KEYS = {key_id: private_key_from_seed(f"bench {key_id}") for key_id in ("custodian", "guardian", "node", "operator", "oracle", "settler")}
POLICY = {"halt_threshold": 1, "resume_threshold": 1, "checkpoint_threshold": 1, "timelock_ms": 0,
          "checkpoint_every_entries": 10**9, "checkpoint_every_ms": 10**12, "clock_lead_max_ms": 10**12,
          "dedup_retention_ms": 10**12}
ROLE_OF = {"CreateMarket": "operator", "Deposit": "custodian", "PriceUpdate": "oracle", "SettleTrade": "settler"}


def _signed(commands: tuple, sequence: int, signed_at_ms: int) -> SignedBatch:
    key_id = ROLE_OF[type(commands[0]).__name__]
    digest = commands_digest(encode_commands(commands))
    signature = KEYS[key_id].sign(batch_signing_bytes(CLUSTER, key_id, sequence, signed_at_ms, digest))
    return SignedBatch(key_id, sequence, signature, signed_at_ms)


def _governed_state(accounts: int) -> LedgerState:
    """A ledger with the bench signer set and the opening (markets, deposits, marks), signed."""
    state = LedgerState()
    signers = sorted((signer_entry_for(k, k, key) for k, key in KEYS.items()), key=lambda e: e["key_id"])
    genesis = signed_action("genesis", action_payload(CLUSTER, ActionKind.SET_SIGNERS, 1, 10**13, 0, signers=signers, policy=POLICY), KEYS)
    apply(state, LogEntry(1, 1_699_999_999_000, (genesis,)), verify_ed25519)
    sequence = 0
    for entry in opening_entries(accounts):
        batches = []
        run: list = []
        for command in entry.commands + (None,):
            if run and (command is None or ROLE_OF[type(command).__name__] != ROLE_OF[type(run[0]).__name__]):
                sequence += 1
                batches.append(Batch(tuple(run), _signed(tuple(run), sequence, entry.timestamp_ms)))
                run = []
            if command is not None:
                run.append(command)
        index = state.applied_index + 1
        apply(state, decode_log_entry(log_entry_to_bytes(entry.timestamp_ms, batches), index).entry, verify_ed25519)
    return state


def _plain_state(accounts: int) -> LedgerState:
    state = LedgerState()
    for entry in opening_entries(accounts):
        apply(state, LogEntry(state.applied_index + 1, entry.timestamp_ms, entry.commands), verify_ed25519)
    return state


def _trades(count: int, accounts: int, seed: int) -> list[SettleTrade]:
    rng = random.Random(seed)
    trades = []
    for k in range(count):
        market = MARKETS[k % len(MARKETS)]
        buyer, seller = rng.sample(range(accounts), 2)
        price = START_PRICES[market] + rng.randrange(-20, 21) * 1_000
        trades.append(SettleTrade(f"t{k}", market, account_id(buyer), account_id(seller), price, rng.randrange(1, 5), 10, 10))
    return trades


def _entries(trades: list[SettleTrade], batch: int, signed: bool, start_ms: int) -> list[bytes]:
    """The log's bytes: one batch per entry (stream 1 of the settler key when signed)."""
    entries = []
    for n, start in enumerate(range(0, len(trades), batch)):
        commands = tuple(trades[start:start + batch])
        seal = _signed(commands, (1 << 32) | (n + 1), start_ms + n) if signed else SignedBatch()
        entries.append(log_entry_to_bytes(start_ms + n, [Batch(commands, seal)]))
    return entries


def _replay(state: LedgerState, entries: list[bytes]) -> float:
    """Seconds to decode and apply every entry, as a replica does."""
    started = time.perf_counter()
    for data in entries:
        apply(state, decode_log_entry(data, state.applied_index + 1).entry, verify_ed25519)
    return time.perf_counter() - started


def _component_costs_us(trades: list[SettleTrade], batch: int, samples: int = 200) -> dict:
    """Digest and verification alone, per batch (microseconds)."""
    commands = encode_commands(trades[:batch])
    key = KEYS["settler"]
    digest = commands_digest(commands)
    message = batch_signing_bytes(CLUSTER, "settler", 1, 0, digest)
    signature = key.sign(message)
    public = key.public_key().public_bytes_raw()
    started = time.perf_counter()
    for _ in range(samples):
        commands_digest(commands)
    digest_us = (time.perf_counter() - started) / samples * 1e6
    started = time.perf_counter()
    for _ in range(samples):
        verify_ed25519(public, message, signature)
    verify_us = (time.perf_counter() - started) / samples * 1e6
    return {"digest_us": round(digest_us, 1), "verify_us": round(verify_us, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trades", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tune_garbage_collector()
    trades = _trades(args.trades, args.accounts, args.seed)
    report: dict = {"bench": "batch_signatures", "python": platform.python_version(), "trades": args.trades, "by_batch": {}}
    for batch in (1, 1_000):
        count = len(trades) if batch > 1 else min(len(trades), 5_000)  # batch 1: one entry per trade
        unsigned_s = signed_s = float("inf")
        for _ in range(args.repeats):  # alternating, best of each: a shared machine's noise is one-sided
            plain, governed = _plain_state(args.accounts), _governed_state(args.accounts)
            start_ms = max(plain.ledger_time_ms, governed.ledger_time_ms) + 1_000
            unsigned_s = min(unsigned_s, _replay(plain, _entries(trades[:count], batch, False, start_ms)))
            signed_s = min(signed_s, _replay(governed, _entries(trades[:count], batch, True, start_ms)))
        batches = -(-count // batch)
        report["by_batch"][str(batch)] = {
            "trades": count,
            "unsigned_trades_per_s": round(count / unsigned_s),
            "signed_trades_per_s": round(count / signed_s),
            "overhead_us_per_batch": round((signed_s - unsigned_s) / batches * 1e6, 1),
            "overhead_share": round((signed_s - unsigned_s) / signed_s, 4),
            **_component_costs_us(trades, batch),
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
