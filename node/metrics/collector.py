"""Gauges derived from the replica at scrape time, so the apply path pays nothing for them.

`collect()` takes the replica's status (Raft role, term, indices, peers, checkpoint state) and one
short read of the ledger state under the replica's lock: per market its status, breaker and oracle
verdict and fund balance (O(markets), at most limits.markets_max), per underlying its options'
totals (one valuation per option market), the global fund and mode, the
checkpoint epoch, and LMDB's page counts. No account is ever a label: the only per-entity labels
are market ids and peer node ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from node.ledger.fund_equity import fund_equity, funds_equity_total
from node.ledger.option_margin import open_interest_greeks
from node.ledger.policy_params import governed
from node.ledger.records import StatusReason
from node.ledger.state import INSURANCE_FUND, META_CHECKPOINT_EPOCH, META_GLOBAL_MODE, LedgerState, market_fund

log = logging.getLogger("settle.metrics")

# The market status reasons that mean a breaker (price band, its grace, cascade) holds the market.
BREAKER_REASONS = frozenset({StatusReason.PRICE_BAND, StatusReason.BREAKER_GRACE, StatusReason.CASCADE})


@dataclass(frozen=True, slots=True)
class MarketGauges:
    market: str
    status: int  # records.MarketStatus number
    reason: int  # records.StatusReason number
    breaker: bool
    verdict: int  # records.OracleVerdict number
    fund: int
    fund_equity: int = 0  # cash + the unrealized result of its position at the mark (fund_equity.py)
    fund_position: int = 0  # contracts the fund holds (its inherited position)
    fund_auction: int = 0  # 1 while its auction runs (fund_unwinding.py)


@dataclass(frozen=True, slots=True)
class LedgerGauges:
    global_fund: int
    funds_total: int
    global_mode: int
    checkpoint_epoch: int
    markets: tuple[MarketGauges, ...]
    lmdb_used_bytes: int | None
    lmdb_map_bytes: int | None
    dedup_records: int = 0  # command ids remembered for exactly-once (retention.py bounds them)
    funds_equity: int = 0  # every fund together at the marks: what the floor judges
    replay_windows: int = 0  # submitter streams whose replay window is kept
    insurance_fund_floor: int = 0  # the governed floor (policy_params.py)
    option_underlyings: tuple[OptionUnderlyingGauges, ...] = ()  # per underlying with options listed


@dataclass(frozen=True, slots=True)
class OptionUnderlyingGauges:
    """Per underlying, its options' totals (docs/design.md#options): no account label."""

    underlying: str
    holders: int  # accounts holding a non-zero option on it: what its option sweep evaluates
    delta: int  # billionths of the underlying: the long side of every option on it (open interest x one contract's)
    gamma: int  # billionths of delta per 1% move
    vega: int  # quote minor units per volatility point


def ledger_gauges(state: LedgerState, store=None) -> LedgerGauges:
    """What the gauges show, read from `state` (call it under the replica's lock)."""
    accounts = state.accounts
    markets = tuple(
        MarketGauges(
            market=market_id, status=int(m.status), reason=int(m.status_reason),
            breaker=m.status_reason in BREAKER_REASONS, verdict=int(m.oracle_verdict),
            fund=accounts[fund_id].collateral if (fund_id := market_fund(market_id)) in accounts else 0,
            fund_equity=fund_equity(state, fund_id) if fund_id in accounts else 0,
            fund_position=p.size if (p := state.position(fund_id, market_id)) else 0,
            fund_auction=int(market_id in state.unwinding),
        )
        for market_id, m in sorted(state.markets.items())
    )
    used = map_size = None
    env = getattr(store, "_env", None)  # None once the store is closed
    if env is not None:
        info, stat = env.info(), env.stat()
        used, map_size = (info["last_pgno"] + 1) * stat["psize"], info["map_size"]
    return LedgerGauges(
        global_fund=accounts[INSURANCE_FUND].collateral if INSURANCE_FUND in accounts else 0,
        funds_total=state.funds_total,
        global_mode=int(state.meta[META_GLOBAL_MODE]),
        checkpoint_epoch=int(state.meta[META_CHECKPOINT_EPOCH]),
        markets=markets, lmdb_used_bytes=used, lmdb_map_bytes=map_size,
        dedup_records=len(state.dedup), replay_windows=sum(len(group) for group in state.window_uses.values()),
        funds_equity=funds_equity_total(state), insurance_fund_floor=governed(state, "insurance_fund_floor"),
        option_underlyings=tuple(_option_underlying(state, underlying) for underlying in sorted(state.options_of)),
    )


