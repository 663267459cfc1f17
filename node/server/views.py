"""Read views: LedgerState -> the protobuf messages the Get* reads return.

Each view runs inside replica.read, under the replica's lock, and copies what it needs into a
fresh message, so nothing of the live state escapes the lock. A view answers None for an id the
ledger does not know; the service turns that into NOT_FOUND. The caller stamps applied_index.
"""

from __future__ import annotations

from collections.abc import Callable

from node.api.settlement.v1 import commands_pb2, state_pb2
from node.ledger.action_payload import action_bytes
from node.ledger.checkpoints import certified
from node.ledger.governance import policy, signer, signer_ids
from node.ledger.records import GlobalReason, Market, MarketStatus, OracleSourceState, StatusReason
from node.ledger.fund_equity import fund_equity, funds_equity_total
from node.ledger.fund_unwinding import auction_discount_bps
from node.ledger.policy_params import DEFAULTS, GOVERNED, governed
from node.ledger.state import INSURANCE_FUND, META_CHECKPOINT_EPOCH, META_GLOBAL_REASON, LedgerState, market_fund
from node.server import option_views, perp_views
from node.server.adaptive_views import market_adaptive
from node.server.settlement_views import market_settlement


def account_view(account_id: str) -> Callable[[LedgerState], state_pb2.Account | None]:
    def view(state: LedgerState) -> state_pb2.Account | None:
        account = state.accounts.get(account_id)
        if account is None:
            return None
        positions = state.positions.get(account_id, {})
        message = state_pb2.Account(
            id=account_id,
            collateral=account.collateral,
            status=int(account.status),
            positions=[
                state_pb2.Position(
                    market=market_id,
                    size=p.size,
                    cost_basis=p.cost_basis,
                    realized_pnl=p.realized_pnl,
                    funding_index=perp_views.int64_or_zero(p.funding_index),
                )
                for market_id, p in sorted(positions.items())
            ],
        )
        for (market_id, p), position in zip(sorted(positions.items()), message.positions):
            perp_views.position_funding(state, market_id, p, position)
        perp_views.account_margin_call(state, account_id, message)
        option_views.account_options(state, account_id, message)
        return message

    return view


def _market_params(market_id: str, m: Market, sources: dict[str, OracleSourceState], unwind=None) -> commands_pb2.CreateMarket:
    params = commands_pb2.CreateMarket(
        market=market_id,
        kind=int(m.kind),
        tick_size=m.tick_size,
        lot_size=m.lot_size,
        initial_margin_bps=m.initial_margin_bps,
        maintenance_margin_bps=m.maintenance_margin_bps,
        liquidation_fee_bps=m.liquidation_fee_bps,
        open_interest_cap=m.open_interest_cap,
        trade_band_bps=m.trade_band_bps,
        band_bps=m.band_bps,
        band_window_ms=m.band_window_ms,
        cooldown_ms=m.cooldown_ms,
        expiry_ms=m.expiry_ms,
        strike_price=m.strike_price,
        option_type=int(m.option_type),
        open_interest_soft_cap=m.open_interest_soft_cap,
        position_cap=m.position_cap,
        cascade_window_ms=m.cascade_window_ms,
        cascade_bps=m.cascade_bps,
        sources=[commands_pb2.OracleSource(source=name, public_key=s.public_key) for name, s in sorted(sources.items())],
        min_sources=m.min_sources,
        stale_after_ms=m.stale_after_ms,
        volatility_bps=m.volatility_bps,
        twap_window_ms=m.twap_window_ms,
        liquidation_slice_bps=m.liquidation_slice_bps,
        liquidation_window_ms=m.liquidation_window_ms,
        liquidation_cap_notional=m.liquidation_cap_notional,
        fund_position_cap=m.fund_position_cap,
        outlier_bps=m.outlier_bps,  # always set: 0 is "off", an unset field would read as the default
        clamp_after_ms=m.clamp_after_ms,
        settlement_window_ms=m.settlement_window_ms,  # as listed: the default resolved
    )
    if unwind is not None:  # the fund's unwinding, kept in its own record (fund_unwinding.py)
        params.unwind_start_bps = unwind.start_bps
        params.unwind_slope_bps_per_minute = unwind.slope_bps_per_minute
        params.unwind_discount_max_bps = unwind.discount_max_bps
        params.unwind_slice_contracts = unwind.slice_contracts
        params.unwind_window_ms = unwind.window_ms
        params.unwind_deadline_ms = unwind.deadline_ms
    return params


def _position(market_id: str, p) -> state_pb2.Position:
    return state_pb2.Position(market=market_id, size=p.size, cost_basis=p.cost_basis, realized_pnl=p.realized_pnl,
                              funding_index=p.funding_index)


def fund_view(state: LedgerState, fund_id: str, market_id: str) -> state_pb2.Fund:
    """A fund as the guards judge it: cash, equity at the mark, its positions and its auction."""
    fund = state.accounts[fund_id]
    view = state_pb2.Fund(
        account=fund_id, market=market_id, cash=fund.collateral, equity=fund_equity(state, fund_id),
        positions=[_position(m, p) for m, p in sorted(state.positions.get(fund_id, {}).items()) if p.size],
    )
    unwind = state.fund_unwinds.get(market_id)
    if unwind is not None and unwind.started_ms:
        view.auction_started_ms = unwind.started_ms
        view.auction_deadline_ms = unwind.started_ms + unwind.deadline_ms
        view.auction_discount_bps = auction_discount_bps(unwind, state.ledger_time_ms)
    for account_id, terms in sorted(state.backstops.get(market_id, {}).items()):
        view.backstops.append(state_pb2.Backstop(account=account_id, discount_bps=terms["discount_bps"],
                                                 position_max=terms["position_max"]))
    return view


