"""The verdict on a chaos run: pure functions of the history and the nodes' final views.

Rules (ISSUE 7), each a named violation kind:
  divergent                nodes disagree on applied index or state hash;
  invariant                a node's state breaks conservation, zero net position or solvency;
  lost                     an acknowledged command (ok or refused) has no dedup record on a node,
                           or its applied effect is missing from the balances;
  result_changed           a node recorded another result than the client was given;
  applied_after_rejection  a command refused with a definite code took effect (its dedup record
                           says OK though the client was told otherwise, or a request the SDK said
                           was never logged has a dedup record);
  duplicated               a command's effect is in the balances more often than it was applied
                           (balances are checked against a model built from the dedup records:
                           custody accounts only ever receive deposits and withdrawals, so their
                           collateral is exactly sum(OK deposits) - sum(OK withdrawals); every
                           position is exactly the sum of its OK fills);
  replay_mismatch          the balances and hash differ from a replay of the committed log through
                           the pure ledger.
An ambiguous command may or may not have been applied; the balance model catches one applied
twice. The first violation found (in the order above, then by op) is the verdict's reason.

The fates are read from the nodes' dedup records, which the ledger forgets `dedup_retention_ms`
after they were written (node/ledger/retention.py): a run must end within the retention, or a
forgotten acknowledged write would read as lost (`retention_problem`; the harness refuses such a
run before it starts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from cluster.chaos.history import NodeView, Op

violation_kinds = ("not_converged", "divergent", "invariant", "lost", "result_changed", "applied_after_rejection",
                   "duplicated", "replay_mismatch")
details_max = 20  # violations kept per kind in the report (all are counted)


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    detail: str


@dataclass
class Verdict:
    violations: list[Violation] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def passed(self) -> bool:
        return not self.violations

    @property
    def first(self) -> Violation | None:
        return self.violations[0] if self.violations else None

    def add(self, kind: str, detail: str) -> None:
        assert kind in violation_kinds, kind
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if sum(1 for v in self.violations if v.kind == kind) < details_max:
            self.violations.append(Violation(kind, detail))

    def summary_counts(self) -> dict[str, int]:
        """lost, duplicated, divergent (each must be 0) and every other kind."""
        return {kind: self.counts.get(kind, 0) for kind in violation_kinds}


def retention_problem(dedup_retention_ms: int, run_s_max: float) -> str | None:
    """Why this checker could not judge a run lasting up to `run_s_max` seconds under the policy's
    `dedup_retention_ms` (None: every dedup record outlives the run)."""
    if dedup_retention_ms <= run_s_max * 1000:
        return (f"the policy's dedup_retention_ms ({dedup_retention_ms}) is not longer than the run can last "
                f"({run_s_max:.0f} s): the ledger would forget dedup records the checker reads, and call their "
                f"acknowledged writes lost")
    return None


def _is_custody(op: Op) -> bool:
    return op.kind in ("Deposit", "Withdraw")


def _check_agreement(views: list[NodeView], verdict: Verdict) -> None:
    reference = views[0]
    for view in views[1:]:
        if (view.applied_index, view.state_hash) != (reference.applied_index, reference.state_hash):
            verdict.add("divergent", f"{view.node_id} at index {view.applied_index} hash {view.state_hash[:16]} vs "
                                     f"{reference.node_id} at index {reference.applied_index} hash {reference.state_hash[:16]}")


def _check_fates(ops: list[Op], view: NodeView, verdict: Verdict) -> None:
    for op in ops:
        recorded = view.dedup.get(op.command_id)
        if op.outcome in ("ok", "refused"):
            if recorded is None:
                verdict.add("lost", f"{op.command_id} ({op.kind}, acknowledged {op.code} at index {op.applied_index}) "
                                    f"has no record on {view.node_id}")
            elif recorded != op.code:
                kind = "applied_after_rejection" if op.outcome == "refused" and recorded == "OK" else "result_changed"
                verdict.add(kind, f"{op.command_id} ({op.kind}) was answered {op.code} but {view.node_id} recorded {recorded}")
        elif op.outcome == "rejected" and recorded is not None:
            verdict.add("applied_after_rejection", f"{op.command_id} ({op.kind}) was rejected ({op.code}: never logged) "
                                                   f"but {view.node_id} recorded {recorded}")


def _expected_balances(ops: list[Op], view: NodeView) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Custody collateral and every position, from the ops this node's dedup says were applied OK."""
    collateral: dict[str, int] = defaultdict(int)
    positions: dict[tuple[str, str], int] = defaultdict(int)
    for op in ops:
        if view.dedup.get(op.command_id) != "OK":
            continue
        if op.kind == "Deposit":
            collateral[op.account] += op.amount
        elif op.kind == "Withdraw":
            collateral[op.account] -= op.amount
        elif op.kind == "SettleTrade":
            positions[(op.account, op.market)] += op.amount
            positions[(op.counterparty, op.market)] -= op.amount
    return collateral, positions


