"""The codec's own limits and wire defaults, named once.

The ledger judges a market's sources and a price's signature per command (INVALID_MARKET_PARAMS,
INVALID_SIGNATURE). The codec only refuses, for the whole request, sizes no honest client sends:
every replica would otherwise decode, log and keep them before the ledger could say no.
"""

from __future__ import annotations

from node.ledger.limits import oracle_sources_max, signature_bytes_max
from node.ledger.signatures import ed25519_public_key_bytes

# Sources in one CreateMarket that reach the ledger. The ledger allows oracle_sources_max (16)
# and answers a few more itself; beyond this many the request is refused whole.
oracle_sources_wire_max = 4 * oracle_sources_max
# A source's public key (32 bytes when well formed) and a PriceUpdate's signature (64): the
# ledger answers a wrong size per command; one beyond these is junk, refused whole.
public_key_wire_bytes_max = 4 * ed25519_public_key_bytes
signature_wire_bytes_max = 4 * signature_bytes_max

# CreateMarket fields whose zero has no meaning, so proto3's "not set" (0) stands for a default.
# These numbers are part of the log's meaning (a logged 0 must decode the same forever), so they
# are fixed here for LogEntry versions 1 and 2, not read from the ledger dataclass's defaults; a test
# checks that the two agree today.
create_market_wire_defaults = {
    "min_sources": 1,
    "stale_after_ms": 60_000,
    "liquidation_slice_bps": 10_000,
    # insurance fund unwinding (fund_unwinding.py): unwind_slice_contracts' 0 means "no cap"
    "unwind_start_bps": 50,
    "unwind_slope_bps_per_minute": 10,
    "unwind_discount_max_bps": 1_000,
    "unwind_window_ms": 60_000,
    "unwind_deadline_ms": 86_400_000,
    # Sources judged against the others (oracle.py): outlier_bps is `optional` on the wire, so only
    # an absent field reads as this; an explicit 0 turns the rule off.
    "outlier_bps": 1_000,
}