def market_view(market_id: str) -> Callable[[LedgerState], state_pb2.Market | None]:
    def view(state: LedgerState) -> state_pb2.Market | None:
        market = state.markets.get(market_id)
        if market is None:
            return None
        sources = state.oracle_sources.get(market_id, {})
        fund = state.accounts.get(market_fund(market_id))
        message = state_pb2.Market(
            params=_market_params(market_id, market, sources, state.fund_unwinds.get(market_id)),
            status=int(market.status),
            mark_price=market.mark_price,
            mark_time_ms=market.mark_time_ms,
            open_interest=state.open_interest.get(market_id, 0),
            status_reason=StatusReason(market.status_reason).name.lower() if market.status_reason else "",
            breaker=_breaker(market_id, market),
            status_since_ms=market.status_since_ms,
            oracle_verdict=int(market.oracle_verdict),
            fresh_until_ms=market.fresh_until_ms,
            twap=market.twap,
            twap_time_ms=market.twap_time_ms,
            fund=fund.collateral if fund else 0,
            sources=[_source_price(name, s) for name, s in sorted(sources.items())],
            liquidated_in_window=market.liquidated_in_window,
            liquidation_window_start_ms=market.liquidation_window_start_ms,
        )
        perp_views.market_terms_params(state, market_id, message.params)
        perp_views.market_funding(state, market_id, message)
        market_adaptive(market, message)
        market_settlement(market, state.ledger_time_ms, message)
        option_views.market_option(state, market_id, market, message)
        return message

    return view


def _source_price(source: str, s: OracleSourceState) -> state_pb2.SourcePrice:
    return state_pb2.SourcePrice(
        source=source, price=s.price, source_time_ms=s.source_time_ms, price_since_ms=s.price_since_ms, counted=bool(s.counted),
        exclusion=int(s.exclusion), outlier_prints=s.outlier_prints,
    )


def _breaker(market_id: str, market: Market) -> state_pb2.Breaker:
    halted = market.status == MarketStatus.HALTED and market.status_reason == StatusReason.PRICE_BAND
    return state_pb2.Breaker(
        market=market_id,
        tripped_at_ms=market.breaker_tripped_at_ms,
        until_ms=market.status_until_ms if halted else 0,
        reason="price band" if market.breaker_tripped_at_ms else "",
    )


def guards_view(state: LedgerState) -> state_pb2.Guards:
    message = state_pb2.Guards(
        mode=int(state.global_mode),
        insurance_fund=state.accounts[INSURANCE_FUND].collateral,
        breakers=[_breaker(m, state.markets[m]) for m in sorted(state.markets)],
        mode_reason=GlobalReason(state.meta[META_GLOBAL_REASON]).name.lower(),
        signer_set=signer_set_view(state),
        checkpoint_epoch=state.meta[META_CHECKPOINT_EPOCH],
        ledger_time_ms=state.ledger_time_ms,
        pending_changes=[
            _pending_change(state.governance[key]) for key in sorted(state.pending_changes)
        ],
        funds=[fund_view(state, INSURANCE_FUND, "")]
        + [fund_view(state, market_fund(m), m) for m in sorted(state.markets) if market_fund(m) in state.accounts],
        funds_equity=funds_equity_total(state),
        insurance_fund_floor=governed(state, "insurance_fund_floor"),
        policy_parameters=[
            state_pb2.PolicyParameter(name=name, value=governed(state, name), default_value=DEFAULTS[name],
                                      safer_when_higher=GOVERNED[name] > 0)
            for name in sorted(GOVERNED)
        ],
    )
    perp_views.guards_fees(state, message)
    return message


def signer_set_view(state: LedgerState) -> state_pb2.SignerSet | None:
    rules = policy(state)
    if rules is None:
        return None
    return state_pb2.SignerSet(
        cluster=rules["cluster"],
        signers=[
            state_pb2.Signer(key_id=k, role=signer(state, k)["role"], public_key=bytes.fromhex(signer(state, k)["public_key"]),
                             accounts=signer(state, k).get("accounts", []))
            for k in signer_ids(state)
        ],
        halt_threshold=rules["halt_threshold"],
        resume_threshold=rules["resume_threshold"],
        checkpoint_threshold=rules["checkpoint_threshold"],
        timelock_ms=rules["timelock_ms"],
        checkpoint_every_entries=rules["checkpoint_every_entries"],
        checkpoint_every_ms=rules["checkpoint_every_ms"],
        clock_lead_max_ms=rules["clock_lead_max_ms"],
        dedup_retention_ms=rules["dedup_retention_ms"],
    )


def _pending_change(record: dict) -> state_pb2.PendingChange:
    action = record["action"]
    return state_pb2.PendingChange(
        nonce=action["nonce"], kind=action["kind"], market=action.get("market", ""),
        effective_at_ms=record["effective_at_ms"], canonical_bytes=action_bytes(action),
    )


def checkpoint_view(state: LedgerState) -> state_pb2.Checkpoint | None:
    """The latest certified checkpoint, as the ledger recorded it; None before the first."""
    certificate = certified(state)
    if certificate is None:
        return None
    return state_pb2.Checkpoint(
        index=certificate["index"],
        state_hash=bytes.fromhex(certificate["hash"]),
        signatures=[state_pb2.CheckpointSignature(node=node, signature=bytes.fromhex(sig)) for node, sig in certificate["signatures"]],
        epoch=certificate["epoch"],
    )