def _explain(difference: int, candidates: list[Op]) -> str:
    """Which applied command would account for a balance off by `difference`, if one does."""
    for op in candidates:
        if op.amount == abs(difference):
            return f" (as if {op.command_id}, {op.outcome}, applied twice)" if difference > 0 else \
                f" (as if {op.command_id}'s effect, {op.outcome}, were missing)"
    return ""


def _check_balances(ops: list[Op], view: NodeView, verdict: Verdict) -> None:
    collateral, positions = _expected_balances(ops, view)
    by_account: dict[str, list[Op]] = defaultdict(list)
    for op in ops:
        if view.dedup.get(op.command_id) == "OK":
            by_account[op.account].append(op)
            if op.counterparty:
                by_account[op.counterparty].append(op)
    custody_accounts = {op.account for op in ops if _is_custody(op)}
    for account in sorted(custody_accounts):
        held = view.collateral.get(account, 0)
        expected = collateral.get(account, 0)
        if held != expected:
            deposits = [op for op in by_account[account] if op.kind == "Deposit"]
            kind = "duplicated" if held > expected else "lost"
            verdict.add(kind, f"{view.node_id}: account {account} holds {held}, its applied deposits and withdrawals "
                              f"make {expected}{_explain(held - expected, deposits)}")
    traders = {a for op in ops if op.kind == "SettleTrade" for a in (op.account, op.counterparty)}
    traded = set(positions) | {(a, m) for a in traders for m in view.positions.get(a, {})}
    for account, market in sorted(traded):
        held = view.positions.get(account, {}).get(market, 0)
        expected = positions.get((account, market), 0)
        if held != expected:
            fills = [op for op in by_account[account] if op.kind == "SettleTrade"]
            kind = "duplicated" if abs(held) > abs(expected) else "lost"
            difference = abs(held - expected) if kind == "duplicated" else -abs(held - expected)
            verdict.add(kind, f"{view.node_id}: {account} holds {held} of {market}, its applied fills make "
                              f"{expected}{_explain(difference, fills)}")


def _check_replay(views: list[NodeView], replay: NodeView, verdict: Verdict) -> None:
    for view in views:
        if (view.applied_index, view.state_hash) != (replay.applied_index, replay.state_hash):
            verdict.add("replay_mismatch", f"{view.node_id} at index {view.applied_index} hash {view.state_hash[:16]}, "
                                           f"the replayed log at {replay.applied_index} hash {replay.state_hash[:16]}")
        elif view.collateral != replay.collateral or view.positions != replay.positions:
            verdict.add("replay_mismatch", f"{view.node_id}: balances differ from the replayed log's")


def check(ops: list[Op], views: list[NodeView], replay: NodeView | None = None, converged: bool = True,
          replay_note: str = "") -> Verdict:
    """The verdict on a run: `ops` (every client's history), `views` (each node's final state),
    `replay` (the committed log replayed through the pure ledger; None: `replay_note` says why)."""
    verdict = Verdict()
    if not converged:
        verdict.add("not_converged", "the nodes did not reach one applied index and hash within the bound")
    readable = [view for view in views if not view.error]
    for view in views:
        if view.error:
            verdict.add("divergent", f"{view.node_id}: its state could not be read: {view.error}")
    if not readable:
        return verdict
    _check_agreement(readable, verdict)
    for view in readable:
        if view.invariant_error:
            verdict.add("invariant", f"{view.node_id}: {view.invariant_error}")
    definite = [op for op in ops if op.outcome != "ambiguous"]
    for view in readable:
        _check_fates(definite, view, verdict)
        _check_balances(ops, view, verdict)
    if replay is not None:
        _check_replay(readable, replay, verdict)
    else:
        verdict.notes.append(f"replay check skipped: {replay_note or 'no replay'}")
    # Order: the kinds in violation_kinds order, so the reason shown is the most basic one.
    verdict.violations.sort(key=lambda v: violation_kinds.index(v.kind))
    return verdict
