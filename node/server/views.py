"""Read views: LedgerState -> the protobuf messages the Get* reads return.

Each view runs inside replica.read, under the replica's lock, and copies what it needs into a
fresh message, so nothing of the live state escapes the lock. A view answers None for an id the
ledger does not know; the service turns that into NOT_FOUND. The caller stamps applied_index.
"""

from __future__ import annotations

from collections.abc import Callable

from node.api.settlement.v1 import commands_pb2, state_pb2
from node.ledger.records import Market, MarketStatus, StatusReason
from node.ledger.state import INSURANCE_FUND, LedgerState


def account_view(account_id: str) -> Callable[[LedgerState], state_pb2.Account | None]:
    def view(state: LedgerState) -> state_pb2.Account | None:
        account = state.accounts.get(account_id)
        if account is None:
            return None
        positions = state.positions.get(account_id, {})
        return state_pb2.Account(
            id=account_id,
            collateral=account.collateral,
            status=int(account.status),
            positions=[
                state_pb2.Position(
                    market=market_id,
                    size=p.size,
                    cost_basis=p.cost_basis,
                    realized_pnl=p.realized_pnl,
                    funding_index=p.funding_index,
                )
                for market_id, p in sorted(positions.items())
            ],
        )

    return view


def _market_params(market_id: str, m: Market) -> commands_pb2.CreateMarket:
    return commands_pb2.CreateMarket(
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
    )


def market_view(market_id: str) -> Callable[[LedgerState], state_pb2.Market | None]:
    def view(state: LedgerState) -> state_pb2.Market | None:
        market = state.markets.get(market_id)
        if market is None:
            return None
        return state_pb2.Market(
            params=_market_params(market_id, market),
            status=int(market.status),
            mark_price=market.mark_price,
            mark_time_ms=market.mark_time_ms,
            open_interest=state.open_interest.get(market_id, 0),
            status_reason=StatusReason(market.status_reason).name.lower() if market.status_reason else "",
            breaker=_breaker(market_id, market),
            status_since_ms=market.status_since_ms,
        )

    return view


def _breaker(market_id: str, market: Market) -> state_pb2.Breaker:
    halted = market.status == MarketStatus.HALTED and market.status_reason == StatusReason.PRICE_BAND
    return state_pb2.Breaker(
        market=market_id,
        tripped_at_ms=market.breaker_tripped_at_ms,
        until_ms=market.status_until_ms if halted else 0,
        reason="price band" if market.breaker_tripped_at_ms else "",
    )


def guards_view(state: LedgerState) -> state_pb2.Guards:
    return state_pb2.Guards(
        mode=int(state.global_mode),
        insurance_fund=state.accounts[INSURANCE_FUND].collateral,
        breakers=[_breaker(m, state.markets[m]) for m in sorted(state.markets)],
    )
