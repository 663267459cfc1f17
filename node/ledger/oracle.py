"""PriceUpdate: a new mark for a market, and the liquidation sweep it triggers.

One source per market for now; several sources with a median, staleness and volatility verdicts
are still to come. Every new mark passes the price-band breaker (breakers.py) first.
"""

from __future__ import annotations

from .breakers import record_mark
from .commands import PriceUpdate
from .events import Event
from .limits import market_id_bytes_max, source_id_bytes_max
from .liquidation import liquidate_below_maintenance
from .records import MarketStatus
from .results import Result, ResultCode
from .state import LedgerState
from .validation import is_int64, is_positive_int64, is_valid_id


def price_update(state: LedgerState, cmd: PriceUpdate, events: list[Event]) -> Result:
    if not is_valid_id(cmd.market, market_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_MARKET, "market id must be 1-32 bytes of [A-Za-z0-9._:-]")
    market = state.markets.get(cmd.market)
    if market is None:
        return Result(cmd.id, ResultCode.UNKNOWN_MARKET, f"no market {cmd.market}")
    if not is_valid_id(cmd.source, source_id_bytes_max):
        return Result(cmd.id, ResultCode.INVALID_SOURCE, "source id must be 1-64 bytes of [A-Za-z0-9._:-]")
    if not is_positive_int64(cmd.price):
        return Result(cmd.id, ResultCode.INVALID_PRICE, "price must be a positive int64")
    if not is_int64(cmd.source_time_ms) or cmd.source_time_ms < 0:
        return Result(cmd.id, ResultCode.STALE_PRICE, "source time must be a non-negative int64")
    if cmd.source_time_ms <= market.mark_time_ms:
        return Result(cmd.id, ResultCode.STALE_PRICE, f"source time {cmd.source_time_ms} not after {market.mark_time_ms}")
    if market.status == MarketStatus.SETTLED:
        return Result(cmd.id, ResultCode.MARKET_NOT_ACTIVE, "market is settled")
    market = record_mark(state, cmd.market, cmd.price, cmd.source_time_ms, events)
    if market.status != MarketStatus.HALTED:  # nobody is liquidated at a price that tripped a breaker
        liquidate_below_maintenance(state, cmd.market, events)
    return Result(cmd.id, ResultCode.OK)
