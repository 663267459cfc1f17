"""GetMarket's settlement fields: the settlement window's accumulator and the settlement price
(docs/design.md#settlement-price)."""

from __future__ import annotations

from node.api.settlement.v1 import state_pb2
from node.ledger.records import Market
from node.ledger.settlement_window import running_twap, valid_ms_min


def market_settlement(market: Market, message: state_pb2.Market) -> None:
    """The VALID time collected (in the window before expiry; while SETTLING, since expiry), the
    average so far, the VALID time a settlement needs, the price counting now and the price the
    market settled at. Nothing for a market without a window that never settled (a perpetual)."""
    if not market.settlement_window_ms and not market.settlement_price:
        return
    message.settlement_valid_ms = market.settlement_valid_ms
    message.settlement_running_twap = running_twap(market)
    message.settlement_valid_ms_needed = valid_ms_min(market)
    message.settlement_counting_price = market.settlement_sample_price
    message.settlement_price = market.settlement_price
