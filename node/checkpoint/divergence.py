"""The fence: once a node knows its state is not the cluster's, it serves nothing.

Two findings trip it, both at once, on whichever thread makes them: a certified checkpoint whose
hash differs from this node's own hash at that index (its ledger computed something else), and a
store check whose stored records differ from memory (its disk holds something else). Either way
a balance this node would answer is one it cannot vouch for. The first finding is kept (later
ones only add to the log); the fence is lifted only by a restart, after recovery.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("settle.checkpoint")


@dataclass(frozen=True, slots=True)
class Divergence:
    index: int  # the checkpoint index at which it was found
    reason: str
    detected_at_s: float  # wall clock, for the operator

    def __str__(self) -> str:
        return f"at checkpoint {self.index}: {self.reason}"


class Fence:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._divergence: Divergence | None = None

    @property
    def divergence(self) -> Divergence | None:
        return self._divergence

    def trip(self, index: int, reason: str) -> bool:
        """Fences the node; True the first time (the caller then starts recovery)."""
        with self._lock:
            first = self._divergence is None
            if first:
                self._divergence = Divergence(index, reason, time.time())
        banner = "!" * 78
        log.critical("%s\nNODE DIVERGED %s at checkpoint %d: %s\nthis node now refuses every read and write%s\n%s",
                     banner, "(first finding)" if first else "(further finding)", index, reason,
                     "" if first else f" (fenced since checkpoint {self._divergence.index})", banner,
                     extra={"event": "divergence", "fields": {"checkpoint": index, "first": first}})
        return first
