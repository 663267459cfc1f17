"""Seeded synthetic logs for the pure ledger: the same seed always gives the same entries.

Used by the determinism test (same log, different hash seeds, same state hash), the ledger,
store and batch-signature benchmarks and the ledger demo: it sits beside them, not inside one.
Randomness lives here, outside the ledger, and is fully seeded. Prices are signed by the demo
oracle source (cluster/demo/oracle.py): apply them with node.identity.keys.verify_ed25519. Ed25519
signatures are deterministic, so the log is too.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from cluster.demo.oracle import demo_price, demo_source
from node.ledger.commands import CreateMarket, Deposit, LogEntry, MakerSide, MarketKind, SettleTrade, Withdraw

MARKETS = ("BTC-PERP", "ETH-PERP")
START_PRICES = {"BTC-PERP": 50_000_000_000, "ETH-PERP": 3_000_000_000}  # quote minor units per contract
START_TIME_MS = 1_700_000_000_000
ENTRY_SPACING_MS = 250


# With economics (issue 17): a fee schedule with a maker rebate, funding every minute, a margin
# call level; the mark stays fresh for 10 minutes so a benchmark can let funding intervals pass.
ECONOMICS = dict(
    maker_fee_bps=-1, taker_fee_bps=5, fee_fund_share_bps=2_000, funding_interval_ms=60_000,
    funding_rate_cap_bps=50, margin_call_bps=800, stale_after_ms=600_000,
)
ECONOMICS_ENTRY_SPACING_MS = 1_000  # 200 entries: three funding intervals


def listing(market: str, economics: bool = False) -> CreateMarket:
    return CreateMarket(
        id=f"list-{market}", market=market, kind=MarketKind.PERPETUAL, tick_size=1_000, lot_size=1,
        initial_margin_bps=1_000, maintenance_margin_bps=500, liquidation_fee_bps=100,
        open_interest_cap=10**9, trade_band_bps=1_000, band_bps=2_500, band_window_ms=10_000,
        cooldown_ms=5_000, sources=(demo_source(),), **(ECONOMICS if economics else {}),
    )


def account_id(i: int) -> str:
    return f"acct-{i:06d}"


def opening_entries(accounts: int, collateral: int = 10**13, per_entry: int = 1_000, economics: bool = False) -> list[LogEntry]:
    """List the markets, fund every account, set first marks."""
    commands: list = [listing(m, economics) for m in MARKETS]
    commands.append(Deposit("fund-seed", "sys:insurance", 10**12))
    commands += [Deposit(f"seed-{i}", account_id(i), collateral) for i in range(accounts)]
    commands += [demo_price(f"open-{m}", m, START_PRICES[m], START_TIME_MS) for m in MARKETS]
    entries = []
    for n, start in enumerate(range(0, len(commands), per_entry)):
        entries.append(LogEntry(n + 1, START_TIME_MS + n, tuple(commands[start:start + per_entry])))
    return entries


def trade_entries(
    accounts: int, trades: int, batch: int, first_index: int, seed: int, makers: int, economics: bool = False,
) -> list[LogEntry]:
    """`trades` SettleTrades near the start prices, `batch` per entry from `first_index`: both sides
    uniform over the accounts, or with `makers`, one side one of the first `makers` accounts. With
    `economics`, fills name their maker (the schedule's fees) and entries are a second apart."""
    rng = random.Random(seed)
    entries = []
    for n, start in enumerate(range(0, trades, batch)):
        commands = []
        for k in range(start, min(start + batch, trades)):
            market = MARKETS[k % len(MARKETS)]
            buyer, seller = rng.sample(range(accounts), 2)
            if makers:
                maker = rng.randrange(makers)
                taker = rng.randrange(makers, accounts)
                buyer, seller = (maker, taker) if rng.random() < 0.5 else (taker, maker)
            price = START_PRICES[market] + rng.randrange(-20, 21) * 1_000
            if economics:
                commands.append(SettleTrade(f"t{k}", market, account_id(buyer), account_id(seller), price, rng.randrange(1, 5),
                                            maker_side=MakerSide.BUYER if k % 2 else MakerSide.SELLER))
            else:
                commands.append(SettleTrade(f"t{k}", market, account_id(buyer), account_id(seller), price, rng.randrange(1, 5), 10, 10))
        spacing_ms = ECONOMICS_ENTRY_SPACING_MS if economics else 1
        entries.append(LogEntry(first_index + n, 1_700_000_001_000 + n * spacing_ms, tuple(commands)))
    return entries


def random_log(seed: int, accounts: int, entries: int, commands_per_entry: int) -> Iterator[LogEntry]:
    """Opening entries, then a mix of trades (most), price moves with shocks, and withdrawals."""
    rng = random.Random(seed)
    opening = opening_entries(accounts, collateral=10**12)
    yield from opening
    prices = dict(START_PRICES)
    index = len(opening)
    source_time = START_TIME_MS
    for n in range(entries):
        index += 1
        entry_time = START_TIME_MS + index * ENTRY_SPACING_MS
        commands = []
        for k in range(commands_per_entry):
            cid = f"s{seed}-{n}-{k}"
            roll = rng.random()
            market = rng.choice(MARKETS)
            if roll < 0.05:
                # The feed's clock follows the leader's: fresh, and increasing per source.
                source_time = max(source_time + 1, entry_time)
                shock = rng.choice((0.9, 0.97, 0.99, 1.01, 1.03, 1.1)) if rng.random() < 0.2 else 1 + rng.uniform(-0.005, 0.005)
                prices[market] = max(1_000, int(prices[market] * shock) // 1_000 * 1_000)
                commands.append(demo_price(cid, market, prices[market], source_time))
            elif roll < 0.08:
                commands.append(Withdraw(cid, account_id(rng.randrange(accounts)), rng.randrange(1, 10**9)))
            elif roll < 0.09:
                commands.append(Deposit(cid, account_id(rng.randrange(accounts)), rng.randrange(1, 10**10)))
            else:
                buyer, seller = rng.sample(range(accounts), 2)
                price = max(1_000, (prices[market] + rng.randrange(-50, 51) * 1_000) // 1_000 * 1_000)
                commands.append(
                    SettleTrade(cid, market, account_id(buyer), account_id(seller), price,
                                rng.randrange(1, 20), rng.randrange(0, 100), rng.randrange(0, 100))
                )
        yield LogEntry(index, entry_time, tuple(commands))
