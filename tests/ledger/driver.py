"""A test driver for the pure ledger: builds entries, applies them, checks every invariant."""

from __future__ import annotations

from dataclasses import replace

from node.keys import private_key_from_seed, raw_public_key, sign_price, verify_ed25519
from node.ledger import LedgerState, LogEntry, apply, check_full
from node.ledger.commands import (
    CreateMarket,
    Deposit,
    MarketKind,
    OracleSource,
    PriceUpdate,
    SettleTrade,
    Withdraw,
)
from node.ledger.events import Event
from node.ledger.results import Result

MARKET = "BTC-PERP"
SOURCE = "src-a"


def source_key(source: str):
    """Every test source signs with a key derived from its name."""
    return private_key_from_seed(f"oracle:{source}")


def oracle_source(source: str) -> OracleSource:
    return OracleSource(source, raw_public_key(source_key(source)))


def signed_price(command_id: str, market: str, source: str, price: int, source_time_ms: int) -> PriceUpdate:
    signature = sign_price(source_key(source), market, source, price, source_time_ms)
    return PriceUpdate(command_id, market, source, price, source_time_ms, signature)


_DEFAULT_MARKET = CreateMarket(
    id="create-BTC-PERP",
    market=MARKET,
    kind=MarketKind.PERPETUAL,
    tick_size=1,
    lot_size=1,
    initial_margin_bps=1_000,  # 10%
    maintenance_margin_bps=500,  # 5%
    liquidation_fee_bps=100,  # 1%
    open_interest_cap=1_000_000,
    trade_band_bps=1_000,
    band_bps=2_000,
    band_window_ms=60_000,
    cooldown_ms=60_000,
    sources=(oracle_source(SOURCE),),
)


def create_market(**overrides) -> CreateMarket:
    cmd = replace(_DEFAULT_MARKET, **overrides)
    if "market" in overrides and "id" not in overrides:
        cmd = replace(cmd, id=f"create-{cmd.market}")
    return cmd


class LedgerDriver:
    """Applies one entry per call with a fresh index and a clock that moves 1 s per entry."""

    def __init__(self) -> None:
        self.state = LedgerState()
        self.index = 0
        self.time_ms = 1_000_000
        self.events: list[Event] = []
        self._ids = 0

    def next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids}"

    def run(self, *commands, time_ms: int | None = None) -> tuple[Result, ...]:
        self.index += 1
        self.time_ms = time_ms if time_ms is not None else self.time_ms + 1_000
        outcome = apply(self.state, LogEntry(self.index, self.time_ms, tuple(commands)), verify_ed25519)
        check_full(self.state)
        self.events.extend(outcome.events)
        return outcome.results

    def one(self, command) -> Result:
        (result,) = self.run(command)
        return result

    # -- shorthands -------------------------------------------------------------------------

    def deposit(self, account: str, amount: int) -> Result:
        return self.one(Deposit(self.next_id("dep"), account, amount))

    def withdraw(self, account: str, amount: int) -> Result:
        return self.one(Withdraw(self.next_id("wd"), account, amount))

    def price(self, price: int, market: str = MARKET, source: str = SOURCE) -> Result:
        """A signed price from `source`, stamped just after the previous entry's time."""
        return self.one(signed_price(self.next_id("px"), market, source, price, self.time_ms + 1))

    def trade(self, buyer: str, seller: str, price: int, quantity: int, market: str = MARKET, **fees) -> Result:
        return self.one(SettleTrade(self.next_id("tr"), market, buyer, seller, price, quantity, **fees))

    def collateral(self, account: str) -> int:
        return self.state.accounts[account].collateral

    def size(self, account: str, market: str = MARKET) -> int:
        position = self.state.position(account, market)
        return position.size if position else 0


def listed_market_with_traders(mark: int = 50_000, collateral: int = 10_000_000) -> LedgerDriver:
    """A BTC-PERP market with a mark, and alice and bob funded."""
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(mark)
    driver.deposit("alice", collateral)
    driver.deposit("bob", collateral)
    return driver
