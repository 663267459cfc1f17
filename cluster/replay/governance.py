"""The replay's own signer set, for scenarios with backstops: registering a backstop liquidity
provider is a guardian-quorum action (node/ledger/backstop.py), and once a signer set is installed
the ledger refuses unsigned batches, so the replay then signs every batch as its submitter would.

Every key is derived from a public seed (`replay:<key id>`): for backtests only, never for money.
The policy puts checkpoints out of reach (nothing votes in a replay) and lets ledger time follow
the price series' gaps (clock_lead_max_ms, dedup_retention_ms: 400 days).
"""

from __future__ import annotations

from node.codec.batch import commands_digest, encode_commands
from node.identity.keys import private_key_from_seed
from node.identity.quorum import action_payload, signed_action, signer_entry_for
from node.ledger.commands import (
    ActionKind,
    BatchSignature,
    Command,
    CreateMarket,
    Deposit,
    EmergencyAction,
    PriceUpdate,
    SettleTrade,
    Withdraw,
)
from node.ledger.signed_batches import batch_signing_bytes

CLUSTER = "replay"
_ROLES = {"guardian-1": "guardian", "guardian-2": "guardian", "guardian-3": "guardian", "node-1": "node",
          "settler": "settler", "custodian": "custodian", "oracle": "oracle", "operator": "operator"}
KEYS = {key_id: private_key_from_seed(f"replay:{key_id}") for key_id in _ROLES}
_SUBMITTER = {SettleTrade: "settler", Deposit: "custodian", Withdraw: "custodian", PriceUpdate: "oracle",
              CreateMarket: "operator", EmergencyAction: "guardian-1"}
_DAY_MS = 86_400_000
POLICY = {
    "halt_threshold": 2, "resume_threshold": 2, "checkpoint_threshold": 1, "timelock_ms": 60_000,
    "checkpoint_every_entries": 2**62, "checkpoint_every_ms": 2**62,
    "clock_lead_max_ms": 400 * _DAY_MS, "dedup_retention_ms": 400 * _DAY_MS,
}
_action_ttl_ms = 600_000


def genesis(now_ms: int) -> EmergencyAction:
    signers = sorted((signer_entry_for(k, role, KEYS[k]) for k, role in _ROLES.items()), key=lambda e: e["key_id"])
    payload = action_payload(CLUSTER, ActionKind.SET_SIGNERS, 1, now_ms + _action_ttl_ms, 0, signers=signers, policy=POLICY)
    return signed_action("replay-genesis", payload, KEYS)


def register_backstop(command_id: str, nonce: int, now_ms: int, market: str, account: str, discount_bps: int,
                      position_max: int) -> EmergencyAction:
    payload = action_payload(CLUSTER, ActionKind.REGISTER_BACKSTOP, nonce, now_ms + _action_ttl_ms, 0, market=market,
                             account=account, discount_bps=discount_bps, position_max=position_max)
    return signed_action(command_id, payload, {k: KEYS[k] for k in ("guardian-1", "guardian-2")})


class BatchSigner:
    """Signs an entry's commands as one batch per run of commands of one submitter."""

    def __init__(self) -> None:
        self.sequences: dict[str, int] = {}

    def batches(self, commands: list[Command], signed_at_ms: int) -> tuple[BatchSignature, ...]:
        runs: list[list[Command]] = []
        for command in commands:
            if runs and _SUBMITTER[type(runs[-1][0])] == _SUBMITTER[type(command)]:
                runs[-1].append(command)
            else:
                runs.append([command])
        return tuple(self._sign(run, signed_at_ms) for run in runs)

    def _sign(self, commands: list[Command], signed_at_ms: int) -> BatchSignature:
        key_id = _SUBMITTER[type(commands[0])]
        sequence = self.sequences[key_id] = self.sequences.get(key_id, 0) + 1
        digest = commands_digest(encode_commands(commands))
        signature = KEYS[key_id].sign(batch_signing_bytes(CLUSTER, key_id, sequence, signed_at_ms, digest))
        return BatchSignature(len(commands), key_id, sequence, signed_at_ms, signature, digest)
