"""How the replay writes the ledger's units: money as USD, ledger time relative to the start.

The run's timeline lines, the report and the plot all show amounts and times this way.
"""

from __future__ import annotations

usd_minor_units = 1_000_000


def usd(minor: int) -> str:
    """Quote minor units as USD, exactly (integer arithmetic): at least cents, at most 6 digits."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), usd_minor_units)
    digits = f"{fraction:06d}".rstrip("0")
    digits = digits.ljust(2, "0")
    return f"{sign}${whole:,}.{digits}"


def rel(time_ms: int, t0_ms: int) -> str:
    """Ledger time relative to t0 as +HH:MM:SS.mmm."""
    delta = time_ms - t0_ms
    sign = "+" if delta >= 0 else "-"
    seconds, ms = divmod(abs(delta), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}"
