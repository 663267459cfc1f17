"""What one price update costs the liquidation sweep as the number of accounts grows.

    python -m cluster.bench.liquidation_sweep [--accounts 1000,10000,100000] [--updates 200]

Every account holds one long in BTC-PERP, with collateral spread so that each price update
crosses the triggers of only a few of them. The figure is the time of `apply` for an entry
holding one signed PriceUpdate that moves the mark by one tick, with and without a trade between
updates (a trade marks its two accounts dirty, so the next sweep re-indexes them). A sweep that
valued every holder would grow linearly with the accounts; this one should not.

Prints one JSON object per account count. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from node.identity.keys import private_key_from_seed, raw_public_key, sign_price, verify_ed25519
from node.ledger import LedgerState, apply
from node.ledger.commands import CreateMarket, Deposit, LogEntry, MarketKind, OracleSource, PriceUpdate, SettleTrade
from node.runtime import tune_garbage_collector

MARKET = "BTC-PERP"
SOURCE = "bench-feed"
_KEY = private_key_from_seed("bench liquidation sweep feed")
START_MS = 1_700_000_000_000


class Ledger:
    def __init__(self) -> None:
        self.state = LedgerState()
        self.index = 0
        self.time_ms = START_MS
        self.ids = 0

    def run(self, *commands) -> None:
        self.index += 1
        self.time_ms += 1_000
        apply(self.state, LogEntry(self.index, self.time_ms, tuple(commands)), verify_ed25519)

    def next_id(self) -> str:
        self.ids += 1
        return f"c{self.ids}"

    def price(self, price: int) -> PriceUpdate:
        source_time = self.time_ms + 500
        return PriceUpdate(self.next_id(), MARKET, SOURCE, price, source_time, sign_price(_KEY, MARKET, SOURCE, price, source_time))


def build(accounts: int) -> Ledger:
    ledger = Ledger()
    ledger.run(CreateMarket(
        "list", MARKET, MarketKind.PERPETUAL, 1, 1, 1_000, 500, 100, 10**12, 10_000, 0, 60_000, 60_000,
        sources=(OracleSource(SOURCE, raw_public_key(_KEY)),), stale_after_ms=10**12,
    ))
    ledger.run(ledger.price(50_000), Deposit(ledger.next_id(), "maker", 10**15))
    for start in range(0, accounts, 2_000):
        commands = []
        for i in range(start, min(start + 2_000, accounts)):
            name = f"acct-{i:07d}"
            # collateral from 10% to 60% of the 500,000 notional: triggers spread over 25,000-47,400
            commands.append(Deposit(ledger.next_id(), name, 50_000 + 250_000 * i // accounts))
            commands.append(SettleTrade(ledger.next_id(), MARKET, name, "maker", 50_000, 10))
        ledger.run(*commands)
    ledger.run(ledger.price(50_000))  # the first sweep indexes everybody
    return ledger


def measure(accounts: int, updates: int, with_trades: bool) -> float:
    ledger = build(accounts)
    price, elapsed = 50_000, 0.0
    for n in range(updates):
        price += 1 if n % 2 else -1
        if with_trades:
            ledger.run(SettleTrade(ledger.next_id(), MARKET, f"acct-{n % accounts:07d}", "maker", price, 1))
        command = ledger.price(price)
        started = time.perf_counter()
        ledger.run(command)
        elapsed += time.perf_counter() - started
    return elapsed / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", default="1000,10000,100000", help="comma-separated account counts")
    parser.add_argument("--updates", type=int, default=200)
    args = parser.parse_args()
    tune_garbage_collector()
    for accounts in (int(a) for a in args.accounts.split(",")):
        quiet = measure(accounts, args.updates, with_trades=False)
        busy = measure(accounts, args.updates, with_trades=True)
        print(json.dumps({
            "benchmark": "liquidation_sweep_per_price_update",
            "accounts": accounts,
            "updates": args.updates,
            "microseconds_per_update": round(quiet * 1e6, 1),
            "microseconds_per_update_with_a_trade_between": round(busy * 1e6, 1),
            "python": platform.python_version(),
        }), flush=True)


if __name__ == "__main__":
    main()
