"""The oracle source that local clusters, demos, workloads and benchmarks sign prices with.

Its key is derived from a seed written right here, so it protects nothing: anyone can sign as
this source. That is the point for a demo or a benchmark (reruns sign the same bytes, nothing to
store), and the reason it must never mark a market that holds real money. Production feeders keep
their own keys (`settle new-key`) and markets register those.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from node.client.commands import oracle_source, signed_price_update
from node.identity.keys import private_key_from_seed, sign_price
from node.ledger.commands import OracleSource, PriceUpdate

SOURCE = "feed-1"
_SEED = "settlement local demo oracle: feed-1 (public seed, never for real markets)"


@lru_cache(maxsize=1)
def demo_key() -> Ed25519PrivateKey:
    return private_key_from_seed(_SEED)


def demo_source() -> OracleSource:
    return oracle_source(SOURCE, demo_key())


def demo_price(command_id: str, market: str, price: int, source_time_ms: int) -> PriceUpdate:
    """A PriceUpdate from SOURCE, signed with the demo key."""
    return signed_price_update(market, SOURCE, price, demo_key(), source_time_ms=source_time_ms, id=command_id)


def forged_price(command_id: str, market: str, price: int, source_time_ms: int) -> PriceUpdate:
    """A price that claims to come from SOURCE but is signed by another key: INVALID_SIGNATURE."""
    signature = sign_price(private_key_from_seed("not the demo oracle"), market, SOURCE, price, source_time_ms)
    return PriceUpdate(command_id, market, SOURCE, price, source_time_ms, signature)
