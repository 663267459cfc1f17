"""What the `settle` CLI prints: readable text, or plain JSON for machines.

Text is for people: money in USD (the ledger's quote minor units, 1e-6 USD, exactly), contracts as
contracts, ledger times as UTC dates and spans as durations (node/units.py). JSON is for machines
and keeps the raw integers: integers as numbers (the protobuf JSON mapping would print int64 as
strings), enums as their names and bytes as hex, so `jq` and scripts read amounts directly.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import descriptor
from google.protobuf.message import Message

from node.api.settlement.v1 import cluster_pb2, events_pb2, state_pb2
from node.client.errors import SettlementError
from node.client.results import SubmitReply, SubmittedResult
from node.units import duration, usd, utc_date

state_hash_prefix_hex_digits = 12


def plain(message: Message) -> dict[str, Any]:
    """Every field of a message (defaults included) as JSON-ready Python values; a oneof also
    appears under its own name, holding the member that is set. (The API has no map fields.)"""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None and message.WhichOneof(oneof.name) != field.name:
            continue  # only the member that is set
        value = getattr(message, field.name)
        if field.is_repeated:
            out[field.name] = [_value(field, v) for v in value]
        elif field.message_type is not None and not message.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _value(field, value)
    oneofs = {oneof.name: message.WhichOneof(oneof.name) for oneof in message.DESCRIPTOR.oneofs}
    for name, member in oneofs.items():
        if name not in out:
            out[name] = member
    return out


def _value(field: descriptor.FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        return plain(value)
    if field.enum_type is not None:
        named = field.enum_type.values_by_number.get(value)
        return named.name if named else value
    if isinstance(value, bytes):
        return value.hex()
    return value


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=False)


# -- submit ---------------------------------------------------------------------------------


def result_plain(result: SubmittedResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "code": result.code.name,
        "ok": result.ok,
        "duplicate": result.duplicate,
        "message": result.message,
        "collateral": result.collateral,
        "counterparty_collateral": result.counterparty_collateral,
    }


def reply_json(reply: SubmitReply) -> str:
    return dumps({"applied_index": reply.applied_index, "results": [result_plain(r) for r in reply.results]})


def reply_text(reply: SubmitReply, *, shown: tuple[str, ...] = ()) -> str:
    """One line per result: code, id, the `shown` amounts (e.g. "collateral", in USD) if it
    succeeded, else the ledger's message; then the applied index."""
    lines = []
    for r in reply.results:
        words = [r.code.name + (" (duplicate: applied before)" if r.duplicate else ""), r.id]
        if r.ok:
            words += [f"{name}={usd(getattr(r, name))}" for name in shown]
        elif r.message and not r.duplicate:
            words.append(r.message)
        lines.append("  ".join(words))
    lines.append(f"applied index {reply.applied_index}")
    return "\n".join(lines)


# -- reads ----------------------------------------------------------------------------------


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows])


def _when(time_ms: int) -> str:
    """A ledger time for people; 0 (never / not yet) as "-"."""
    return utc_date(time_ms) if time_ms else "-"


def account_text(account: state_pb2.Account) -> str:
    status = state_pb2.Account.Status.Name(account.status)
    lines = [f"account {account.id}  {status}  collateral {usd(account.collateral)}  (applied index {account.applied_index})"]
    if account.HasField("margin_call"):
        call = account.margin_call
        lines.append(f"MARGIN CALL since {utc_date(call.since_ms)}: equity {usd(call.equity)} below the call level "
                     f"{usd(call.level)}; reduce-only until back at initial margin")
    if account.positions:
        rows = [[p.market, str(p.size), usd(p.cost_basis), usd(p.realized_pnl), usd(p.funding_owed)] for p in account.positions]
        lines.append(_table(["market", "contracts", "cost_basis", "realized_pnl", "funding_owed"], rows))
    else:
        lines.append("no positions")
    if account.option_risk:
        lines.append(_option_risk_table(account.option_risk))
    return "\n".join(lines)


