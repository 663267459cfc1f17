"""What `settle` prints for people (money in USD, times as UTC dates, spans as durations) and what
it keeps for machines (--json: the raw integers)."""

from __future__ import annotations

import json

import pytest

from node.api.settlement.v1 import commands_pb2, state_pb2
from node.cli import render
from tests.server.fake_replica import FakeReplica
from tests.server.serving import threaded

from .test_cli import settle

SINCE_MS = 1_796_285_710_753  # 2026-12-03 08:15:10.753 UTC


def test_an_accounts_money_is_shown_in_usd():
    account = state_pb2.Account(id="alice", collateral=19_988_000_000, status=state_pb2.Account.Status.Value("ACTIVE"),
                                positions=[state_pb2.Position(market="BTC-PERP", size=-3, cost_basis=-150_000_000_000)])
    text = render.account_text(account)
    assert text.splitlines()[0].startswith("account alice  ACTIVE  collateral $19,988.00  ")
    assert text.splitlines()[-1].split()[:3] == ["BTC-PERP", "-3", "-$150,000.00"]


def test_a_margin_call_shows_its_date_and_amounts():
    account = state_pb2.Account(id="bob", margin_call=state_pb2.MarginCall(since_ms=SINCE_MS, equity=900_000_000, level=1_000_000_000))
    assert "MARGIN CALL since 2026-12-03 08:15:10.753 UTC: equity $900.00 below the call level $1,000.00" in render.account_text(account)


def test_a_markets_status_since_is_a_utc_date_and_its_windows_durations():
    market = state_pb2.Market(status=state_pb2.Market.Status.Value("ACTIVE"), status_since_ms=SINCE_MS, mark_price=54_600_000_000,
                              mark_time_ms=SINCE_MS, params=commands_pb2.CreateMarket(market="BTC-PERP", band_window_ms=60_000,
                                                                                     cooldown_ms=28_800_000, lot_size=1))
    text = render.market_text(market)
    assert "ACTIVE since 2026-12-03 08:15:10.753 UTC" in text
    assert "$54,600.00 per contract" in text
    assert "over 1m, cooldown 8h" in text and "/ 1 contract" in text


def test_guards_show_funds_in_usd_and_breakers_as_dates():
    guards = state_pb2.Guards(insurance_fund=30_000_000_000, ledger_time_ms=SINCE_MS, funds_equity=-27_733_240_000,
                              breakers=[state_pb2.Breaker(market="BTC-PERP", tripped_at_ms=SINCE_MS, until_ms=SINCE_MS + 120_000,
                                                          reason="band")])
    text = render.guards_text(guards)
    assert "insurance fund $30,000.00  ledger time 2026-12-03 08:15:10.753 UTC" in text
    assert text.splitlines()[3].split()[-3:] == ["08:17:10.753", "UTC", "2m"]


@pytest.fixture
def served():
    with threaded(FakeReplica("node1")) as server:
        yield server


def test_json_keeps_the_raw_integers(served):
    nodes = ("--nodes", served.address)
    assert settle(*nodes, "deposit", "alice", "19_988_000_000")[0] == 0
    code, out, _ = settle(*nodes, "--json", "account", "alice")
    assert code == 0 and json.loads(out)["collateral"] == 19_988_000_000
    code, out, _ = settle(*nodes, "--json", "guards")
    guards = json.loads(out)
    assert code == 0 and isinstance(guards["ledger_time_ms"], int) and guards["insurance_fund"] == 0
    code, out, _ = settle(*nodes, "--json", "deposit", "alice", "1")
    assert code == 0 and json.loads(out)["results"][0]["collateral"] == 19_988_000_001


def test_a_settling_market_shows_what_its_settlement_has_collected():
    market = state_pb2.Market(status=state_pb2.Market.Status.Value("SETTLING"), status_reason="settlement_price_unreliable",
                              settlement_valid_ms=90_000, settlement_valid_ms_needed=900_000, settlement_running_twap=50_000_000_000,
                              settlement_counting_price=50_000_000_000,
                              params=commands_pb2.CreateMarket(market="BTC-MAR", settlement_window_ms=1_800_000, lot_size=1))
    text = render.market_text(market)
    assert "SETTLING (settlement_price_unreliable)" in text
    assert "1m 30s VALID since expiry (needs 15m), average $50,000.00; the mark counts now" in text


def test_a_settled_future_shows_its_settlement_price():
    market = state_pb2.Market(status=state_pb2.Market.Status.Value("SETTLED"), settlement_price=50_300_000_000,
                              params=commands_pb2.CreateMarket(market="BTC-MAR", settlement_window_ms=1_800_000, lot_size=1))
    assert "settled at $50,300.00" in render.market_text(market)
