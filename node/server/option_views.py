"""The option parts of the read views (docs/design.md#options): an account's risk per underlying
(GetAccount) and an option market's mark volatility and greeks (GetMarket)."""

from __future__ import annotations

from node.api.settlement.v1 import state_pb2
from node.ledger.commands import MarketKind
from node.ledger.option_margin import account_option_risk, option_greeks
from node.ledger.portfolio_margin import SCENARIO_NAMES
from node.ledger.records import Market
from node.ledger.state import LedgerState


def account_options(state: LedgerState, account_id: str, message: state_pb2.Account) -> None:
    for underlying, requirement, greeks in account_option_risk(state, account_id):
        message.option_risk.append(state_pb2.OptionRisk(
            underlying=underlying,
            greeks=state_pb2.OptionGreeks(delta=greeks.delta, gamma=greeks.gamma, vega=greeks.vega),
            initial_margin=requirement.initial,
            maintenance_margin=requirement.maintenance,
            worst_scenario=SCENARIO_NAMES[requirement.worst_scenario],
            worst_loss=requirement.worst_loss,
            short_option_minimum=requirement.short_option_minimum,
            net_option_value=requirement.net_option_value,
        ))


def market_option(state: LedgerState, market_id: str, market: Market, message: state_pb2.Market) -> None:
    if market.kind != MarketKind.OPTION:
        return
    message.params.underlying = market.underlying
    message.mark_volatility_ppm = market.mark_volatility_ppm
    message.premium_time_ms = market.premium_time_ms
    greeks = option_greeks(state, market_id)
    message.greeks.CopyFrom(state_pb2.OptionGreeks(delta=greeks.delta, gamma=greeks.gamma, vega=greeks.vega))
