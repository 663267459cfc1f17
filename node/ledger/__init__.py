"""The pure, deterministic ledger: apply(state, entry) -> results. Standard library only."""

from .apply import HANDLERS, EntryOutcome, apply
from .commands import LogEntry
from .invariants import LedgerInvariantError, check_full
from .results import Result, ResultCode
from .state import INSURANCE_FUND, LedgerState

__all__ = [
    "HANDLERS", "EntryOutcome", "apply", "LogEntry", "LedgerInvariantError", "check_full",
    "Result", "ResultCode", "INSURANCE_FUND", "LedgerState",
]
