"""TEST-ONLY: a rogue node, to show that one compromised node can neither halt, resume, loosen nor
settle anything (tests/cluster/test_rogue_node.py).

Started by node/main.py only when the process's environment holds SETTLE_TEST_ROGUE_ACTIONS=1
(never a config setting: a config file is copied around, an environment is one process's), and
announced with a loud warning. Every `round_period_ms` the node forges emergency actions with
the one key it holds, its node key:

- HALT_MARKET and GLOBAL_HALT with its own signature, and once more with it twice (one signer
  counts once): BELOW_THRESHOLD;
- HALT_MARKET with a second signature made with its own key under a guardian's key id:
  INVALID_SIGNATURE;
- RESUME_MARKET, a loosening SET_MARKET_PARAMS (open interest cap x2) and EMERGENCY_SETTLE:
  WRONG_ROLE (guardians only);
- replays, under fresh command ids, of the exact bytes and signatures of every genuinely approved
  action it has seen applied (it taps its own apply path, as a compromised node reads its own
  log): NONCE_REUSED.

As leader it appends them straight to the Raft log (replica.submit, skipping the gRPC server);
as follower it sends them to the leader through Submit like any client. Each outcome is one
JSON line in DATA_DIR/rogue.jsonl: {"variant", "forgery", "kind", "code", "message", "index"}.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
from collections import deque
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.client.commands import new_command_id
from node.client.sdk import SettlementClient
from node.codec import Batch, decode_log_entry
from node.config import NodeConfig, load_node_key
from node.keys import new_private_key
from node.ledger.commands import ActionKind, EmergencyAction
from node.ledger.governance import ROLE_GUARDIAN, policy, signer, signer_ids
from node.ledger.records import MarketStatus
from node.ledger.results import ResultCode
from node.ledger.state import META_CHECKPOINT_EPOCH, LedgerState
from node.quorum import action_payload, emergency_action, sign_action
from node.replica.port import Role, SubmitOutcome

log = logging.getLogger("settle.rogue")

ENVIRONMENT_FLAG = "SETTLE_TEST_ROGUE_ACTIONS"
REPORT_FILE_NAME = "rogue.jsonl"
round_period_ms = 250
submit_timeout_s = 5.0
approved_kept_max = 16  # the latest genuinely approved actions replayed every round
action_ttl_ms = 300_000

_running: set[asyncio.Task] = set()  # a reference per task, so none is collected mid-flight


def start_if_asked(config: NodeConfig, replica) -> asyncio.Task | None:
    """Starts the rogue loop when this process's environment asks for it (test fixtures only)."""
    if os.environ.get(ENVIRONMENT_FLAG) != "1":
        return None
    log.warning(
        "TEST-ONLY ROGUE NODE (%s=1): node %s forges emergency actions with its own key and replays "
        "approved ones, to show the cluster refuses them; never run this outside a test", ENVIRONMENT_FLAG, config.node_id,
    )
    task = asyncio.ensure_future(RogueNode(config, replica).run())
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


@dataclasses.dataclass(frozen=True, slots=True)
class Forgery:
    name: str  # what is forged, for the report
    command: EmergencyAction


