"""What a chaos run observed: every request the load made, and what each node holds at the end.

An `Op` is one command as its client saw it: sent at `start_s`, answered (or given up on) at
`end_s` (seconds since the run started), with one of four outcomes:
  ok         acknowledged, the ledger answered OK: it must be applied exactly once;
  refused    acknowledged with a definite ledger code (INSUFFICIENT_COLLATERAL, ...): its dedup
             record must say so and it must have changed nothing;
  rejected   the request was refused as a whole before it was logged (the SDK's SubmitRejected or
             ClusterUnavailable: "nothing was applied"): it must never be applied;
  ambiguous  the outcome is unknown (timeout, lost connection, OutcomeUnknown): applied at most once.
A `NodeView` is one node's final state as the checker needs it, read from its LMDB after the run
(or produced by replaying the committed log through the pure ledger).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

OUTCOMES = ("ok", "refused", "rejected", "ambiguous")


@dataclass(frozen=True, slots=True)
class Op:
    command_id: str
    kind: str  # Deposit, Withdraw, SettleTrade, PriceUpdate
    client: int
    start_s: float
    end_s: float
    outcome: str  # one of OUTCOMES
    code: str = ""  # the ledger's result code (ok, refused), else the error's name
    account: str = ""  # Deposit/Withdraw: the account; SettleTrade: the buyer
    counterparty: str = ""  # SettleTrade: the seller
    market: str = ""
    amount: int = 0  # Deposit/Withdraw amount, SettleTrade quantity, PriceUpdate price
    applied_index: int = 0  # the Raft index of the acknowledging entry (ok, refused)

    def __post_init__(self) -> None:
        assert self.outcome in OUTCOMES, self.outcome


@dataclass(slots=True)
class NodeView:
    node_id: str
    applied_index: int
    state_hash: str  # hex
    dedup: dict[str, str]  # command id -> result code name of its first (only) application
    collateral: dict[str, int]  # account -> collateral
    positions: dict[str, dict[str, int]]  # account -> market -> size
    invariant_error: str = ""  # '' when conservation, zero net position and solvency hold
    error: str = ""  # '' when the view could be read at all
    certificate: dict | None = None  # the newest certified checkpoint this node's ledger records


@dataclass(slots=True)
class FaultRecord:
    kind: str
    start_s: float
    end_s: float
    targets: list[str] = field(default_factory=list)
    detail: str = ""
    leader_lost: bool = False  # the fault took the leader away (its kill, pause, isolation, all nodes)
    recovered_s: float = 0.0  # when, after healing, every node ran again and a leader answered
    stalled: bool = False  # corrupt: the node ran on damaged files without noticing, and got stuck


def write_ops(path: Path, ops: Iterable[Op]) -> None:
    with open(path, "a") as f:
        for op in ops:
            f.write(json.dumps(asdict(op), separators=(",", ":")) + "\n")
        f.flush()


def read_ops(paths: Iterable[Path]) -> list[Op]:
    """Every command's last record. A client writes a command as ambiguous ("pending") before it
    sends it and again with its outcome after, so a client that died mid-request still leaves
    its in-flight commands in the history, as ambiguous."""
    ops: dict[str, Op] = {}
    for path in paths:
        for line in Path(path).read_text().splitlines():
            try:
                op = Op(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a torn last line: the command's pending record stands
            ops[op.command_id] = op
    return list(ops.values())


def iter_kind(ops: Iterable[Op], outcome: str) -> Iterator[Op]:
    return (op for op in ops if op.outcome == outcome)
