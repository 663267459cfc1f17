"""GetMarket's view of a market's adaptive thresholds (docs/design.md#adaptive-thresholds): their
parameters in Market.params, the volatility and the band and margin it sets beside the mark."""

from __future__ import annotations

from node.api.settlement.v1 import state_pb2
from node.ledger.records import Market
from node.ledger.volatility import effective_band_bps, effective_initial_margin_bps, volatility_ppm


def market_adaptive(market: Market, message: state_pb2.Market) -> None:
    params = message.params
    params.volatility_half_life_ms = market.volatility_half_life_ms
    params.band_volatility_pct = market.band_volatility_pct
    params.band_floor_bps = market.band_floor_bps
    params.band_ceiling_bps = market.band_ceiling_bps
    params.initial_margin_ceiling_bps = market.initial_margin_ceiling_bps
    message.volatility_ppm = volatility_ppm(market)
    message.volatility_time_ms = market.volatility_time_ms
    message.effective_band_bps = effective_band_bps(market)
    message.effective_initial_margin_bps = effective_initial_margin_bps(market)
