"""Settlement price on the wire (docs/design.md#settlement-price): CreateMarket's
settlement_window_ms round-trips the codec, GetMarket shows the accumulator and the settlement
price, MarketSettled and the SETTLING status are streamed, MARKET_SETTLING is a result code."""

from __future__ import annotations

from node.api.settlement.v1 import events_pb2, results_pb2, state_pb2
from node.codec.commands import command_from_proto, command_to_proto
from node.ledger.commands import MarketKind
from node.ledger.events import MarketSettled, MarketStatusChanged
from node.ledger.records import MarketStatus, SettlementMethod, StatusReason
from node.ledger.results import ResultCode
from node.replica.port import AppliedEvent
from node.server.events import event_to_proto
from node.server.views import market_view
from tests.ledger.driver import MARKET, LedgerDriver, create_market
from tests.ledger.test_settlement_price import FUTURE, WINDOW_MS, expire, hold, listed_future, quote, settling_future


def test_the_settlement_window_round_trips_the_codec():
    listing = create_market(market=FUTURE, kind=MarketKind.FUTURE, expiry_ms=10**13, settlement_window_ms=WINDOW_MS)
    assert command_from_proto(command_to_proto(listing)) == listing


def test_get_market_shows_the_window_and_what_it_has_collected():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 300_000)
    quote(driver, 52_000, expiry - 300_000)
    market = market_view(FUTURE)(driver.state)
    assert market.params.settlement_window_ms == WINDOW_MS
    assert (market.settlement_valid_ms, market.settlement_running_twap) == (300_000, 50_000)
    assert (market.settlement_valid_ms_needed, market.settlement_counting_price, market.settlement_price) == (300_000, 52_000, 0)


def test_get_market_counts_the_running_price_up_to_the_ledger_time_of_the_read():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry - 300_000)
    quote(driver, 53_000, expiry - 300_000)
    driver.run(time_ms=expiry - 270_000)  # an entry without prices: 53,000 has held 30 s
    market = market_view(FUTURE)(driver.state)
    assert market.settlement_valid_ms == 330_000
    assert market.settlement_running_twap == (50_000 * 300_000 + 53_000 * 30_000) // 330_000


def test_get_market_shows_the_settlement_price_once_settled():
    driver, expiry = listed_future()
    hold(driver, 50_000, expiry - WINDOW_MS, expiry)
    expire(driver, expiry)
    market = market_view(FUTURE)(driver.state)
    assert (market.status, market.settlement_price) == (state_pb2.Market.SETTLED, 50_000)


def test_get_market_shows_a_settling_market():
    driver, _ = settling_future()
    market = market_view(FUTURE)(driver.state)
    assert (market.status, market.status_reason) == (state_pb2.Market.SETTLING, "settlement_price_unreliable")
    assert (market.settlement_valid_ms, market.settlement_price) == (0, 0)


def test_a_perpetual_shows_no_settlement_fields():
    driver = LedgerDriver()
    assert driver.one(create_market()).ok
    market = market_view(MARKET)(driver.state)
    assert (market.params.settlement_window_ms, market.settlement_valid_ms_needed) == (0, 0)


def test_market_settled_is_streamed_with_how_its_price_was_formed():
    kind, event = event_to_proto(AppliedEvent(9, 5_000, MarketSettled(FUTURE, 50_300, SettlementMethod.TWAP, 600_000, 600_000, 4_999)))
    assert kind == events_pb2.MARKET_SETTLED
    settled = event.market_settled
    assert (settled.market, settled.price, settled.method) == (FUTURE, 50_300, events_pb2.MarketSettled.TWAP)
    assert (settled.valid_ms, settled.window_ms, settled.at_ms) == (600_000, 600_000, 4_999)


def test_entering_settling_is_streamed_with_its_reason():
    change = MarketStatusChanged(FUTURE, MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE, 10)
    _, event = event_to_proto(AppliedEvent(9, 10, change))
    assert (event.market_status_changed.status, event.market_status_changed.reason) == (
        state_pb2.Market.SETTLING, "settlement_price_unreliable")


def test_the_ledger_and_the_wire_number_settling_alike():
    assert (state_pb2.Market.SETTLING, results_pb2.MARKET_SETTLING) == (MarketStatus.SETTLING, ResultCode.MARKET_SETTLING)
    assert (events_pb2.MarketSettled.TWAP, events_pb2.MarketSettled.GUARDIAN) == (SettlementMethod.TWAP, SettlementMethod.GUARDIAN)
