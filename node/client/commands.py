"""Convenience builders for ledger commands, each with a fresh unique id unless one is given.

Ids are `<prefix>:<uuid4 hex>`: 32 random hex digits after a short prefix naming the kind, so
they are unique across processes and restarts, inside the id charset [A-Za-z0-9._:-] and within
command_id_bytes_max (64). A caller that must retry across its own restarts (a matching engine)
passes its own stable ids instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.client.limits import command_id_prefix_bytes_max
from node.identity.clock import now_ms
from node.identity.keys import private_key, public_key_bytes, sign_price
from node.ledger.commands import CreateMarket, Deposit, MakerSide, MarketKind, OracleSource, PriceUpdate, SettleTrade, Withdraw
from node.ledger.limits import INT64_MAX, INT64_MIN, command_id_bytes_max, id_charset


def new_command_id(prefix: str = "cmd") -> str:
    assert 0 < len(prefix) <= command_id_prefix_bytes_max, prefix
    assert set(prefix) <= id_charset, prefix
    command_id = f"{prefix}:{uuid.uuid4().hex}"
    assert len(command_id) <= command_id_bytes_max, command_id
    return command_id


def deposit(account: str, amount: int, *, id: str | None = None) -> Deposit:
    return Deposit(id=id or new_command_id("dep"), account=account, amount=amount)


def withdraw(account: str, amount: int, *, id: str | None = None) -> Withdraw:
    return Withdraw(id=id or new_command_id("wd"), account=account, amount=amount)


def settle_trade(
    market: str,
    buyer: str,
    seller: str,
    price: int,
    quantity: int,
    *,
    buyer_fee: int = 0,
    seller_fee: int = 0,
    maker_side: MakerSide = MakerSide.NONE,
    id: str | None = None,
) -> SettleTrade:
    return SettleTrade(
        id=id or new_command_id("trade"),
        market=market,
        buyer=buyer,
        seller=seller,
        price=price,
        quantity=quantity,
        buyer_fee=buyer_fee,
        seller_fee=seller_fee,
        maker_side=maker_side,
    )


def price_update(
    market: str, source: str, price: int, source_time_ms: int, *, signature: bytes = b"", id: str | None = None
) -> PriceUpdate:
    return PriceUpdate(
        id=id or new_command_id("px"),
        market=market,
        source=source,
        price=price,
        source_time_ms=source_time_ms,
        signature=signature,
    )


def signed_price_update(
    market: str, source: str, price: int, key: Ed25519PrivateKey | bytes, *,
    source_time_ms: int | None = None, id: str | None = None,
) -> PriceUpdate:
    """A PriceUpdate signed by `key` (the source's Ed25519 private key, or its 32 raw bytes) over
    node.ledger.signatures.price_update_bytes; the source time defaults to now."""
    source_time_ms = now_ms() if source_time_ms is None else source_time_ms
    if not (INT64_MIN <= price <= INT64_MAX and INT64_MIN <= source_time_ms <= INT64_MAX):
        raise ValueError("price and source time must be int64: nothing else has canonical bytes to sign")
    signature = sign_price(private_key(key), market, source, price, source_time_ms)
    return price_update(market, source, price, source_time_ms, signature=signature, id=id)


def oracle_source(source: str, key: Ed25519PrivateKey | bytes) -> OracleSource:
    """A source to register with a market: its id and its public key (32 raw bytes, or derived
    from the source's private key object)."""
    return OracleSource(source=source, public_key=public_key_bytes(key))


# Defaults an operator would pick for a liquid perpetual: 10% initial, 5% maintenance margin.
MARKET_DEFAULTS = dict(
    tick_size=1,
    lot_size=1,
    initial_margin_bps=1_000,
    maintenance_margin_bps=500,
    liquidation_fee_bps=100,
    open_interest_cap=1_000_000,
    trade_band_bps=1_000,
    band_bps=2_000,
    band_window_ms=60_000,
    cooldown_ms=60_000,
)


def create_market(
    market: str, kind: MarketKind = MarketKind.PERPETUAL, *, sources: Iterable[OracleSource] = (),
    id: str | None = None, **params: int,
) -> CreateMarket:
    """A CreateMarket with MARKET_DEFAULTS for every parameter not given (expiry_ms for a FUTURE).
    `sources` (see oracle_source) are the oracle sources whose signed prices mark the market: the
    ledger needs 1-16 of them."""
    fields = {**MARKET_DEFAULTS, **params}
    return CreateMarket(id=id or new_command_id("mkt"), market=market, kind=kind, sources=tuple(sources), **fields)
