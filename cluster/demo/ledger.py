"""A short story told through the pure ledger: list a market, fund traders, trade, refuse a forged
price, crash the price, watch a liquidation and the market's insurance fund at work (`make demo`).
Prices are signed by the demo oracle source (cluster/demo/oracle.py) and verified with Ed25519.

    python -m cluster.demo.ledger
"""

from __future__ import annotations

from node.identity.keys import verify_ed25519
from node.ledger import INSURANCE_FUND, LedgerState, apply, check_full
from node.ledger.commands import Deposit, LogEntry, SettleTrade, Withdraw
from node.ledger.events import Deleveraged, Event, Liquidation, OracleVerdictChanged
from node.ledger.margin import account_valuation
from node.ledger.records import GlobalMode, MarketStatus, OracleVerdict, StatusReason
from node.ledger.state_hash import hash_bytes

from cluster.demo.oracle import demo_price, forged_price
from cluster.ledger_workload import listing

MARKET = "BTC-PERP"
USD = 1_000_000  # quote minor units per dollar


def usd(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}${abs(minor) / USD:,.2f}"


class Story:
    def __init__(self) -> None:
        self.state = LedgerState()
        self.index = 0
        self.time_ms = 1_700_000_000_000

    def step(self, title: str, *commands) -> None:
        self.index += 1
        self.time_ms += 1_000
        outcome = apply(self.state, LogEntry(self.index, self.time_ms, tuple(commands)), verify_ed25519)
        check_full(self.state)
        print(f"\n== {self.index}. {title}")
        for result in outcome.results:
            detail = f" ({result.message})" if result.message else ""
            print(f"   {result.id:<14} {result.code.name}{detail}")
        for event in outcome.events:
            print(f"   EVENT {describe(event)}")
        self.table()

    def table(self) -> None:
        print(f"   {'account':<18}{'collateral':>16}{'position':>10}{'unrealized':>16}{'maint. margin':>16}  status")
        for account_id in sorted(self.state.accounts):
            account = self.state.accounts[account_id]
            position = self.state.position(account_id, MARKET)
            pnl, _, _, maintenance = account_valuation(self.state, account_id)
            size = position.size if position else 0
            print(
                f"   {account_id:<18}{usd(account.collateral):>16}{size:>10}{usd(pnl):>16}"
                f"{usd(maintenance):>16}  {account.status.name}"
            )
        print(f"   state hash {hash_bytes(self.state.state_hash).hex()[:16]}…  ledger time {self.state.ledger_time_ms}")


def describe(event: Event) -> str:
    if isinstance(event, Liquidation):
        return (
            f"liquidation: {event.account} closed {event.size} {event.market} at {usd(event.price)} "
            f"({event.fund_size} to the market fund, {event.deleveraged_size} deleveraged, {event.remaining} left), "
            f"fee {usd(event.fee)}, fund paid {usd(event.fund_paid)}, uncovered {usd(event.uncovered)}"
        )
    if isinstance(event, Deleveraged):
        return f"deleveraged: {event.account} closed {event.size} {event.market} at {usd(event.price)} against {event.against}"
    if isinstance(event, OracleVerdictChanged):
        return (
            f"oracle: {event.market} is {OracleVerdict(event.verdict).name} "
            f"({event.fresh_sources} fresh sources, mark {usd(event.mark)})"
        )
    if hasattr(event, "status"):
        return f"{event.market} is {MarketStatus(event.status).name} ({StatusReason(event.reason).name.lower()})"
    if hasattr(event, "mode"):
        return f"the venue is {GlobalMode(event.mode).name}"
    return repr(event)


def main() -> None:
    story = Story()
    mark = 60_000 * USD
    story.step(
        "List BTC-PERP (10% initial, 5% maintenance margin, 1% liquidation fee) and set a first mark",
        listing(MARKET),
        demo_price("px-1", MARKET, mark, story.time_ms),
    )
    story.step(
        "Custodian credits three traders and seeds the insurance fund",
        Deposit("dep-alice", "alice", 20_000 * USD),
        Deposit("dep-bob", "bob", 50_000 * USD),
        Deposit("dep-carol", "carol", 7_000 * USD),
        Deposit("dep-fund", INSURANCE_FUND, 5_000 * USD),
    )
    story.step(
        "Matching engine settles fills: carol goes long 1 BTC at 10x, bob takes the other side",
        SettleTrade("fill-1", MARKET, "carol", "bob", mark, 1, 6 * USD, 6 * USD),
        SettleTrade("fill-2", MARKET, "alice", "bob", mark, 2, 12 * USD, 12 * USD),
    )
    story.step(
        "A trade that would leave carol below initial margin is refused, and changes nothing",
        SettleTrade("fill-3", MARKET, "carol", "bob", mark, 1, 6 * USD, 6 * USD),
    )
    story.step(
        "alice tries to withdraw more than her free collateral; a retried fill is answered from dedup",
        Withdraw("wd-alice", "alice", 19_000 * USD),
        SettleTrade("fill-1", MARKET, "carol", "bob", mark, 1, 6 * USD, 6 * USD),
    )
    story.step(
        "A price of $30,000 signed with a key the market never registered is refused, and changes nothing",
        forged_price("px-forged", MARKET, 30_000 * USD, story.time_ms + 1),
    )
    story.step(
        "BTC falls 9%: carol is below maintenance margin; BTC-PERP's own fund takes her position over",
        demo_price("px-2", MARKET, 54_600 * USD, story.time_ms + 1),
    )
    story.step("BTC recovers to $63,000", demo_price("px-3", MARKET, 63_000 * USD, story.time_ms + 2))
    story.step(  # an entry of its own: an entry's prices make its mark at its end
        "alice's $6,000 unrealized profit is not withdrawable, her free collateral is",
        Withdraw("wd-alice-2", "alice", 10_000 * USD),
        Withdraw("wd-alice-3", "alice", 7_000 * USD),
    )
    print("\nEvery entry above was checked against the ledger's invariants (conservation, zero net")
    print("position per market, no negative active collateral, exactly-once, full state-hash recompute).")


if __name__ == "__main__":
    main()