class RogueNode:
    def __init__(self, config: NodeConfig, replica) -> None:
        self._config = config
        self._replica = replica
        self._key_id = config.node_key_id
        self._key: Ed25519PrivateKey = load_node_key(config) or new_private_key()
        self._approved: deque[EmergencyAction] = deque(maxlen=approved_kept_max)
        self._report = Path(config.data_dir) / REPORT_FILE_NAME
        self._peers = [p.grpc_address for p in config.peers]
        self._tap_apply_path()

    # -- what a compromised node sees: every approved action in its own log ---------------------

    def _tap_apply_path(self) -> None:
        raft = self._replica.raft
        apply_logged = raft._applier

        def tapped(index: int, data: bytes):
            outcome = apply_logged(index, data)
            try:
                self._remember_approved(index, data, outcome)
            except Exception:  # noqa: BLE001 - the tap must never disturb applying
                log.exception("rogue tap failed at index %d", index)
            return outcome

        raft._applier = tapped

    def _remember_approved(self, index: int, data: bytes, outcome) -> None:
        if not isinstance(outcome, SubmitOutcome):
            return
        commands = decode_log_entry(data, index).entry.commands
        results = [r for batch in outcome.results for r in batch]
        for command, result in zip(commands, results):
            if isinstance(command, EmergencyAction) and result.code == ResultCode.OK:
                self._approved.append(command)

    # -- forging --------------------------------------------------------------------------------

    def _forgeries(self, state: LedgerState) -> list[Forgery]:
        rules = policy(state)
        if rules is None:
            return []  # no signer set yet: nothing to attack
        cluster, epoch, now = rules["cluster"], state.meta[META_CHECKPOINT_EPOCH], state.ledger_time_ms
        nonce = int.from_bytes(os.urandom(8), "big") >> 1

        def forge(name: str, kind: ActionKind, key_ids: tuple[str, ...] = (), **fields) -> Forgery:
            nonlocal nonce
            nonce += 1
            payload = action_payload(cluster, kind, nonce, now + action_ttl_ms, epoch, **fields)
            own = sign_action(payload, self._key)
            signatures = [(self._key_id, own)] + [(key_id, own) for key_id in key_ids]
            return Forgery(name, emergency_action(new_command_id("rogue"), payload, signatures))

        forgeries = [forge("global halt, own key", ActionKind.GLOBAL_HALT)]
        guardians = [k for k in signer_ids(state) if signer(state, k)["role"] == ROLE_GUARDIAN]
        for market_id in sorted(state.markets):
            market = state.markets[market_id]
            if market.status == MarketStatus.SETTLED:
                continue
            forgeries += [
                forge("halt, own key", ActionKind.HALT_MARKET, market=market_id),
                Forgery("halt, own key twice", _twice(forge("", ActionKind.HALT_MARKET, market=market_id).command)),
                forge("resume, own key", ActionKind.RESUME_MARKET, market=market_id),
                forge("loosen open interest cap, own key", ActionKind.SET_MARKET_PARAMS, market=market_id,
                      params={"open_interest_cap": market.open_interest_cap * 2 or 1}),
                forge("emergency settle, own key", ActionKind.EMERGENCY_SETTLE, market=market_id,
                      price=market.mark_price or market.tick_size),
            ]
            if guardians:
                forgeries.append(forge("halt, own key posing as a guardian", ActionKind.HALT_MARKET, (guardians[0],), market=market_id))
        forgeries += [
            Forgery(f"replay of approved {c.kind.name} nonce {c.nonce}", dataclasses.replace(c, id=new_command_id("rogue-replay")))
            for c in self._approved
        ]
        return forgeries

    # -- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        client = SettlementClient(self._peers, timeout_s=submit_timeout_s) if self._peers else None
        try:
            while True:
                await asyncio.sleep(round_period_ms / 1000)
                try:
                    await self._round(client)
                except Exception as error:  # noqa: BLE001 - elections, a stopping node: try again
                    log.info("rogue round failed: %r", error)
        finally:
            if client is not None:
                await client.close()

    async def _round(self, client: SettlementClient | None) -> None:
        forgeries, _ = self._replica.read(self._forgeries)
        if not forgeries:
            return
        commands = [f.command for f in forgeries]
        if self._replica.status().role is Role.LEADER:
            outcome = await self._replica.submit([Batch(tuple(commands))], submit_timeout_s)
            variant, results, index = "leader", outcome.results[0], outcome.applied_index
        elif client is not None:
            reply = await client.submit(commands)
            variant, results, index = "follower", reply.results, reply.applied_index
        else:
            return
        with self._report.open("a") as f:
            for forgery, result in zip(forgeries, results):
                f.write(json.dumps({
                    "variant": variant, "forgery": forgery.name, "kind": forgery.command.kind.name,
                    "code": ResultCode(result.code).name, "message": result.message, "index": index,
                }) + "\n")


def _twice(command: EmergencyAction) -> EmergencyAction:
    """The same signature listed twice: one signer must count once."""
    return dataclasses.replace(command, signatures=command.signatures * 2)
