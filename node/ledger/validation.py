"""Field checks shared by the command handlers. Each returns True when the field is acceptable."""

from __future__ import annotations

import re

from .limits import INT64_MAX, INT64_MIN, reserved_id_prefix

# The id charset of limits.id_charset as one compiled pattern (a per-character loop costs
# more than the rest of a trade's validation).
_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")


def is_int64(value: object) -> bool:
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def is_positive_int64(value: object) -> bool:
    return is_int64(value) and value > 0  # type: ignore[operator]


def is_valid_id(value: object, max_bytes: int) -> bool:
    # The charset is ASCII, so the character count is the byte count.
    return type(value) is str and 0 < len(value) <= max_bytes and _ID_PATTERN.fullmatch(value) is not None


def is_client_account_id(value: object, max_bytes: int) -> bool:
    return is_valid_id(value, max_bytes) and not value.startswith(reserved_id_prefix)  # type: ignore[union-attr]
