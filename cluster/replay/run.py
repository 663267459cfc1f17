"""The replay's run: the scenario set up in one entry, then one `node.ledger.apply` entry per
distinct CSV time (real Ed25519 verifier, node.identity.keys.verify_ed25519), stamped with that time.

`replay` collects what the ledger decided into a Run: the timeline of guard decisions (price
updates refused, oracle verdicts, breaker trips, market status changes, liquidation slices,
auto-deleveraging, global mode changes, insurance fund balances), the series the plot draws and
per-market statistics. The report and the plot read a Run; nothing here prints or draws.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from cluster.replay.full_check import FullCheck
from cluster.replay.governance import BatchSigner, genesis, register_backstop
from cluster.replay.prices import PriceRow
from cluster.replay.scenario import OptionSetup, Scenario, ScenarioError, Scheduled, source_key
from node.identity.keys import sign_price, verify_ed25519
from node.ledger import INSURANCE_FUND, LedgerState, LogEntry, apply
from node.ledger.commands import Command, CreateMarket, Deposit, PriceUpdate, SettleTrade, Withdraw
from node.ledger.events import (
    ActionTaken,
    BandChanged,
    BreakerTripped,
    Deleveraged,
    FundAuctionEnded,
    FundAuctionStarted,
    FundDeadlineDeleveraged,
    FundingPaid,
    FundSliceSold,
    GlobalModeChanged,
    Liquidation,
    MarginCall,
    MarginCallLifted,
    MarketSettled,
    MarketStatusChanged,
    OracleVerdictChanged,
    SourceClamped,
    SourceOutlier,
)
from node.ledger.fees import fee_balance
from node.ledger.fund_equity import fund_equity
from node.ledger.margin import account_valuation
from node.ledger.funding import current_index
from node.ledger.limits import entry_commands_max
from node.ledger.records import AccountStatus, GlobalMode, GlobalReason, MarketStatus, OracleVerdict, SettlementMethod, StatusReason
from node.ledger.results import Result, ResultCode
from node.ledger.state import is_fund, market_fund
from node.units import duration, usd, utc_date


@dataclass(frozen=True, slots=True)
class TimelineItem:
    time_ms: int
    index: int  # the entry
    kind: str  # PRICE, VERDICT, BAND, BREAKER, STATUS, LIQUIDATION, ADL, ACCOUNT, FUND, GLOBAL, COMMAND, MARK, NOTE
    market: str  # "" when none
    text: str
    repeat_key: str = ""  # items with the same key in a row are printed once, with a count (not --verbose)


@dataclass(slots=True)
class MarketStats:
    updates_accepted: int = 0
    updates_refused: Counter = field(default_factory=Counter)  # result code name -> count
    band_trips: int = 0
    cascade_trips: int = 0
    liquidations: int = 0  # slices
    liquidated_notional: int = 0
    liquidated_accounts: set = field(default_factory=set)
    adl: int = 0  # Deleveraged events
    adl_contracts: int = 0
    fund_auctions: int = 0  # auctions started (the market's fund inherited a position)
    fund_slices_sold: int = 0  # slices backstops took
    fund_contracts_sold: int = 0
    fund_deadline_contracts: int = 0  # contracts auto-deleveraged at the auction's deadline
    funding_paid: int = 0  # FundingPaid events
    funding_intervals: int = 0  # intervals they covered
    funding_rate_sum: int = 0  # sum of rate x intervals, billionths of the mark


@dataclass(slots=True)
class Run:
    """What a replay collected: the timeline, the series for the plot, the statistics."""

    scenario: Scenario
    rows: tuple[PriceRow, ...]
    t0_ms: int
    state: LedgerState = field(default_factory=LedgerState)
    timeline: list[TimelineItem] = field(default_factory=list)
    stats: dict[str, MarketStats] = field(default_factory=dict)
    marks: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # market -> (time, mark)
    statuses: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # market -> (time, status)
    global_modes: list[tuple[int, int]] = field(default_factory=list)  # (time, the venue's GlobalMode)
    funds: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # fund -> (time, balance)
    # fund -> (time, equity at the marks) and (time, contracts held): what the fund is worth and holds
    fund_equity: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    fund_positions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    fund_sales: list[tuple[int, FundSliceSold]] = field(default_factory=list)
    fund_deadlines: list[tuple[int, FundDeadlineDeleveraged]] = field(default_factory=list)
    refused_rows: list[PriceRow] = field(default_factory=list)
    band_trips: list[tuple[int, BreakerTripped]] = field(default_factory=list)
    cascade_trips: list[tuple[int, str, int]] = field(default_factory=list)  # (time, market, mark)
    liquidations: list[tuple[int, Liquidation]] = field(default_factory=list)
    deleveraged: list[tuple[int, Deleveraged]] = field(default_factory=list)
    unopened: list[Scheduled] = field(default_factory=list)
    funds_start: dict[str, int] = field(default_factory=dict)
    funds_min: dict[str, int] = field(default_factory=dict)
    fund_equity_min: dict[str, int] = field(default_factory=dict)
    fund_position_max: dict[str, int] = field(default_factory=dict)  # the largest |contracts| held
    fee_account: list[tuple[int, int]] = field(default_factory=list)  # (time, sys:fees balance)
    funding_index: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # market -> (time, index)
    funding_events: list[tuple[int, FundingPaid]] = field(default_factory=list)
    margin_call_events: list[tuple[int, MarginCall | MarginCallLifted]] = field(default_factory=list)
    trades: list[tuple[int, SettleTrade]] = field(default_factory=list)  # the scenario's fills the ledger accepted, as sent
    full_check: FullCheck | None = None  # what the default full check did (None with --quick)
    # Accounts that ever held an option -> (time, equity, initial, maintenance, value at the marks)
    # after each entry: the margin equity the ledger judges (collateral + the linear positions' pnl;
    # a premium is cash at the fill), the scenario portfolio margin's requirements, which hold the
    # options' value (node/ledger/option_margin.py), and the equity with the options at their marks.
    option_accounts: dict[str, list[tuple[int, int, int, int, int]]] = field(default_factory=dict)
    volatility_prints: int = 0  # the implied volatilities the run signed for the options' sources

    @property
    def fund_ids(self) -> list[str]:
        return sorted([INSURANCE_FUND] + [market_fund(m.market) for m in self.scenario.markets])

    def add(self, time_ms: int, index: int, kind: str, market: str, text: str, repeat_key: str = "") -> None:
        self.timeline.append(TimelineItem(time_ms, index, kind, market, text, repeat_key))


def replay(scenario: Scenario, rows: tuple[PriceRow, ...], *, full_check: bool = True) -> Run:
    """Drive the ledger over the rows. `full_check` checks every invariant over every record after
    each entry and the state hash against a recomputation at powers of two and at the end
    (cluster/replay/full_check.py)."""
    scheduled = [s for s in scenario.positions + scenario.events if s.time_ms is not None]
    times = sorted({row.time_ms for row in rows} | {s.time_ms for s in scheduled})
    run = Run(scenario, rows, times[0])
    run.stats = {m.market: MarketStats() for m in scenario.markets}
    run.full_check = FullCheck() if full_check else None
    state = run.state
    keys = {name: source_key(name) for m in scenario.markets for name in sorted(scenario.source_names(m.market))}
    index = 0
    signer = BatchSigner() if scenario.backstops else None  # signed batches once the signer set is in
    previous_funds = {fund: 0 for fund in run.fund_ids}
    previous_status: dict[str, AccountStatus] = {}
    previous_marks: dict[str, int] = {}

    def run_entry(time_ms: int, commands: list[Command], labels: dict[str, Scheduled | PriceRow | OptionSetup]) -> None:
        nonlocal index
        if len(commands) > entry_commands_max:
            raise ScenarioError(f"{scenario.path}: {len(commands)} commands at time {time_ms}: at most {entry_commands_max} fit one entry")
        index += 1
        batches = signer.batches(commands, time_ms) if signer is not None and index > 1 else ()
        outcome = apply(state, LogEntry(index, time_ms, tuple(commands), batches), verify_ed25519)
        if run.full_check is not None:
            run.full_check.after_entry(state)
        _last_results[:] = outcome.results
        if index == 1:  # the setup entry: any refusal is a scenario error
            for command, result in zip(commands, outcome.results):
                if not result.ok:
                    raise _setup_error(scenario, command, result)
        for command, result in zip(commands, outcome.results):
            if command.id in labels:  # the scenario's rows and commands (the setup's were checked above)
                _record_result(run, time_ms, index, command, result, labels[command.id])
        # The ledger emits a slice's Deleveraged events before the slice itself: print each
        # slice first and its ADL right under it (the plot and --json are not affected).
        held_adl: list[Deleveraged] = []
        for event in outcome.events:
            if isinstance(event, Deleveraged):
                held_adl.append(event)
                continue
            _record_event(run, time_ms, index, event)
            if isinstance(event, Liquidation):
                for adl in [e for e in held_adl if e.against == event.account and e.market == event.market]:
                    _record_event(run, time_ms, index, adl)
                held_adl = [e for e in held_adl if not (e.against == event.account and e.market == event.market)]
        for adl in held_adl:
            _record_event(run, time_ms, index, adl)
        for account_id in sorted(state.accounts):
            status = state.accounts[account_id].status
            before = previous_status.get(account_id, AccountStatus.ACTIVE)
            if not is_fund(account_id) and status != before and index > 1:
                run.add(time_ms, index, "ACCOUNT", "", f"{account_id} {before.name} -> {status.name}")
            previous_status[account_id] = status
        for fund in run.fund_ids:
            balance = state.accounts[fund].collateral if fund in state.accounts else 0
            market = fund.removeprefix("sys:fund:") if fund != INSURANCE_FUND else ""
            held = state.position(fund, market) if market else None
            size = held.size if held else 0
            equity = fund_equity(state, fund) if fund in state.accounts else 0
            if balance != previous_funds[fund] and index > 1:  # the SETUP line shows the first balances
                delta = balance - previous_funds[fund]
                holding = f"; equity at the mark {usd(equity)}, holds {size}" if size else ""
                run.add(time_ms, index, "FUND", market,
                        f"{fund} {usd(previous_funds[fund])} -> {usd(balance)} ({'+' if delta > 0 else '-'}{usd(abs(delta))}){holding}")
            run.fund_equity.setdefault(fund, []).append((time_ms, equity))
            run.fund_positions.setdefault(fund, []).append((time_ms, size))
            if fund in run.fund_equity_min:
                run.fund_equity_min[fund] = min(run.fund_equity_min[fund], equity)
                run.fund_position_max[fund] = max(run.fund_position_max[fund], abs(size))
            run.funds.setdefault(fund, []).append((time_ms, balance))
            if fund in run.funds_start:
                run.funds_min[fund] = min(run.funds_min[fund], balance)
            previous_funds[fund] = balance
        run.fee_account.append((time_ms, fee_balance(state)))
        for account_id in sorted(state.option_accounts):
            run.option_accounts.setdefault(account_id, [])
        for account_id, series in run.option_accounts.items():
            pnl, _, initial, maintenance = account_valuation(state, account_id)
            equity = state.accounts[account_id].collateral + pnl
            options_value = sum(p.size * state.markets[m].mark_price for m, p in (state.positions.get(account_id) or {}).items()
                                if m in state.option_underlying)
            series.append((time_ms, equity, initial, maintenance, equity + options_value))
        run.global_modes.append((time_ms, state.global_mode))
        for market_id in sorted(run.stats):
            market = state.markets[market_id]
            run.funding_index.setdefault(market_id, []).append((time_ms, current_index(state, market_id)))
            run.statuses.setdefault(market_id, []).append((time_ms, market.status))
            if market.mark_price:
                run.marks.setdefault(market_id, []).append((time_ms, market.mark_price))
                if market.mark_price != previous_marks.get(market_id):
                    run.add(time_ms, index, "MARK", market_id, f"mark {usd(market.mark_price)} ({market.oracle_verdict.name})")
                previous_marks[market_id] = market.mark_price

    # Entry 1: list the markets (an option's expiry is relative to the series' first time), seed
    # the funds, fund the accounts.
    expiries = {o.market: run.t0_ms + o.expires_after_ms for o in scenario.options}
    setup: list[Command] = [replace(m, expiry_ms=expiries[m.market]) if m.market in expiries else m for m in scenario.markets]
    if scenario.insurance:
        setup.append(Deposit("fund-insurance", INSURANCE_FUND, scenario.insurance))
    setup += [Deposit(f"fund-{i + 1}", market_fund(m), amount) for i, (m, amount) in enumerate(scenario.market_funds) if amount]
    setup += [Deposit(f"dep-{i + 1}", account_id, amount) for i, (account_id, amount) in enumerate(scenario.accounts)]
    if scenario.backstops:
        setup.append(genesis(run.t0_ms))  # the replay's signer set: every later batch is signed
    run_entry(run.t0_ms, setup, {})
    run.funds_start = {fund: balance for fund, balance in previous_funds.items()}
    run.funds_min = dict(run.funds_start)
    run.fund_equity_min = {fund: series[-1][1] for fund, series in run.fund_equity.items()}
    run.fund_position_max = {fund: abs(series[-1][1]) for fund, series in run.fund_positions.items()}
    if scenario.backstops:
        actions = [register_backstop(f"backstop-{n + 1}", 1_000 + n, run.t0_ms, b.market, b.account, b.discount_bps, b.position_max)
                   for n, b in enumerate(scenario.backstops)]
        run_entry(run.t0_ms, actions, {})
        for backstop, action, result in zip(scenario.backstops, actions, _last_results):
            if not result.ok:
                at = f"{scenario.path}:{backstop.line}" if backstop.line else f"{scenario.path}"
                raise ScenarioError(f"{at}: [[backstops]] {backstop.account} ({backstop.market}): the ledger refused it: "
                                    f"{result.code.name} ({result.message})")
            run.add(run.t0_ms, index, "BACKSTOP", backstop.market,
                    f"{backstop.account} registered by a guardian quorum: takes the fund's position from "
                    f"{backstop.discount_bps} bps off the mark, at most {backstop.position_max} contracts")
    run.add(run.t0_ms, index, "SETUP", "",
            f"listed {', '.join(m.market for m in scenario.markets)}; funded {len(scenario.accounts)} accounts; "
            + ", ".join(f"{fund} {usd(run.funds_start[fund])}" for fund in run.fund_ids))

    pending = {m.market: [p for p in scenario.positions if p.time_ms is None and p.market == m.market] for m in scenario.markets}
    rows_at: dict[int, list[PriceRow]] = {}
    for row in rows:
        rows_at.setdefault(row.time_ms, []).append(row)
    scheduled_at: dict[int, list[Scheduled]] = {}
    for item in scheduled:
        scheduled_at.setdefault(item.time_ms, []).append(item)

    for time_ms in times:
        commands: list[Command] = []
        labels: dict[str, Scheduled | PriceRow | OptionSetup] = {}
        for row in rows_at.get(time_ms, ()):
            signature = sign_price(keys[row.source], row.market, row.source, row.price, row.source_time_ms)
            command = PriceUpdate(f"px-{row.line}", row.market, row.source, row.price, row.source_time_ms, signature)
            commands.append(command)
            labels[command.id] = row
        commands += _volatility_prints(run, keys, time_ms, {row.market for row in rows_at.get(time_ms, ())}, labels)
        for item in scheduled_at.get(time_ms, ()):
            if item.premium_bps is None:
                commands.append(item.command)
                labels[item.command.id] = item
        if commands:
            run_entry(time_ms, commands, labels)
        # Trades priced off the mark: their own entry right after, at the mark the price rows made.
        off_mark = [_priced(state, item) for item in scheduled_at.get(time_ms, ()) if item.premium_bps is not None]
        if off_mark:
            run_entry(time_ms, [item.command for item in off_mark], {item.command.id: item for item in off_mark})
        ready = [m for m in sorted(pending) if pending[m] and _valid_mark(state, m)]
        if ready:
            opening = [_priced(state, p) for p in scenario.positions if p.time_ms is None and p.market in ready]
            for market_id in ready:
                pending[market_id] = []
            run_entry(time_ms, [p.command for p in opening], {p.command.id: p for p in opening})
    for market_id in sorted(pending):
        for item in pending[market_id]:
            run.unopened.append(item)
            run.add(times[-1], index, "NOTE", market_id, f"{item.label} never opened: {market_id} never had a VALID mark")
    if run.full_check is not None:
        run.full_check.at_end(state)
    return run


_last_results: list[Result] = []  # the results of the entry run_entry applied last (the backstop check reads them)


def _priced(state: LedgerState, item: Scheduled) -> Scheduled:
    """A trade given as `premium_bps` off the mark, priced at the market's mark now (rounded
    down to the tick; at least one tick). Other commands as they are."""
    if item.premium_bps is None or not isinstance(item.command, SettleTrade):
        return item
    market = state.markets[item.market]
    tick = market.tick_size
    price = max(tick, market.mark_price * (10_000 + item.premium_bps) // 10_000 // tick * tick)
    return replace(item, command=replace(item.command, price=price))


def _volatility_prints(run: Run, keys: dict, time_ms: int, priced: set[str], labels: dict) -> list[Command]:
    """Each option's implied volatility in force at `time_ms`, signed by each of its sources, when
    its underlying has price rows at that time (scenario.OptionSetup)."""
    commands: list[Command] = []
    for option in run.scenario.options:
        if option.underlying not in priced:
            continue
        volatility_ppm = option.volatility_ppm(time_ms - run.t0_ms)
        for source in run.scenario.source_names(option.market):
            run.volatility_prints += 1
            signature = sign_price(keys[source], option.market, source, volatility_ppm, time_ms)
            command = PriceUpdate(f"iv-{run.volatility_prints}", option.market, source, volatility_ppm, time_ms, signature)
            commands.append(command)
            labels[command.id] = option
    return commands


def _valid_mark(state: LedgerState, market_id: str) -> bool:
    market = state.markets[market_id]
    return bool(market.mark_price) and market.oracle_verdict == OracleVerdict.VALID


def _setup_error(scenario: Scenario, command: Command, result: Result) -> ScenarioError:
    problem = f"the ledger refused it: {result.code.name} ({result.message})"
    if isinstance(command, CreateMarket):
        n = next(i for i, m in enumerate(scenario.markets) if m.market == command.market)
        line = scenario.market_lines[n]
        return ScenarioError(f"{scenario.path}:{line}: [[markets]] #{n + 1} ({command.market}): {problem}")
    if isinstance(command, Deposit) and command.id.startswith("fund-"):
        return ScenarioError(f"{scenario.path}: [funds] deposit to {command.account}: {problem}")
    return ScenarioError(f"{scenario.path}: [[accounts]] {getattr(command, 'account', '')}: {problem}")


_PRICE_VERDICT = {
    ResultCode.INVALID_PRICE: "INVALID",
    ResultCode.PRICE_CLAMPED: "CLAMPED",
    ResultCode.PRICE_OUTLIER: "OUTLIER",
    ResultCode.STALE_PRICE: "STALE",
}
# Recorded but not counted in the mark (oracle.py judges the source against the others).
_EXCLUDED = (ResultCode.PRICE_CLAMPED, ResultCode.PRICE_OUTLIER)


def _record_result(run: Run, time_ms: int, index: int, command: Command, result: Result, label) -> None:
    if isinstance(command, PriceUpdate):
        stats = run.stats[command.market]
        if result.ok:
            stats.updates_accepted += 1
            return
        stats.updates_refused[result.code.name] += 1
        if isinstance(label, PriceRow):
            run.refused_rows.append(label)
        verdict = _PRICE_VERDICT.get(result.code, "REFUSED")
        where = f" (csv line {label.line})" if isinstance(label, PriceRow) else ""
        shown = f"volatility {command.price} ppm" if isinstance(label, OptionSetup) else usd(command.price)
        run.add(time_ms, index, "PRICE", command.market,
                f"{verdict} {command.source} {shown} {'not counted' if result.code in _EXCLUDED else 'refused'} "
                f"{result.code.name}: {result.message}{where}",
                repeat_key=f"{command.market}/{command.source}/{command.price}/{result.code.name}")
        return
    assert isinstance(label, Scheduled), command
    if isinstance(command, SettleTrade):
        if result.ok:
            run.trades.append((time_ms, command))
        what = f"trade {command.buyer} buys {command.quantity} from {command.seller} @ {usd(command.price)}"
    elif isinstance(command, Withdraw):
        what = f"withdraw {command.account} {usd(command.amount)}"
    else:
        what = f"deposit {command.account} {usd(command.amount)}"
    outcome = "OK" if result.ok else f"refused {result.code.name}: {result.message}"
    note = f"  [{label.note}]" if label.note else ""
    run.add(time_ms, index, "COMMAND", label.market, f"{label.label}: {what}: {outcome}{note}")


def _record_event(run: Run, time_ms: int, index: int, event) -> None:
    if isinstance(event, Liquidation):
        stats = run.stats[event.market]
        stats.liquidations += 1
        stats.liquidated_notional += abs(event.size) * event.price
        stats.liquidated_accounts.add(event.account)
        run.liquidations.append((time_ms, event))
        side = "long" if event.size > 0 else "short"
        parts = [f"{event.account} {side} {abs(event.size)} @ {usd(event.price)}"]
        parts.append(f"fund took {abs(event.fund_size)}, ADL {abs(event.deleveraged_size)}")
        parts.append(f"fee {usd(event.fee)}")
        if event.fund_paid:
            parts.append(f"funds paid {usd(event.fund_paid)}")
        if event.uncovered:
            parts.append(f"UNCOVERED {usd(event.uncovered)}")
        parts.append(f"left {abs(event.remaining)}")
        run.add(time_ms, index, "LIQUIDATION", event.market, ", ".join(parts))
    elif isinstance(event, Deleveraged):
        stats = run.stats[event.market]
        stats.adl += 1
        stats.adl_contracts += abs(event.size)
        run.deleveraged.append((time_ms, event))
        side = "long" if event.size > 0 else "short"
        run.add(time_ms, index, "ADL", event.market,
                f"{event.account} {side} {abs(event.size)} closed against {event.against} @ {usd(event.price)}")
    elif isinstance(event, BandChanged):
        run.add(time_ms, index, "BAND", event.market,
                f"adaptive price band now {event.band_bps} bps (volatility {event.volatility_ppm / 10_000:.2f}%)")
    elif isinstance(event, BreakerTripped):
        run.stats[event.market].band_trips += 1
        run.band_trips.append((time_ms, event))
        run.add(time_ms, index, "BREAKER", event.market,
                f"price band tripped: mark {usd(event.price)} vs window reference {usd(event.reference)}; "
                f"HALTED for {duration(event.until_ms - time_ms)}, until {utc_date(event.until_ms)}")
    elif isinstance(event, MarketStatusChanged):
        market = run.state.markets[event.market]
        reason = StatusReason(event.reason)
        if reason == StatusReason.CASCADE and event.status == MarketStatus.REDUCE_ONLY:
            run.stats[event.market].cascade_trips += 1
            run.cascade_trips.append((time_ms, event.market, market.mark_price))
            run.add(time_ms, index, "BREAKER", event.market,
                    f"cascade breaker tripped: liquidations within {duration(market.cascade_window_ms)} above "
                    f"{market.cascade_bps} bps of the open interest's notional")
        current = (market.status, market.status_reason, market.status_since_ms) == (event.status, reason, event.at_ms)
        until = (f" for {duration(market.status_until_ms - time_ms)}, until {utc_date(market.status_until_ms)}"
                 if current and market.status_until_ms else "")
        reason_text = f" ({reason.name})" if reason != StatusReason.NONE else ""
        run.add(time_ms, index, "STATUS", event.market, f"market {MarketStatus(event.status).name}{reason_text}{until}")
    elif isinstance(event, OracleVerdictChanged):
        verdict = OracleVerdict(event.verdict)
        kept = " kept" if verdict == OracleVerdict.STALE else ""
        run.add(time_ms, index, "VERDICT", event.market,
                f"oracle {verdict.name}: {event.fresh_sources} fresh source{'s' if event.fresh_sources != 1 else ''}, "
                f"mark {usd(event.mark)}{kept}")
    elif isinstance(event, FundAuctionStarted):
        run.stats[event.market].fund_auctions += 1
        run.add(time_ms, index, "AUCTION", event.market,
                f"{market_fund(event.market)} holds {event.size} at mark {usd(event.mark)}: auction starts, "
                f"what is left at {utc_date(event.deadline_ms)} ({duration(event.deadline_ms - time_ms)}) is deleveraged")
    elif isinstance(event, FundSliceSold):
        stats = run.stats[event.market]
        stats.fund_slices_sold += 1
        stats.fund_contracts_sold += abs(event.size)
        run.fund_sales.append((time_ms, event))
        run.add(time_ms, index, "AUCTION", event.market,
                f"{event.backstop} takes {abs(event.size)} of the fund's {'long' if event.size > 0 else 'short'} @ "
                f"{usd(event.price)} ({event.discount_bps} bps off the mark)")
    elif isinstance(event, FundDeadlineDeleveraged):
        run.stats[event.market].fund_deadline_contracts += abs(event.size)
        run.fund_deadlines.append((time_ms, event))
        run.add(time_ms, index, "AUCTION", event.market,
                f"deadline: the fund's remaining {'long' if event.size > 0 else 'short'} {abs(event.size)} deleveraged @ {usd(event.price)}")
    elif isinstance(event, FundAuctionEnded):
        run.add(time_ms, index, "AUCTION", event.market, f"{market_fund(event.market)} is flat: auction over")
    elif isinstance(event, FundingPaid):
        stats = run.stats[event.market]
        stats.funding_paid += 1
        stats.funding_intervals += event.intervals
        stats.funding_rate_sum += event.rate * event.intervals
        run.funding_events.append((time_ms, event))
        payer = "longs pay shorts" if event.rate > 0 else "shorts pay longs" if event.rate < 0 else "nobody pays"
        run.add(time_ms, index, "FUNDING", event.market,
                f"{event.intervals} interval{'s' if event.intervals != 1 else ''} at {event.rate / 1e7:+.4f}% of mark "
                f"{usd(event.mark)} ({payer}); index {event.index}", repeat_key=f"{event.market}/funding/{event.rate}")
    elif isinstance(event, MarginCall):
        run.margin_call_events.append((time_ms, event))
        run.add(time_ms, index, "MARGIN CALL", "",
                f"{event.account} called: equity {usd(event.equity)} below its call level {usd(event.level)}; reduce-only")
    elif isinstance(event, MarginCallLifted):
        run.margin_call_events.append((time_ms, event))
        run.add(time_ms, index, "CALL LIFTED", "",
                f"{event.account}: equity {usd(event.equity)} back at initial margin {usd(event.initial)}")
    elif isinstance(event, ActionTaken):
        pass  # the replay's own backstop registrations: shown as BACKSTOP lines
    elif isinstance(event, SourceOutlier):
        pass  # shown as its update's OUTLIER line
    elif isinstance(event, SourceClamped):
        run.add(time_ms, index, "SOURCE", event.market,
                f"{event.source} CLAMPED at {usd(event.price)}, unchanged since {utc_date(event.since_ms)} while "
                "another source moved: not counted until it moves")
    elif isinstance(event, MarketSettled):
        how = (f"the average VALID mark over {duration(event.valid_ms)} of a {duration(event.window_ms)} window"
               if event.method == SettlementMethod.TWAP else "a guardian quorum's signed price")
        run.add(time_ms, index, "SETTLED", event.market, f"settled at {usd(event.price)}: {how}")
    elif isinstance(event, GlobalModeChanged):
        run.add(time_ms, index, "GLOBAL", "", f"global mode {GlobalMode(event.mode).name} ({GlobalReason(event.reason).name})")
    else:  # a new event type: still shown, never dropped
        run.add(time_ms, index, type(event).__name__.upper(), getattr(event, "market", ""), repr(event))
