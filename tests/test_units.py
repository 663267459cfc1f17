"""node/units.py: how people read the ledger's integers. Exact, never rounded away."""

from __future__ import annotations

import pytest

from node.units import duration, usd, utc_date


def test_usd_has_thousands_separators_and_cents():
    assert usd(19_988_000_000) == "$19,988.00"
    assert usd(1_000_000_000_000) == "$1,000,000.00"
    assert usd(0) == "$0.00"


def test_usd_shows_sub_cent_amounts_exactly():
    assert usd(1_234_567) == "$1.234567"
    assert usd(67_500) == "$0.0675"


def test_usd_puts_the_sign_before_the_dollar():
    assert usd(-27_733_240_000) == "-$27,733.24"
    assert usd(-5) == "-$0.000005"


def test_ledger_milliseconds_are_a_utc_date():
    assert utc_date(1_584_000_000_000) == "2020-03-12 08:00:00 UTC"
    assert utc_date(0) == "1970-01-01 00:00:00 UTC"


def test_a_utc_date_shows_milliseconds_only_when_not_a_whole_second():
    assert utc_date(1_796_285_710_753) == "2026-12-03 08:15:10.753 UTC"
    assert utc_date(1_796_285_710_050, suffix=False) == "2026-12-03 08:15:10.050"


@pytest.mark.parametrize("ms, text", [
    (28_800_000, "8h"), (90_000, "1m 30s"), (93_600_000, "1d 2h"), (1_500, "1.5s"), (250, "250ms"),
    (0, "0ms"), (-120_000, "-2m"),
])
def test_a_duration_is_said_in_its_units(ms, text):
    assert duration(ms) == text
