"""How people read the ledger's integers: money in USD, ledger times as UTC dates, durations.

The ledger counts money in quote minor units (1 unit = 1e-6 USD: README, "Ledger rules in brief")
and time in milliseconds since the Unix epoch. `settle` (node/cli) and the replay
(cluster/replay) show them with these functions; their `--json` keeps the raw integers. Every
conversion is exact (integer arithmetic, no floats), so the text never rounds an amount away.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

usd_minor_units = 1_000_000  # quote minor units per USD
usd_decimals_max = 6  # one minor unit is the sixth decimal
usd_decimals_min = 2  # cents are always shown

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DURATION_UNITS_MS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))


def usd(minor: int) -> str:
    """Quote minor units as USD with thousands separators, cents always, sub-cent digits only when
    there are any: 19_988_000_000 -> "$19,988.00", 1_234_567 -> "$1.234567", -5 -> "-$0.000005"."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), usd_minor_units)
    digits = f"{fraction:0{usd_decimals_max}d}".rstrip("0").ljust(usd_decimals_min, "0")
    return f"{sign}${whole:,}.{digits}"


def utc_date(time_ms: int, *, suffix: bool = True) -> str:
    """Ledger milliseconds as a UTC date: 1796285710753 -> "2026-12-03 08:15:10.753 UTC"; the
    milliseconds only when the time is not a whole second. `suffix=False` leaves out " UTC" (for
    a column whose header says it)."""
    seconds, ms = divmod(time_ms, 1000)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")
    if ms:
        text += f".{ms:03d}"
    return text + " UTC" if suffix else text


def duration(ms: int) -> str:
    """A span of milliseconds as people say it, exactly: 28_800_000 -> "8h", 90_000 -> "1m 30s",
    93_600_000 -> "1d 2h", 1_500 -> "1.5s", 250 -> "250ms"."""
    if ms < 0:
        return "-" + duration(-ms)
    if ms < 1_000:
        return f"{ms}ms"
    parts = []
    rest = ms
    for name, unit_ms in _DURATION_UNITS_MS:
        count, rest = divmod(rest, unit_ms)
        if count and name != "s":
            parts.append(f"{count}{name}")
        elif name == "s" and (count or rest):
            parts.append(f"{count}.{rest:03d}".rstrip("0").rstrip(".") + "s")
    return " ".join(parts)