def _option_underlying(state: LedgerState, underlying: str) -> OptionUnderlyingGauges:
    greeks = open_interest_greeks(state, underlying)  # O(options on it): one valuation each
    return OptionUnderlyingGauges(underlying, len(state.option_holders.get(underlying, ())), greeks.delta, greeks.gamma, greeks.vega)


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels) if labels else None)
    family.add_metric(list(labels.values()) if labels else [], value)
    return family


class StateCollector(Collector):
    """Registered in the node's registry; `replica` is a node.replica.Replica (status(), read(),
    store)."""

    def __init__(self, replica) -> None:
        self._replica = replica

    def describe(self):
        return []  # families are computed at scrape time; nothing to check at registration

    def collect(self):
        try:
            status = self._replica.status()
            gauges, _ = self._replica.read(lambda state: ledger_gauges(state, self._replica.store))
        except Exception:  # noqa: BLE001 - a scrape must never hurt the node: report it as down
            log.exception("metrics collection failed")
            yield _gauge("settle_metrics_collect_ok", "1 if the last scrape could read the replica", 0)
            return
        yield _gauge("settle_metrics_collect_ok", "1 if the last scrape could read the replica", 1)
        yield from raft_families(status)
        yield from ledger_families(gauges)


def raft_families(status):
    """Gauges from a ReplicaStatus (node/replica/port.py)."""
    yield _gauge("settle_node_info", "Always 1; labels name this node", 1, {"node_id": status.node_id})
    yield _gauge("settle_raft_leader", "1 if this node is the Raft leader", int(status.role.name == "LEADER"))
    yield _gauge("settle_raft_has_leader", "1 if this node knows a leader", int(status.leader_id is not None))
    yield _gauge("settle_raft_term", "Current Raft term", status.term)
    yield _gauge("settle_raft_commit_index", "Raft commit index known to this node", status.commit_index)
    yield _gauge("settle_applied_index", "Last entry applied to the ledger and store", status.applied_index)
    yield _gauge("settle_apply_lag_entries", "Committed entries not yet applied here",
                 max(0, status.commit_index - status.applied_index))
    connected = GaugeMetricFamily("settle_raft_peer_connected", "1 if the Raft connection to the peer is up", labels=["peer"])
    lag = GaugeMetricFamily("settle_raft_peer_lag_entries",
                            "Leader only: commit index minus the peer's match index", labels=["peer"])
    leader = status.role.name == "LEADER"
    for peer in status.peers:
        connected.add_metric([peer.node_id], int(peer.connected))
        if leader:
            lag.add_metric([peer.node_id], max(0, status.commit_index - peer.match_index))
    yield connected
    yield lag
    yield _gauge("settle_ready", "1 if the node serves (log replayed, not diverged)", int(status.ready))
    yield _gauge("settle_diverged", "1 if the node is fenced: its state disagrees with its store or a certificate",
                 int(status.diverged))
    yield _gauge("settle_checkpoint_certified_index", "Last certified checkpoint index this node verified",
                 status.verified_checkpoint_index)


