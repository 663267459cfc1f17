"""When a node's own view of the guards backs a halt (docs/design.md#node-co-signing: "peers co-sign only if their own
view agrees").

A node co-signs nothing but HALT_MARKET and GLOBAL_HALT: stopping is safe, and a node key that
could approve a resume, a loosening or a settlement would let a compromised node undo a halt.
It agrees only with what its own replica shows, never with what the proposer says, and needs no
configuration, so every honest node answers the same question the same way:

- HALT_MARKET m: m's oracle verdict is not VALID (STALE: too few fresh sources, TOO_VOLATILE: the
  mark far from its average), or a breaker already holds m (HALTED or REDUCE_ONLY for
  PRICE_BAND, BREAKER_GRACE, CASCADE or ORACLE_STALE). Refused for an unknown or settled market
  and for one guardians already halted.
- GLOBAL_HALT: the insurance funds together are below their floor, or some unsettled market's
  oracle is STALE. Refused when guardians already halted the venue.

Before the rule, the action must be one this node's ledger would take now: its cluster, a signer
set holding this node's key as a node key, an unused nonce, a current epoch, and a not_after that
is neither past nor more than the ledger's 15 minutes away (a node never signs an approval that
could be held). The ledger checks all of it again; this only keeps a node's signature off bytes
that cannot be approvals here.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.ledger.fund_equity import funds_equity_total
from node.ledger.commands import ActionKind
from node.ledger.emergency import nonce_key
from node.ledger.governance import ROLE_NODE, policy, signer
from node.ledger.limits import action_lifetime_max_ms, epoch_grace
from node.ledger.policy_params import governed
from node.ledger.records import GlobalMode, GlobalReason, MarketStatus, OracleVerdict, StatusReason
from node.ledger.state import META_CHECKPOINT_EPOCH, META_GLOBAL_MODE, META_GLOBAL_REASON, LedgerState

HALTS = (ActionKind.HALT_MARKET, ActionKind.GLOBAL_HALT)
# The reasons a guard (not a person) holds a market HALTED or REDUCE_ONLY.
BREAKER_REASONS = (StatusReason.PRICE_BAND, StatusReason.BREAKER_GRACE, StatusReason.CASCADE, StatusReason.ORACLE_STALE)


@dataclass(frozen=True, slots=True)
class Verdict:
    agrees: bool
    reason: str  # why it agrees, or why it refuses


def _refuse(reason: str) -> Verdict:
    return Verdict(False, reason)


def cosign_verdict(state: LedgerState, action: dict, key_id: str, public_key: bytes, now_ms: int) -> Verdict:
    """Whether this node (key `key_id`) co-signs `action` (a parsed, well-formed payload).
    `now_ms`: the later of the node's clock and its ledger time."""
    kind = ActionKind[action["kind"]]
    if kind not in HALTS:
        return _refuse(f"a node co-signs only HALT_MARKET and GLOBAL_HALT; a {kind.name} needs guardian signatures")
    problem = _not_takeable(state, action, key_id, public_key, now_ms)
    if problem:
        return _refuse(problem)
    if kind == ActionKind.HALT_MARKET:
        return _market_halt(state, action["market"])
    return _global_halt(state)


def _not_takeable(state: LedgerState, action: dict, key_id: str, public_key: bytes, now_ms: int) -> str | None:
    rules = policy(state)
    if rules is None:
        return "no signer set is installed"
    if action["cluster"] != rules["cluster"]:
        return f"signed for cluster {action['cluster']!r}, this is {rules['cluster']!r}"
    entry = signer(state, key_id)
    if entry is None or entry["role"] != ROLE_NODE or entry["public_key"] != public_key.hex():
        return f"this node's key {key_id} is not a node key of the signer set"
    if nonce_key(action["nonce"]) in state.governance:
        return f"nonce {action['nonce']} was used"
    if now_ms > action["not_after_ms"]:
        return f"expired at {action['not_after_ms']}, it is {now_ms}"
    if action["not_after_ms"] - now_ms > action_lifetime_max_ms:
        return f"valid for more than {action_lifetime_max_ms} ms: a node never signs an approval that could be held"
    epoch = state.meta[META_CHECKPOINT_EPOCH]
    if not epoch - epoch_grace <= action["epoch"] <= epoch:
        return f"signed for epoch {action['epoch']}, the current epoch is {epoch}"
    return None


def _market_halt(state: LedgerState, market_id: str) -> Verdict:
    market = state.markets.get(market_id)
    if market is None:
        return _refuse(f"no market {market_id}")
    if market.status == MarketStatus.SETTLED:
        return _refuse(f"{market_id} is settled")
    if market.status == MarketStatus.SETTLING:  # the ledger refuses it too: nothing trades there already
        return _refuse(f"{market_id} is SETTLING: it settles at its oracle's average after expiry or by EMERGENCY_SETTLE")
    if market.status == MarketStatus.HALTED and market.status_reason == StatusReason.GUARDIAN_HALT:
        return _refuse(f"{market_id} is already halted by guardians")
    if market.oracle_verdict != OracleVerdict.VALID:
        return Verdict(True, f"{market_id}'s oracle verdict is {OracleVerdict(market.oracle_verdict).name}")
    if market.status in (MarketStatus.HALTED, MarketStatus.REDUCE_ONLY) and market.status_reason in BREAKER_REASONS:
        reason = StatusReason(market.status_reason).name
        return Verdict(True, f"{market_id} is {MarketStatus(market.status).name} by its {reason} breaker")
    return _refuse(f"{market_id}'s oracle is VALID and no breaker holds it: this node sees nothing to halt for")


def _global_halt(state: LedgerState) -> Verdict:
    if state.meta[META_GLOBAL_MODE] == GlobalMode.HALTED and state.meta[META_GLOBAL_REASON] == GlobalReason.GUARDIAN_HALT:
        return _refuse("the venue is already halted by guardians")
    equity = funds_equity_total(state)  # judged at the mark, as the ledger's floor judges them
    floor = governed(state, "insurance_fund_floor")
    if equity < floor:
        return Verdict(True, f"the insurance funds' equity ({equity}) is below their floor ({floor})")
    for market_id in sorted(state.markets):
        market = state.markets[market_id]
        if market.status not in (MarketStatus.SETTLED, MarketStatus.SETTLING) and market.oracle_verdict == OracleVerdict.STALE:
            return Verdict(True, f"{market_id}'s oracle is STALE")
    return _refuse("the insurance funds are above their floor and no market is STALE: this node sees nothing to halt for")
