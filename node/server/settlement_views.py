"""GetMarket's settlement fields: the settlement window's accumulator and the settlement price
(docs/design.md#settlement-price)."""

from __future__ import annotations

from node.api.settlement.v1 import state_pb2
from node.ledger.records import Market
from node.ledger.settlement_window import resample, running_twap, valid_ms_min


def market_settlement(market: Market, ledger_time_ms: int, message: state_pb2.Market) -> None:
    """The VALID time collected (in the window before expiry; while SETTLING, since expiry) and
    its average so far, both counting the running sample up to the ledger time of the read (what
    a settlement now would count), the VALID time a settlement needs, the price counting now and
    the price the market settled at. Nothing for a perpetual that never settled."""
    if not market.settlement_window_ms and not market.settlement_price:
        return
    now = resample(market, ledger_time_ms)  # a view: nothing is written
    message.settlement_valid_ms = now.settlement_valid_ms
    message.settlement_running_twap = running_twap(now)
    message.settlement_valid_ms_needed = valid_ms_min(market)
    message.settlement_counting_price = now.settlement_sample_price
    message.settlement_price = market.settlement_price
