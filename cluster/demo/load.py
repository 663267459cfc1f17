"""The short demo load `make run` feeds a fresh cluster through the SDK, and the feeder that then
keeps the demo market's mark fresh.

Fixed command ids: on a second `make run` over the same ./data every command answers as a
duplicate of its first outcome, which is exactly-once at work. Prices are signed by the demo
oracle source (cluster/demo/oracle.py) and stamped with the wall clock: the ledger takes a source
time only up to 10 s ahead of the leader's clock and no older than the market's stale_after_ms.
"""

from __future__ import annotations

import atexit
import itertools
import threading
from typing import TextIO

from cluster.demo.oracle import SOURCE, demo_price, demo_source, forged_price
from node.client import SettlementError, SyncSettlementClient, new_command_id, now_ms
from node.identity.credentials import ClientIdentity
from node.cli.render import reply_text
from node.ledger.commands import CreateMarket, Deposit, MarketKind, SettleTrade
from node.ledger.state import market_fund

USD = 1_000_000
MARKET = "BTC-PERP"
# The feeder signs a price this often: well within the market's stale_after_ms (60 s).
feed_period_s = 5.0
feed_timeout_s = 2.0  # per call, so stopping the feeder with the cluster never waits long


def demo_steps(source_time_ms: int) -> list[tuple[str, list]]:
    mark = 60_000 * USD
    return [
        ("the operator lists BTC-PERP with one oracle source", [
            CreateMarket("demo:list", MARKET, MarketKind.PERPETUAL, tick_size=USD // 100, lot_size=1,
                         initial_margin_bps=1_000, maintenance_margin_bps=500, liquidation_fee_bps=100,
                         open_interest_cap=1_000, trade_band_bps=1_000, band_bps=2_000,
                         band_window_ms=60_000, cooldown_ms=60_000, sources=(demo_source(),)),
        ]),
        ("the oracle feed sets a first, signed mark", [
            demo_price("demo:px-1", MARKET, mark, source_time_ms),
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
        ("a crash to 30,000 signed with a key BTC-PERP never registered is refused", [
            forged_price("demo:px-forged", MARKET, 30_000 * USD, source_time_ms + 1),
        ]),
        ("BTC falls 9%: carol is liquidated into BTC-PERP's insurance fund", [
            demo_price("demo:px-2", MARKET, 54_600 * USD, source_time_ms + 2),
        ]),
    ]


def run_demo(client: SyncSettlementClient, out: TextIO, *, feed: bool = True, feed_identity: ClientIdentity | None = None) -> DemoFeeder | None:
    """Runs the demo steps (each batch is one role's: the client signs it with the key for that
    role); with `feed`, then starts a DemoFeeder signing as `feed_identity` (stopped at exit)
    and returns it."""
    for title, commands in demo_steps(now_ms()):
        reply = client.submit(commands)
        print(f"\n== {title} (raft index {reply.applied_index})", file=out)
        print(reply_text(reply), file=out)
    for account in ("alice", "bob", "carol", "sys:insurance", market_fund(MARKET)):
        state = client.get_account(account)
        positions = ", ".join(f"{p.market} {p.size:+d}" for p in state.positions if p.size) or "flat"
        print(f"   {account:<18} collateral {state.collateral / USD:>12,.2f} USD   {positions}", file=out)
    if not feed:
        return None
    feeder = DemoFeeder(client.addresses, feed_identity)
    print(
        f"\n{SOURCE} now signs {MARKET}'s mark every {feed_period_s:g} s to keep it fresh (a market without fresh "
        f"prices turns REDUCE_ONLY). Sign one yourself with the demo key next to cluster.json:\n"
        f"   settle price {MARKET} {SOURCE} 55000000000 --key-file DATA/oracle.key",
        file=out,
    )
    return feeder


class DemoFeeder:
    """Signs the demo market's current mark, nudged by one tick, every feed_period_s, on a daemon
    thread with its own client. The nudge alternates up and down, so the feed is seen to move (a
    source whose price does not change for clamp_after_ms while another source moves is taken for
    a clamped feed; the demo market lists one source and no clamp rule). Following the current
    mark keeps whatever price an operator set by hand. Failures (an election, the cluster
    stopping) are skipped quietly; the feeder stops at interpreter exit or on stop()."""

    def __init__(self, addresses: list[str], identity: ClientIdentity | None) -> None:
        self._stop = threading.Event()
        self._client = SyncSettlementClient(addresses, timeout_s=feed_timeout_s, identity=identity)
        self._thread = threading.Thread(target=self._run, name="demo-feeder", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def _run(self) -> None:
        for step in itertools.count():
            if self._stop.wait(feed_period_s):
                return
            try:
                market = self._client.get_market(MARKET)
                if not market.mark_price:
                    continue
                nudge = market.params.tick_size if step % 2 == 0 else -market.params.tick_size
                price = max(market.params.tick_size, market.mark_price + nudge)
                self._client.submit([demo_price(new_command_id("demo-feed"), MARKET, price, now_ms())])
            except SettlementError:
                continue

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=2 * feed_timeout_s + 1)
        self._client.close()
