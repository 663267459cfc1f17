"""Test keys and a signer set for the quorum specs: three nodes and three guardians.

halt threshold 2 (nodes or guardians), resume threshold 2 (guardians only), checkpoint threshold
2 of the 3 node keys, a 60 s timelock, a checkpoint due every 10 entries or 60 s; three custodian
keys (custodian-1, the driver's submitter, and two more) for the custody quorum (default 2)."""

from __future__ import annotations

from node.identity.keys import private_key_from_seed
from node.identity.quorum import action_payload, signed_action, signer_entry_for
from node.ledger.commands import ActionKind

from .driver import SUBMITTERS, LedgerDriver, listed_market_with_traders

CLUSTER = "test-cluster"
NODES = {f"node-{i}": private_key_from_seed(f"node key {i}") for i in (1, 2, 3)}
GUARDIANS = {f"guardian-{i}": private_key_from_seed(f"guardian key {i}") for i in (1, 2, 3)}
CUSTODIANS = {
    "custodian-1": SUBMITTERS["custodian"][1],
    **{f"custodian-{i}": private_key_from_seed(f"custodian key {i}") for i in (2, 3)},
}
ALL_KEY_IDS = {*NODES, *GUARDIANS, *CUSTODIANS}
POLICY = {
    "halt_threshold": 2, "resume_threshold": 2, "checkpoint_threshold": 2, "timelock_ms": 60_000,
    "checkpoint_every_entries": 10, "checkpoint_every_ms": 60_000, "clock_lead_max_ms": 30 * 86_400_000,
    "dedup_retention_ms": 30 * 86_400_000,
}
SIGNERS = sorted(
    [signer_entry_for(k, "node", key) for k, key in NODES.items()]
    + [signer_entry_for(k, "guardian", key) for k, key in GUARDIANS.items()]
    + [signer_entry_for(k, "custodian", key) for k, key in CUSTODIANS.items()]
    + [signer_entry_for(key_id, role, key) for role, (key_id, key) in SUBMITTERS.items() if key_id not in ALL_KEY_IDS],
    key=lambda e: e["key_id"],
)
ALL_KEYS = {**NODES, **GUARDIANS, **CUSTODIANS, **{key_id: key for key_id, key in SUBMITTERS.values()}}  # genesis: every key signs


class Governed:
    """A driver with the signer set installed and helpers to build signed actions."""

    def __init__(self, driver: LedgerDriver) -> None:
        self.driver = driver
        self.nonce = 100

    def payload(self, kind: ActionKind, ttl_ms: int = 300_000, epoch: int | None = None, **fields) -> dict:
        self.nonce += 1
        now = self.driver.time_ms + 1_000  # the next entry's time
        current = self.driver.state.meta["checkpoint_epoch"]
        return action_payload(CLUSTER, kind, self.nonce, now + ttl_ms, current if epoch is None else epoch, **fields)

    def act(self, payload: dict, *key_ids: str):
        keys = {k: ALL_KEYS[k] for k in key_ids}
        return self.driver.one(signed_action(self.driver.next_id("act"), payload, keys))


def genesis_payload(nonce: int = 1, not_after_ms: int = 10**13) -> dict:
    return action_payload(CLUSTER, ActionKind.SET_SIGNERS, nonce, not_after_ms, 0, signers=SIGNERS, policy=POLICY)


def governed_market() -> Governed:
    driver = listed_market_with_traders()
    result = driver.one(signed_action("genesis", genesis_payload(), ALL_KEYS))
    assert result.ok, result
    return Governed(driver)