def _greek(billionths: int) -> str:
    """A delta or gamma in billionths, exactly: 1_500_000_000 -> "+1.5"."""
    sign = "-" if billionths < 0 else "+"
    whole, fraction = divmod(abs(billionths), 10**9)
    digits = f"{fraction:09d}".rstrip("0")
    return f"{sign}{whole}{'.' + digits if digits else ''}"


def _option_risk_table(risks) -> str:
    """Per underlying: the book's greeks and the scenario portfolio margin (docs/design.md#options)."""
    rows = [
        [r.underlying, _greek(r.greeks.delta), _greek(r.greeks.gamma), usd(r.greeks.vega), usd(r.initial_margin),
         usd(r.maintenance_margin), f"{r.worst_scenario} ({usd(r.worst_loss)})"]
        for r in risks
    ]
    return "options by underlying (delta in contracts; gamma: delta per 1% move; vega per vol point)\n" + _table(
        ["underlying", "delta", "gamma", "vega", "initial", "maintenance", "worst scenario (loss)"], rows)


def contracts(count: int) -> str:
    """A quantity of contracts: "1 contract", "1,000,000 contracts"."""
    return f"{count:,} contract" + ("" if abs(count) == 1 else "s")


def _rate(billionths: int) -> str:
    """A rate in billionths (of the mark) as a percentage, exactly: 5_000_000 -> "+0.5%"."""
    sign = "-" if billionths < 0 else "+"
    whole, fraction = divmod(abs(billionths), 10_000_000)  # 1% = 10^7 billionths
    digits = f"{fraction:07d}".rstrip("0")
    return f"{sign}{whole}{'.' + digits if digits else ''}%"


def _settlement_text(market: state_pb2.Market) -> str:
    """How the settlement price stands (docs/design.md#settlement-price)."""
    p = market.params
    if market.settlement_price:
        return f"settled at {usd(market.settlement_price)}"
    where = "since expiry" if market.status == state_pb2.Market.SETTLING else f"of the {duration(p.settlement_window_ms)} window"
    average = f", average {usd(market.settlement_running_twap)}" if market.settlement_running_twap else ""
    counting = "the mark counts now" if market.settlement_counting_price else "the mark does not count now"
    return (f"{duration(market.settlement_valid_ms)} VALID {where} (needs {duration(market.settlement_valid_ms_needed)})"
            f"{average}; {counting}")


