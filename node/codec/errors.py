"""The one error the codec raises, naming the offending field so a client can fix its request."""

from __future__ import annotations


class CodecError(ValueError):
    """A message the ledger cannot represent; the server answers INVALID_ARGUMENT.

    `field` is a dotted path from the outermost message the codec was given, e.g.
    `commands[3].emergency_action.nonce`.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def within(self, parent: str) -> CodecError:
        """The same error, seen from the message that contains `parent`."""
        return CodecError(f"{parent}.{self.field}", self.reason)
