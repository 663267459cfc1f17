"""Adaptive thresholds on the wire: CreateMarket's fields 60-64 round-trip the codec, and GetMarket
shows the parameters, the volatility and the band and initial margin it sets."""

from __future__ import annotations

from node.codec.commands import command_from_proto, command_to_proto
from node.server.views import market_view
from tests.ledger.driver import MARKET, LedgerDriver, create_market

ADAPTIVE = dict(band_bps=0, volatility_half_life_ms=60_000, band_volatility_pct=400, band_floor_bps=500,
                band_ceiling_bps=3_000, initial_margin_ceiling_bps=2_500)


def test_the_adaptive_fields_round_trip_the_codec():
    listing = create_market(**ADAPTIVE)
    assert command_from_proto(command_to_proto(listing)) == listing


def test_get_market_shows_the_volatility_and_the_band_and_margin_it_sets():
    driver = LedgerDriver()
    assert driver.one(create_market(**ADAPTIVE)).ok
    driver.price(50_000)
    driver.price(52_000)  # +4%: sigma 40,000 ppm, band 4 x 4% = 16%, margin 10% x 16/5, capped at 25%
    market = market_view(MARKET)(driver.state)
    assert (market.volatility_ppm, market.volatility_time_ms) == (40_000, driver.time_ms)
    assert (market.effective_band_bps, market.effective_initial_margin_bps) == (1_600, 2_500)
    params = market.params
    assert (params.volatility_half_life_ms, params.band_volatility_pct, params.band_floor_bps, params.band_ceiling_bps,
            params.initial_margin_ceiling_bps) == (60_000, 400, 500, 3_000, 2_500)


def test_a_static_market_shows_its_band_and_listed_margin():
    driver = LedgerDriver()
    assert driver.one(create_market()).ok
    market = market_view(MARKET)(driver.state)
    assert (market.volatility_ppm, market.effective_band_bps, market.effective_initial_margin_bps) == (0, 2_000, 1_000)
