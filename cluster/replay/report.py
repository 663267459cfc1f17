"""The replay's report, from a Run: a header, the timeline of decisions, the summary table (and
the same as plain data), and the JSON file (summary and timeline).
"""

from __future__ import annotations

import json
from pathlib import Path

from cluster.replay.run import Run, TimelineItem
from node.ledger.records import AccountStatus, GlobalMode
from node.ledger.events import MarginCall
from node.ledger.fees import fee_balance
from node.ledger.state import META_FEES_COLLECTED, META_FEES_WITHDRAWN, is_fund
from node.ledger.state_hash import hash_bytes
from node.units import duration, usd, utc_date


def format_header(run: Run, prices_path: str, scenario_path: str) -> str:
    scenario = run.scenario
    lines = [f"replay: {scenario.title}", f"  scenario {scenario_path}, prices {prices_path} ({len(run.rows)} rows)"]
    for m in scenario.markets:
        band = f"{m.band_bps} bps" if not m.band_volatility_pct else (
            f"{m.band_volatility_pct}% of volatility (half-life {duration(m.volatility_half_life_ms)}) "
            f"within {m.band_floor_bps}-{m.band_ceiling_bps} bps")
        lines.append(
            f"  {m.market}: sources {', '.join(s.source for s in m.sources)} (min {m.min_sources}, stale after "
            f"{duration(m.stale_after_ms)}), band {band}/{duration(m.band_window_ms)}, cooldown "
            f"{duration(m.cooldown_ms)}, slice {m.liquidation_slice_bps} bps, cascade {m.cascade_bps} bps/"
            f"{duration(m.cascade_window_ms)}"
        )
    lines.append(f"  starts {utc_date(run.t0_ms)} (t0 = {run.t0_ms} ms of ledger time); times below are UTC")
    return "\n".join(lines)


def format_timeline(run: Run, verbose: bool = False) -> str:
    """One line per decision. Unless verbose, mark changes are left out and a run of alike refused
    updates (same market, source, price and code, nothing else in between) is one line and a count."""
    width = max((len(utc_date(item.time_ms, suffix=False)) for item in run.timeline), default=19)
    lines = ["timeline", f"  {'time (UTC)':<{width}}  {'entry':>5}  {'market':<12} {'what':<11}  detail"]

    def line(item: TimelineItem, text: str) -> str:
        when = utc_date(item.time_ms, suffix=False)
        return f"  {when:<{width}}  {item.index:>5}  {item.market or '-':<12} {item.kind:<11}  {text}"

    alike: list[TimelineItem] = []  # repeats of the last printed item

    def flush() -> None:
        if alike:
            lines.append(line(alike[-1], f"... {len(alike)} more alike, the last at entry {alike[-1].index}"))
            alike.clear()

    last_key = ""
    for item in run.timeline:
        if item.kind == "MARK" and not verbose:
            continue
        if not verbose and item.repeat_key and item.repeat_key == last_key:
            alike.append(item)
            continue
        flush()
        lines.append(line(item, item.text))
        last_key = item.repeat_key
    flush()
    return "\n".join(lines)