def ledger_families(g: LedgerGauges):
    yield _gauge("settle_checkpoint_epoch", "Certified checkpoints so far (the ledger's epoch)", g.checkpoint_epoch)
    yield _gauge("settle_global_mode", "Venue mode: 1 NORMAL, 2 REDUCE_ONLY, 3 HALTED", g.global_mode)
    yield _gauge("settle_insurance_fund_global", "Global insurance fund balance (1e-6 USD)", g.global_fund)
    yield _gauge("settle_insurance_funds_total", "Global plus every market's fund, cash only (1e-6 USD)", g.funds_total)
    yield _gauge("settle_insurance_funds_equity",
                 "Global plus every market's fund at the marks: cash + unrealized result of inherited positions; "
                 "the floor judges this (1e-6 USD)", g.funds_equity)
    yield _gauge("settle_insurance_fund_floor", "Below this the venue goes REDUCE_ONLY (1e-6 USD)", g.insurance_fund_floor)
    yield _gauge("settle_markets", "Listed markets", len(g.markets))
    yield _gauge("settle_dedup_records", "Command ids remembered for exactly-once (bounded by dedup_retention_ms)", g.dedup_records)
    yield _gauge("settle_replay_windows", "Submitter streams whose replay window is kept", g.replay_windows)
    families = {
        "status": GaugeMetricFamily("settle_market_status", "1 ACTIVE, 2 REDUCE_ONLY, 3 HALTED, 4 SETTLED, 5 SETTLING", labels=["market"]),
        "reason": GaugeMetricFamily("settle_market_status_reason", "records.StatusReason number", labels=["market"]),
        "breaker": GaugeMetricFamily("settle_market_breaker_active", "1 if a breaker (band, grace, cascade) holds it", labels=["market"]),
        "verdict": GaugeMetricFamily("settle_market_oracle_verdict", "1 VALID, 2 STALE, 3 TOO_VOLATILE", labels=["market"]),
        "fund": GaugeMetricFamily("settle_market_insurance_fund", "The market's fund balance, cash only (1e-6 USD)", labels=["market"]),
        "fund_equity": GaugeMetricFamily("settle_market_insurance_fund_equity",
                                         "The market's fund at the mark: cash + unrealized result of its position (1e-6 USD)",
                                         labels=["market"]),
        "fund_position": GaugeMetricFamily("settle_market_insurance_fund_position",
                                           "Contracts the market's fund holds (inherited from liquidations)", labels=["market"]),
        "fund_auction": GaugeMetricFamily("settle_market_fund_auction_active",
                                          "1 while the market's fund auctions what it inherited", labels=["market"]),
    }
    for m in g.markets:
        families["status"].add_metric([m.market], m.status)
        families["reason"].add_metric([m.market], m.reason)
        families["breaker"].add_metric([m.market], int(m.breaker))
        families["verdict"].add_metric([m.market], m.verdict)
        families["fund"].add_metric([m.market], m.fund)
        families["fund_equity"].add_metric([m.market], m.fund_equity)
        families["fund_position"].add_metric([m.market], m.fund_position)
        families["fund_auction"].add_metric([m.market], m.fund_auction)
    yield from families.values()
    options = {
        "holders": GaugeMetricFamily("settle_option_holders", "Accounts holding a non-zero option on the underlying",
                                     labels=["underlying"]),
        "delta": GaugeMetricFamily("settle_option_open_interest_delta",
                                   "Delta of the long side of every option on the underlying, billionths of one contract",
                                   labels=["underlying"]),
        "gamma": GaugeMetricFamily("settle_option_open_interest_gamma",
                                   "Gamma of that long side, billionths of delta per 1% move", labels=["underlying"]),
        "vega": GaugeMetricFamily("settle_option_open_interest_vega",
                                  "Vega of that long side, 1e-6 USD per volatility point", labels=["underlying"]),
    }
    for o in g.option_underlyings:
        options["holders"].add_metric([o.underlying], o.holders)
        options["delta"].add_metric([o.underlying], o.delta)
        options["gamma"].add_metric([o.underlying], o.gamma)
        options["vega"].add_metric([o.underlying], o.vega)
    if g.option_underlyings:
        yield from options.values()
    if g.lmdb_used_bytes is not None:
        yield _gauge("settle_lmdb_used_bytes", "LMDB pages in use times the page size", g.lmdb_used_bytes)
        yield _gauge("settle_lmdb_map_size_bytes", "LMDB map size (the store's hard limit)", g.lmdb_map_bytes)
