"""A perpetual with a mark and an option market on it, for the option specifications."""

from __future__ import annotations

from node.ledger.commands import MarketKind, OptionType
from node.ledger.option_pricing import option_price

from .driver import MARKET, LedgerDriver, create_market, oracle_source

INDEX = 50_000_000_000  # $50,000 per contract of the perpetual
STRIKE = 50_000_000_000
VOLATILITY_PPM = 800_000  # 80%
DAY_MS = 86_400_000
CALL = "BTC-C50K"
PUT = "BTC-P50K"
VOL_SOURCE = "vol-a"


def option_market(driver: LedgerDriver, market: str = CALL, option_type: OptionType = OptionType.CALL, **overrides):
    fields = dict(
        market=market, kind=MarketKind.OPTION, underlying=MARKET, strike_price=STRIKE,
        expiry_ms=driver.time_ms + 30 * DAY_MS, option_type=option_type, tick_size=1_000,
        sources=(oracle_source(VOL_SOURCE),), band_bps=5_000,
    )
    fields.update(overrides)
    return create_market(**fields)


def listed_option(option_type: OptionType = OptionType.CALL, collateral: int = 100_000_000_000, **overrides) -> LedgerDriver:
    """BTC-PERP marked at INDEX, an option on it marked at VOLATILITY_PPM, alice and bob funded."""
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(INDEX)
    market = CALL if option_type == OptionType.CALL else PUT
    assert driver.one(option_market(driver, market, option_type, **overrides)).code == 0
    driver.price(VOLATILITY_PPM, market=market, source=VOL_SOURCE)
    driver.deposit("alice", collateral)
    driver.deposit("bob", collateral)
    return driver


def model_premium(driver: LedgerDriver, market: str = CALL) -> int:
    option = driver.state.markets[market]
    index = driver.state.markets[option.underlying].mark_price
    return max(option_price(option.option_type, index, option.strike_price, option.mark_volatility_ppm,
                            max(option.expiry_ms - driver.state.ledger_time_ms, 0)), 1)


def tick_price(price: int, tick: int = 1_000) -> int:
    return price // tick * tick
