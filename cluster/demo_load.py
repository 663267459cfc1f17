"""The short demo load `make run` feeds a fresh cluster through the SDK.

Fixed command ids: on a second `make run` over the same ./data every command answers as a
duplicate of its first outcome, which is exactly-once at work.
"""

from __future__ import annotations

from typing import TextIO

from node.client import SyncSettlementClient
from node.client.render import reply_text
from node.ledger.commands import CreateMarket, Deposit, MarketKind, PriceUpdate, SettleTrade

USD = 1_000_000
MARKET = "BTC-PERP"
DEMO_SOURCE_TIME_MS = 1_700_000_000_000


def demo_steps() -> list[tuple[str, list]]:
    mark = 60_000 * USD
    return [
        ("list BTC-PERP and set a first mark", [
            CreateMarket("demo:list", MARKET, MarketKind.PERPETUAL, tick_size=USD // 100, lot_size=1,
                         initial_margin_bps=1_000, maintenance_margin_bps=500, liquidation_fee_bps=100,
                         open_interest_cap=1_000, trade_band_bps=1_000, band_bps=2_000,
                         band_window_ms=60_000, cooldown_ms=60_000),
            PriceUpdate("demo:px-1", MARKET, "feed-1", mark, DEMO_SOURCE_TIME_MS),
        ]),
        ("custodian credits traders and the insurance fund", [
            Deposit("demo:dep-alice", "alice", 20_000 * USD),
            Deposit("demo:dep-bob", "bob", 50_000 * USD),
            Deposit("demo:dep-carol", "carol", 7_000 * USD),
            Deposit("demo:dep-fund", "sys:insurance", 5_000 * USD),
        ]),
        ("matching engine settles fills", [
            SettleTrade("demo:fill-1", MARKET, "carol", "bob", mark, 1, 6 * USD, 6 * USD),
            SettleTrade("demo:fill-2", MARKET, "alice", "bob", mark, 2, 12 * USD, 12 * USD),
            SettleTrade("demo:fill-3", MARKET, "carol", "bob", mark, 1, 6 * USD, 6 * USD),
        ]),
        ("BTC falls 9%: carol is liquidated into the insurance fund", [
            PriceUpdate("demo:px-2", MARKET, "feed-1", 54_600 * USD, DEMO_SOURCE_TIME_MS + 1),
        ]),
    ]


def run_demo(client: SyncSettlementClient, out: TextIO) -> None:
    for title, commands in demo_steps():
        reply = client.submit(commands)
        print(f"\n== {title} (raft index {reply.applied_index})", file=out)
        print(reply_text(reply), file=out)
    for account in ("alice", "bob", "carol", "sys:insurance"):
        state = client.get_account(account)
        positions = ", ".join(f"{p.market} {p.size:+d}" for p in state.positions if p.size) or "flat"
        print(f"   {account:<14} collateral {state.collateral / USD:>12,.2f} USD   {positions}", file=out)
