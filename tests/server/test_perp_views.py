"""Issue 17 on the wire: the new command fields round-trip the codec (an unknown maker side is
refused there), and GetAccount / GetMarket / GetGuards show margin calls, funding and fees."""

from __future__ import annotations

import pytest

from node.api.settlement.v1 import commands_pb2
from node.codec.commands import command_from_proto, command_to_proto
from node.codec.errors import CodecError
from node.ledger.commands import MakerSide, SettleTrade
from node.server.views import account_view, guards_view, market_view
from tests.ledger.driver import MARKET, LedgerDriver, create_market

HOUR = 3_600_000


def test_the_new_fields_round_trip_the_codec():
    trade = SettleTrade("t", MARKET, "alice", "bob", 1_000, 10, maker_side=MakerSide.SELLER)
    listing = create_market(maker_fee_bps=-2, taker_fee_bps=10, fee_fund_share_bps=2_000, funding_interval_ms=HOUR,
                            funding_rate_cap_bps=100, margin_call_bps=800)
    for command in (trade, listing):
        assert command_from_proto(command_to_proto(command)) == command


def test_an_unknown_maker_side_is_refused_on_the_wire():
    message = command_to_proto(SettleTrade("t", MARKET, "alice", "bob", 1_000, 10))
    message.settle_trade.maker_side = 7
    with pytest.raises(CodecError, match="maker_side"):
        command_from_proto(message)


def test_the_reads_show_calls_funding_and_fees():
    driver = LedgerDriver()
    assert driver.one(create_market(band_bps=0, margin_call_bps=800, taker_fee_bps=10, funding_interval_ms=HOUR,
                                    funding_rate_cap_bps=100, stale_after_ms=10 * HOUR)).ok
    driver.price(1_000)
    driver.deposit("alice", 1_300)
    driver.deposit("bob", 100_000)
    assert driver.trade("alice", "bob", 1_000, 10, maker_side=MakerSide.SELLER).ok  # alice pays 10
    assert driver.trade("bob", "alice", 1_010, 1, maker_side=MakerSide.BUYER).ok  # a premium; alice pays 2 more
    driver.run(time_ms=HOUR)
    driver.price(940)  # equity 1,300 - 12 + ... below the call level
    account = account_view("alice")(driver.state)
    assert account.HasField("margin_call") and account.margin_call.level > account.margin_call.equity
    assert account.positions[0].funding_owed > 0
    assert account.positions[0].funding_index_exact == "0"
    market = market_view(MARKET)(driver.state)
    funding = driver.state.funding[MARKET]
    assert (market.funding_rate, market.next_funding_ms, market.funding_index) == (funding.rate, 2 * HOUR, str(funding.index))
    assert (market.params.taker_fee_bps, market.params.margin_call_bps, market.params.funding_interval_ms) == (10, 800, HOUR)
    assert guards_view(driver.state).fee_account == 12
    assert commands_pb2.MakerSide.Name(MakerSide.SELLER) == "SELLER"
