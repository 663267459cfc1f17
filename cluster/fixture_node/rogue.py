"""TEST-ONLY: a rogue node, to show that one compromised node can neither halt, resume, loosen nor
settle anything (tests/cluster/test_rogue_node.py).

Started only by the test fixture node (`python -m cluster.fixture_node --rogue`, never by
`settle-node`), beside the node once it serves, and announced with a loud warning. Every `round_period_ms` the node forges emergency actions with
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

Those go in a batch it signs with its node key (a node may submit emergency actions). As leader
it also writes raw log entries no honest leader would (docs/design.md#access-control):

- a Withdraw of the richest trader's collateral: unsigned (UNSIGNED_BATCH), signed with its own
  node key (WRONG_ROLE), and under the custodian's key id with its own signature
  (INVALID_SIGNATURE);
- an honest settler's signed trade batch taken from its log with the quantity changed
  (INVALID_SIGNATURE), and the same batch replayed unchanged (DUPLICATE: dedup answers it,
  nothing changes);
- once, an entry stamped a day ahead of its clock: the ledger holds time to the newest
  submitter-signed clock plus the policy's clock_lead_max_ms ("clock", with the ledger time).

As leader it appends them straight to the Raft log (skipping the gRPC server); as follower it
sends the action batch to the leader through Submit like any client. Each outcome is one JSON
line in DATA_DIR/rogue.jsonl: {"variant", "forgery", "kind", "code", "message", "index"}.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import logging
import os
import time
from collections import deque
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.api.settlement.v1 import commands_pb2, log_pb2
from node.client.commands import new_command_id
from node.client.sdk import SettlementClient
from node.codec import decode_log_entry
from node.codec.batch import commands_digest
from node.codec.commands import command_to_proto
from node.identity.batch_signing import batch_to_send
from node.codec.log import LOG_ENTRY_VERSION
from node.config import NodeConfig, load_node_key
from node.identity.credentials import ClientIdentity, SigningKey
from node.identity.keys import new_private_key
from node.identity.quorum import action_payload, emergency_action, sign_action
from node.ledger.commands import ActionKind, EmergencyAction
from node.ledger.governance import ROLE_CUSTODIAN, ROLE_GUARDIAN, ROLE_NODE, policy, signer, signer_ids
from node.ledger.records import MarketStatus
from node.ledger.results import ResultCode
from node.ledger.signed_batches import batch_signing_bytes
from node.ledger.state import META_CHECKPOINT_EPOCH, LedgerState, is_fund
from node.replica.port import Role, SubmitOutcome
from node.tls.client import node_client_tls

log = logging.getLogger("settle.rogue")

REPORT_FILE_NAME = "rogue.jsonl"
round_period_ms = 250
submit_timeout_s = 5.0
approved_kept_max = 16  # the latest genuinely approved actions replayed every round
action_ttl_ms = 300_000
clock_jump_ms = 86_400_000  # the one far-future stamp: a day ahead
rogue_stream = 0x5EED  # the sequence stream of the rogue's own signed batches

_running: set[asyncio.Task] = set()  # a reference per task, so none is collected mid-flight


def start_rogue(config: NodeConfig, replica) -> asyncio.Task:
    """Starts the rogue loop beside the node (cluster/fixture_node --rogue)."""
    log.warning(
        "TEST-ONLY ROGUE NODE: node %s forges emergency actions with its own key and replays "
        "approved ones, to show the cluster refuses them; never run this outside a test", config.node_id,
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
        self._honest_trade: log_pb2.SubmittedBatch | None = None  # the latest signed trade batch applied
        self._sequence = 0
        self._jumped_clock = False
        self._report = Path(config.data_dir) / REPORT_FILE_NAME
        self._peers = [p.grpc_address for p in config.peers]
        self._identity = ClientIdentity(self._key_id, (SigningKey(self._key_id, ROLE_NODE, self._key),),
                                        tls=node_client_tls(config), cluster=config.cluster_id)
        self._tap_apply_path()

    # -- what a compromised node sees: every approved action in its own log ---------------------

    def _tap_apply_path(self) -> None:
        raft = self._replica.raft
        apply_logged = raft.applier

        def remember(index: int, data: bytes, outcome) -> None:
            try:
                self._remember_approved(index, data, outcome)
            except Exception:  # noqa: BLE001 - the tap must never disturb applying
                log.exception("rogue tap failed at index %d", index)

        def tapped(index: int, data: bytes):
            outcome = apply_logged(index, data)  # a Future: the apply thread applies it later
            if isinstance(outcome, concurrent.futures.Future):
                outcome.add_done_callback(lambda done: remember(index, data, done.result()))
            else:
                remember(index, data, outcome)
            return outcome

        raft.applier = tapped

    def _remember_approved(self, index: int, data: bytes, outcome) -> None:
        if not isinstance(outcome, SubmitOutcome):
            return
        commands = decode_log_entry(data, index).entry.commands
        results = [r for batch in outcome.results for r in batch]
        for command, result in zip(commands, results):
            if isinstance(command, EmergencyAction) and result.code == ResultCode.OK:
                self._approved.append(command)
        for batch, batch_results in zip(log_pb2.LogEntry.FromString(data).batches, outcome.results):
            if batch.key_id and batch.commands and all(_command(c).HasField("settle_trade") for c in batch.commands) \
                    and all(r.code == ResultCode.OK for r in batch_results):
                self._honest_trade = batch

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

    def _forged_batches(self, state: LedgerState) -> list[tuple[str, log_pb2.SubmittedBatch]]:
        """Raw batches only a leader can put in the log: a Withdraw nobody signed, signed by the
        wrong role or under another key's id; an honest trade batch altered, and replayed."""
        rules = policy(state)
        traders = [(a.collateral, k) for k, a in state.accounts.items() if not is_fund(k) and a.collateral > 0]
        if rules is None or not traders:
            return []
        victim = max(traders)[1]
        custodians = [k for k in signer_ids(state) if signer(state, k)["role"] == ROLE_CUSTODIAN]

        def withdraw() -> list[commands_pb2.Command]:
            return [commands_pb2.Command(id=new_command_id("rogue-withdraw"), withdraw=commands_pb2.Withdraw(
                account=victim, amount=state.accounts[victim].collateral))]

        forged = [
            ("withdraw, unsigned", batch_to_send(withdraw())),
            ("withdraw, own node key", self._signed(rules["cluster"], self._key_id, withdraw())),
        ]
        if custodians:
            forged.append(("withdraw, posing as the custodian", self._signed(rules["cluster"], custodians[0], withdraw())))
        honest = self._honest_trade
        if honest is not None:
            altered = log_pb2.SubmittedBatch()
            altered.CopyFrom(honest)
            first = _command(altered.commands[0])
            first.settle_trade.quantity += 1_000
            altered.commands[0] = first.SerializeToString()
            forged += [("altered trade", altered), ("replayed trade batch", honest)]
        return forged

    def _signed(self, cluster: str, key_id: str, commands: list[commands_pb2.Command]) -> log_pb2.SubmittedBatch:
        """A batch signed with the rogue's own key, under `key_id`."""
        self._sequence += 1
        sequence = rogue_stream << 32 | self._sequence
        signed_at = time.time_ns() // 1_000_000
        batch = batch_to_send(commands)
        message = batch_signing_bytes(cluster, key_id, sequence, signed_at, commands_digest(batch.commands))
        batch.key_id, batch.sequence, batch.signed_at_ms, batch.signature = key_id, sequence, signed_at, self._key.sign(message)
        return batch

    async def _append_raw(self, batches: list[log_pb2.SubmittedBatch], stamp_ms: int) -> SubmitOutcome:
        """Writes an entry of the rogue's making straight into the Raft log and waits for it."""
        data = log_pb2.LogEntry(version=LOG_ENTRY_VERSION, timestamp_ms=stamp_ms, batches=batches).SerializeToString()
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(result) -> None:
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(result))

        def on_applied(result, error):  # pysyncobj's tick thread: result is the Future of the outcome
            if isinstance(result, concurrent.futures.Future):
                result.add_done_callback(lambda done: settle(done.result()))
            else:
                settle(result)

        self._replica.raft.apply_entry(data, callback=on_applied)
        outcome = await asyncio.wait_for(future, submit_timeout_s)
        if not isinstance(outcome, SubmitOutcome):
            raise RuntimeError(f"raw entry not applied: {outcome!r}")
        return outcome

    # -- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        client = SettlementClient(self._peers, timeout_s=submit_timeout_s, identity=self._identity) if self._peers else None
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
        records: list[dict] = []
        if self._replica.status().role is Role.LEADER:
            rules, _ = self._replica.read(policy)
            action_batch = self._signed(rules["cluster"], self._key_id, [command_to_proto(c) for c in commands])
            forged, _ = self._replica.read(self._forged_batches)
            now = time.time_ns() // 1_000_000
            outcome = await self._append_raw([action_batch] + [batch for _, batch in forged], now)
            variant, results, index = "leader", outcome.results[0], outcome.applied_index
            for (name, batch), batch_results in zip(forged, outcome.results[1:]):
                kind = _command(batch.commands[0]).WhichOneof("kind")
                records += [{"variant": variant, "forgery": name, "kind": kind, "code": ResultCode(r.code).name,
                             "message": r.message, "index": index} for r in batch_results]
            if not self._jumped_clock:
                self._jumped_clock = True
                jump = await self._append_raw([], now + clock_jump_ms)
                ledger_time, _ = self._replica.read(lambda state: state.ledger_time_ms)
                records.append({"variant": variant, "forgery": "clock a day ahead", "kind": "clock", "code": "CLAMPED",
                                "message": f"stamped {now + clock_jump_ms}, ledger time {ledger_time}",
                                "stamped_ms": now + clock_jump_ms, "ledger_time_ms": ledger_time, "index": jump.applied_index})
        elif client is not None:
            reply = await client.submit(commands)
            variant, results, index = "follower", reply.results, reply.applied_index
        else:
            return
        records = [{
            "variant": variant, "forgery": forgery.name, "kind": forgery.command.kind.name,
            "code": ResultCode(result.code).name, "message": result.message, "index": index,
        } for forgery, result in zip(forgeries, results)] + records
        with self._report.open("a") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")


def _command(encoded: bytes) -> commands_pb2.Command:
    """A logged command's bytes as a protobuf Command."""
    return commands_pb2.Command.FromString(encoded)


def _twice(command: EmergencyAction) -> EmergencyAction:
    """The same signature listed twice: one signer must count once."""
    return dataclasses.replace(command, signatures=command.signatures * 2)