def summary(run: Run) -> dict:
    """The summary as plain data (raw integers), for the table and --json."""
    state = run.state
    markets = {}
    for market_id in sorted(run.stats):
        stats, market = run.stats[market_id], state.markets[market_id]
        markets[market_id] = {
            "price_updates_accepted": stats.updates_accepted,
            "price_updates_refused": dict(sorted(stats.updates_refused.items())),
            "band_breaker_trips": stats.band_trips,
            "cascade_breaker_trips": stats.cascade_trips,
            "liquidations": stats.liquidations,
            "liquidated_accounts": len(stats.liquidated_accounts),
            "liquidated_notional": stats.liquidated_notional,
            "adl": stats.adl,
            "adl_contracts": stats.adl_contracts,
            "final_mark": market.mark_price,
            "final_status": market.status.name,
            "final_status_reason": market.status_reason.name,
            "final_verdict": market.oracle_verdict.name,
            "open_interest": state.open_interest[market_id],
            "fund_auctions": stats.fund_auctions,
            "fund_contracts_sold": stats.fund_contracts_sold,
            "fund_deadline_contracts": stats.fund_deadline_contracts,
            "funding_paid": stats.funding_paid,
            "funding_intervals": stats.funding_intervals,
            "funding_rate_sum": stats.funding_rate_sum,
            "funding_index": run.funding_index[market_id][-1][1] if run.funding_index.get(market_id) else 0,
        }
    # A fund is judged by its equity at the mark (node/ledger/fund_equity.py): cash plus the
    # unrealized result of the position it inherited; `position` is the contracts it holds.
    funds = {
        fund: {
            "start": run.funds_start[fund], "end": state.accounts[fund].collateral, "min": run.funds_min[fund],
            "equity_end": run.fund_equity[fund][-1][1], "equity_min": run.fund_equity_min[fund],
            "position_end": run.fund_positions[fund][-1][1], "position_max": run.fund_position_max[fund],
        }
        for fund in run.fund_ids
    }
    bankrupt = sorted(a for a, acc in state.accounts.items() if acc.status == AccountStatus.BANKRUPT and not is_fund(a))
    # Fees as money (node/ledger/fees.py): every net fee charged, the rest of it in sys:fees, the
    # difference in the markets' funds (nothing is withdrawn in a replay).
    collected, withdrawn, held = state.meta[META_FEES_COLLECTED], state.meta[META_FEES_WITHDRAWN], fee_balance(state)
    fees = {"collected": collected, "fee_account": held, "funds_share": collected - withdrawn - held}
    called = sorted({e.account for _, e in run.margin_call_events if isinstance(e, MarginCall)})
    margin_calls = {
        "placed": sum(1 for _, e in run.margin_call_events if isinstance(e, MarginCall)),
        "lifted": sum(1 for _, e in run.margin_call_events if not isinstance(e, MarginCall)),
        "accounts": called,
        "open_at_end": sorted(state.margin_calls),
    }
    data = {
        "title": run.scenario.title,
        "t0_ms": run.t0_ms,
        "markets": markets,
        "funds": funds,
        "accounts_bankrupt": bankrupt,
        "fees": fees,
        "margin_calls": margin_calls,
        "global_mode": GlobalMode(state.global_mode).name,
        "positions_never_opened": [item.label for item in run.unopened],
        "applied_entries": state.applied_index,
        "ledger_time_ms": state.ledger_time_ms,
        "state_hash": hash_bytes(state.state_hash).hex(),
    }
    if run.scenario.options:  # only scenarios with options: the others' output is unchanged
        data["options"] = option_summary(run)
    return data


def option_summary(run: Run) -> dict:
    """The option markets' premiums and the option accounts' equity against their scenario
    portfolio margin (docs/design.md#options), as raw integers."""
    state = run.state
    markets = {}
    for option in run.scenario.options:
        premiums = [mark for _, mark in run.marks.get(option.market, [])]
        market = state.markets[option.market]
        markets[option.market] = {
            "underlying": option.underlying,
            "option_type": market.option_type.name,
            "strike_price": market.strike_price,
            "expiry_ms": market.expiry_ms,
            "premium_first": premiums[0] if premiums else 0,
            "premium_max": max(premiums, default=0),
            "premium_end": market.mark_price,
            "volatility_ppm_end": market.mark_volatility_ppm,
        }
    option_ids = set(markets)
    accounts = {}
    for account_id, series in sorted(run.option_accounts.items()):
        slices = [e for _, e in run.liquidations if e.account == account_id]
        short_of_maintenance = [t for t, equity, _, maintenance, _ in series if equity < maintenance]
        underwater = [t for t, _, _, _, value in series if value < 0]
        held = state.positions.get(account_id) or {}
        accounts[account_id] = {
            "equity_start": series[0][1],
            "equity_min": min(row[1] for row in series),
            "equity_end": series[-1][1],
            "initial_start": series[0][2],
            "initial_max": max(row[2] for row in series),
            "initial_end": series[-1][2],
            "maintenance_max": max(row[3] for row in series),
            "maintenance_end": series[-1][3],
            "first_below_maintenance_ms": short_of_maintenance[0] if short_of_maintenance else None,
            "entries_below_maintenance": len(short_of_maintenance),
            "value_at_marks_min": min(row[4] for row in series),
            "value_at_marks_end": series[-1][4],
            "entries_underwater_at_marks": len(underwater),
            "first_underwater_at_marks_ms": underwater[0] if underwater else None,
            "liquidation_slices": len(slices),
            "option_liquidation_slices": sum(1 for e in slices if e.market in option_ids),
            "liquidated_contracts": sum(abs(e.size) for e in slices),
            "positions_end": {m: p.size for m, p in sorted(held.items()) if p.size},
            "status_end": state.accounts[account_id].status.name,
        }
    return {"markets": markets, "accounts": accounts}