def market_text(market: state_pb2.Market) -> str:
    p = market.params
    status = state_pb2.Market.Status.Name(market.status)
    mark = f"{usd(market.mark_price)} per contract (source time {utc_date(market.mark_time_ms)})" if market.mark_price else "none yet"
    fields = [
        ("kind", plain(market.params)["kind"]),
        ("status", status + (f" ({market.status_reason})" if market.status_reason else "") + f" since {_when(market.status_since_ms)}"),
        ("mark", mark),
        ("open interest", f"{market.open_interest:,} / cap {contracts(p.open_interest_cap)}"),
        ("tick / lot", f"{usd(p.tick_size)} / {contracts(p.lot_size)}"),
        ("margin", f"initial {p.initial_margin_bps} bps, maintenance {p.maintenance_margin_bps} bps"),
        ("liquidation fee", f"{p.liquidation_fee_bps} bps"),
        ("bands", f"trade {p.trade_band_bps} bps, breaker {p.band_bps} bps over {duration(p.band_window_ms)}, "
                  f"cooldown {duration(p.cooldown_ms)}"),
    ]
    verdict = state_pb2.Market.OracleVerdict.Name(market.oracle_verdict) if market.oracle_verdict else "-"
    fresh = f", fresh until {utc_date(market.fresh_until_ms)}" if market.fresh_until_ms else ""
    twap = f"twap {usd(market.twap)}" if market.twap else "no twap yet"
    fields += [
        ("oracle", f"{verdict}{fresh}; needs {p.min_sources} of {len(p.sources)} sources fresh within {duration(p.stale_after_ms)}"),
        ("judging", (f"outliers beyond {p.outlier_bps} bps" if p.outlier_bps else "no outlier band")
         + (f", clamps after {duration(p.clamp_after_ms)}" if p.clamp_after_ms else ", no clamp rule")),
        ("volatility", f"{p.volatility_bps} bps from a {duration(p.twap_window_ms)} average ({twap})" if p.volatility_bps else "unguarded"),
        ("liquidation", f"slices of {p.liquidation_slice_bps} bps"
         + (f", at most {usd(p.liquidation_cap_notional)} per {duration(p.liquidation_window_ms)}" if p.liquidation_cap_notional else "")),
        ("market fund", f"{usd(market.fund)}" + (f" (takes at most {contracts(p.fund_position_cap)})" if p.fund_position_cap else "")),
        ("fees", f"maker {p.maker_fee_bps} bps, taker {p.taker_fee_bps} bps, {p.fee_fund_share_bps} bps of fees to the fund"
         if p.maker_fee_bps or p.taker_fee_bps else f"carried by each fill; {p.fee_fund_share_bps} bps of fees to the fund"),
        ("funding", f"every {duration(p.funding_interval_ms)}, capped at {p.funding_rate_cap_bps} bps; last rate "
         f"{_rate(market.funding_rate)} of the mark, next at {_when(market.next_funding_ms)}, index {market.funding_index} "
         f"(billionths of 1e-6 USD per contract), pool {usd(market.funding_pool)}"
         if p.funding_interval_ms else "none"),
        ("margin call", f"{p.margin_call_bps} bps" if p.margin_call_bps else "none"),
        ("adaptive", _adaptive_text(market)),
    ]
    if p.settlement_window_ms or market.settlement_price:
        fields.append(("settlement", _settlement_text(market)))
    prices = {s.source: s for s in market.sources}
    for source in p.sources:
        last = prices.get(source.source)
        if last and last.price:
            why = state_pb2.SourcePrice.Exclusion.Name(last.exclusion) if last.exclusion else ""
            signed = f"{last.price:,} ppm" if p.underlying else usd(last.price)  # an option's sources sign volatilities
            seen = f"{signed} at {utc_date(last.source_time_ms)}" + ("" if last.counted else f" (not counted{': ' + why if why else ''})")
            seen += f", {last.outlier_prints} outlier prints" if last.outlier_prints else ""
        else:
            seen = "no price yet"
        fields.append((f"  {source.source}", f"{seen}  key {source.public_key.hex()}"))
    if p.expiry_ms:
        fields.append(("expiry", utc_date(p.expiry_ms)))
    if p.underlying:  # an option (docs/design.md#options): mark is its premium
        kind = "call" if p.option_type == 1 else "put"
        fields.append(("option", f"European cash-settled {kind} on {p.underlying}, strike {usd(p.strike_price)}"))
        fields.append(("mark volatility", f"{market.mark_volatility_ppm:,} ppm" if market.mark_volatility_ppm else "none yet"))
        g = market.greeks
        fields.append(("greeks", f"delta {_greek(g.delta)}, gamma {_greek(g.gamma)} per 1%, vega {usd(g.vega)} per vol point"
                                 f" (one contract; premium made {_when(market.premium_time_ms)})"))
    width = max(len(name) for name, _ in fields)
    lines = [f"market {p.market}  (applied index {market.applied_index})"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in fields]
    return "\n".join(lines)


def _adaptive_text(market: state_pb2.Market) -> str:
    """The band and initial margin the mark's volatility sets (docs/design.md#adaptive-thresholds)."""
    p = market.params
    if not p.volatility_half_life_ms:
        return "static"
    text = f"volatility {market.volatility_ppm} ppm (half-life {p.volatility_half_life_ms} ms)"
    if p.band_volatility_pct:
        text += (f"; band {market.effective_band_bps} bps = {p.band_volatility_pct}% of it"
                 f" within {p.band_floor_bps}..{p.band_ceiling_bps}")
    if p.initial_margin_ceiling_bps:
        text += f"; initial margin {market.effective_initial_margin_bps} bps (at most {p.initial_margin_ceiling_bps})"
    return text