def format_summary(run: Run) -> str:
    data = summary(run)
    market_ids = list(data["markets"])
    refused_codes = sorted({code for m in data["markets"].values() for code in m["price_updates_refused"]})
    rows: list[tuple[str, list[str]]] = [
        ("price updates accepted", [str(m["price_updates_accepted"]) for m in data["markets"].values()]),
    ]
    for code in refused_codes:
        verb = "not counted" if code in ("PRICE_OUTLIER", "PRICE_CLAMPED") else "refused"  # recorded, excluded from the mark
        rows.append((f"  {verb} {code}", [str(m["price_updates_refused"].get(code, 0)) for m in data["markets"].values()]))
    for label, key, render in (
        ("price-band breaker trips", "band_breaker_trips", str),
        ("cascade breaker trips", "cascade_breaker_trips", str),
        ("liquidation slices", "liquidations", str),
        ("accounts liquidated", "liquidated_accounts", str),
        ("liquidated notional", "liquidated_notional", usd),
        ("ADL (deleveragings)", "adl", str),
        ("ADL contracts", "adl_contracts", str),
        ("final mark", "final_mark", usd),
        ("final status", "final_status", str),
        ("final status reason", "final_status_reason", str),
        ("final oracle verdict", "final_verdict", str),
        ("open interest", "open_interest", str),
        ("fund auctions", "fund_auctions", str),
        ("fund contracts to backstops", "fund_contracts_sold", str),
        ("fund contracts ADL'd at deadline", "fund_deadline_contracts", str),
        ("funding payments (events)", "funding_paid", str),
        ("funding intervals", "funding_intervals", str),
        ("funding rates summed", "funding_rate_sum", _rate),
        ("funding index", "funding_index", str),
    ):
        rows.append((label, [render(m[key]) for m in data["markets"].values()]))
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(market_ids[i]), *(len(cells[i]) for _, cells in rows)) for i in range(len(market_ids))]
    lines = ["summary", "  " + " " * label_width + "  " + "  ".join(m.rjust(w) for m, w in zip(market_ids, widths))]
    for label, cells in rows:
        lines.append("  " + label.ljust(label_width) + "  " + "  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    fund_width = max(len(f) for f in data["funds"])
    cells = {f: [usd(v["start"]), usd(v["end"]), usd(v["min"]), usd(v["equity_end"]), usd(v["equity_min"]),
                 str(v["position_end"]), str(v["position_max"])] for f, v in data["funds"].items()}
    headers = ("cash start", "cash end", "cash min", "equity end", "equity min", "holds", "held max")
    col = max(10, *(len(c) for row in cells.values() for c in row))
    lines.append("")
    lines.append("  insurance funds: equity = cash + the inherited position at the mark; the floor judges the equity")
    lines.append("  " + "insurance fund".ljust(fund_width) + "  " + "  ".join(h.rjust(col) for h in headers))
    for fund, row in cells.items():
        lines.append("  " + fund.ljust(fund_width) + "  " + "  ".join(c.rjust(col) for c in row))
    lines.append("")
    bankrupt = data["accounts_bankrupt"]
    lines.append(f"  accounts bankrupt      {len(bankrupt)}" + (f" ({', '.join(bankrupt)})" if bankrupt else ""))
    if data["positions_never_opened"]:
        lines.append(f"  positions never opened {', '.join(data['positions_never_opened'])}")
    fees, calls = data["fees"], data["margin_calls"]
    lines.append(f"  fees collected         {usd(fees['collected'])}: {usd(fees['fee_account'])} in sys:fees, "
                 f"{usd(fees['funds_share'])} to the markets' funds")
    lines.append(f"  margin calls           {calls['placed']} placed, {calls['lifted']} lifted"
                 + (f" ({', '.join(calls['accounts'])})" if calls["accounts"] else "")
                 + (f"; still called: {', '.join(calls['open_at_end'])}" if calls["open_at_end"] else ""))
    lines.append(f"  global mode            {data['global_mode']}")
    lines.append(f"  applied entries        {data['applied_entries']}")
    lines.append(f"  ledger time            {utc_date(data['ledger_time_ms'])} ({duration(data['ledger_time_ms'] - run.t0_ms)} "
                 f"after the start; {data['ledger_time_ms']} ms)")
    lines.append(f"  state hash             {data['state_hash']}")
    if "options" in data:
        lines += [""] + _format_options(run, data["options"])
    return "\n".join(lines)


def _format_options(run: Run, options: dict) -> list[str]:
    lines = ["  options: the premium is the option's mark (option_pricing from the underlying's mark and the"
             " signed implied volatility)"]
    for market_id, m in options["markets"].items():
        lines.append(f"  {market_id:<16} {m['option_type']} {usd(m['strike_price'])} on {m['underlying']}, expires "
                     f"{utc_date(m['expiry_ms'])}: premium {usd(m['premium_first'])} first, {usd(m['premium_max'])} max, "
                     f"{usd(m['premium_end'])} at the end (volatility {m['volatility_ppm_end'] / 10_000:.0f}%)")
    lines.append("  option accounts: margin equity (collateral + linear pnl) against the scenario portfolio margin,"
                 " whose requirements hold the options' value; value = equity with the options at their marks")
    for account_id, a in options["accounts"].items():
        below = a["first_below_maintenance_ms"]
        when = (f"below maintenance in {a['entries_below_maintenance']} entries from {utc_date(below)}" if below is not None
                else "never below maintenance")
        under = a["first_underwater_at_marks_ms"]
        if under is not None:
            when += f"; value below zero in {a['entries_underwater_at_marks']} entries from {utc_date(under)}"
        held = ", ".join(f"{m} {size:+d}" for m, size in a["positions_end"].items()) or "flat"
        lines.append(f"  {account_id:<16} equity {usd(a['equity_start'])} -> {usd(a['equity_end'])} (min {usd(a['equity_min'])}); "
                     f"initial {usd(a['initial_start'])} -> {usd(a['initial_end'])} (max {usd(a['initial_max'])}), "
                     f"maintenance max {usd(a['maintenance_max'])}; value {usd(a['value_at_marks_end'])} "
                     f"(min {usd(a['value_at_marks_min'])})")
        lines.append(f"  {'':<16} {when}; {a['liquidation_slices']} liquidation slices ({a['liquidated_contracts']} contracts); "
                     f"{a['status_end']}, holds {held}")
    return lines


def _rate(billionths: int) -> str:
    """A funding rate (billionths of the mark) as a percentage."""
    return f"{billionths / 1e7:+.4f}%"


def write_json(run: Run, path: Path) -> None:
    data = summary(run)
    data["timeline"] = [
        {"time_ms": i.time_ms, "entry": i.index, "kind": i.kind, "market": i.market, "text": i.text}
        for i in run.timeline
    ]
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