def guards_text(guards: state_pb2.Guards) -> str:
    lines = [
        f"mode {state_pb2.Guards.Mode.Name(guards.mode)}  insurance fund {usd(guards.insurance_fund)}"
        f"  ledger time {utc_date(guards.ledger_time_ms)}  (applied index {guards.applied_index})",
        f"fee account {usd(guards.fee_account)}  fees paid out {usd(guards.fees_withdrawn)}",
    ]
    if guards.breakers:
        lines.append(breakers_table(guards.breakers))
    else:
        lines.append("no breakers tripped")
    if guards.funds:
        # Judged at the mark: cash alone hides the loss of a position a fund inherited.
        lines.append(f"insurance funds: equity {usd(guards.funds_equity)} (floor {usd(guards.insurance_fund_floor)})")
        rows = []
        for f in guards.funds:
            held = ", ".join(f"{p.market} {contracts(p.size)} (cost {usd(p.cost_basis)})" for p in f.positions) or "-"
            auction = (f"since {utc_date(f.auction_started_ms)}, {f.auction_discount_bps} bps, ADL at {utc_date(f.auction_deadline_ms)}"
                       if f.auction_started_ms else "-")
            rows.append([f.account, usd(f.cash), usd(f.equity), held, auction, str(len(f.backstops))])
        lines.append(_table(["fund", "cash", "equity", "positions", "auction", "backstops"], rows))
    return "\n".join(lines)


def breakers_table(breakers) -> str:
    """The tripped breakers: market, reason, when (UTC) and for how long."""
    rows = [[b.market, b.reason or "-", _when(b.tripped_at_ms), _when(b.until_ms),
             duration(b.until_ms - b.tripped_at_ms) if b.tripped_at_ms and b.until_ms else "-"] for b in breakers]
    return _table(["market", "breaker", "tripped at", "until", "for"], rows)


# -- cluster --------------------------------------------------------------------------------

STATUS_HEADER = ["address", "node", "role", "leader", "term", "commit", "applied", "state_hash", "ready"]


def status_text(rows: list[tuple[str, cluster_pb2.ClusterStatus | SettlementError]]) -> str:
    table, notes = [], []
    for address, status in rows:
        if isinstance(status, SettlementError):
            table.append([address, "-", "UNREACHABLE", "-", "-", "-", "-", "-", "-"])
            continue
        ready = "diverged" if status.diverged else ("yes" if status.ready else "no")
        if status.diverged:
            notes.append(f"{status.node_id} DIVERGED {status.diverged_reason}")
        if status.signer_set_problem:
            notes.append(f"{status.node_id} signer set: {status.signer_set_problem}")
        table.append(
            [
                address,
                status.node_id,
                cluster_pb2.ClusterStatus.Role.Name(status.role),
                status.leader or "-",
                str(status.term),
                str(status.commit_index),
                str(status.applied_index),
                status.state_hash.hex()[:state_hash_prefix_hex_digits] or "-",
                ready,
            ]
        )
    return "\n".join([_table(STATUS_HEADER, table), *notes])


def status_json(rows: list[tuple[str, cluster_pb2.ClusterStatus | SettlementError]]) -> str:
    nodes = []
    for address, status in rows:
        if isinstance(status, SettlementError):
            nodes.append({"address": address, "reachable": False, "error": str(status)})
        else:
            nodes.append({"address": address, "reachable": True, **plain(status)})
    return dumps({"nodes": nodes})


# -- events ---------------------------------------------------------------------------------


def event_text(event: events_pb2.Event) -> str:
    kind = event.WhichOneof("kind")
    body = plain(getattr(event, kind)) if kind else {}
    details = " ".join(f"{name}={value}" for name, value in body.items())
    return f"index {event.applied_index}.{event.position}  {utc_date(event.time_ms)}  {kind or 'unknown'}  {details}"
