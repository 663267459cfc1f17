"""The read views' fee, funding and margin-call fields (issue 17), kept apart from views.py."""

from __future__ import annotations

from node.api.settlement.v1 import commands_pb2, state_pb2
from node.ledger.fees import fee_balance
from node.ledger.funding import owed
from node.ledger.limits import INT64_MAX, INT64_MIN
from node.ledger.market_terms import terms_of
from node.ledger.records import Position
from node.ledger.state import META_FEES_WITHDRAWN, LedgerState, funding_pool


def int64_or_zero(value: int) -> int:
    """An int64 wire field for a 128-bit ledger number: 0 when it does not fit (the exact value
    travels beside it as a decimal string)."""
    return value if INT64_MIN <= value <= INT64_MAX else 0


def position_funding(state: LedgerState, market_id: str, p: Position, message: state_pb2.Position) -> None:
    message.funding_index_exact = str(p.funding_index)
    funding = state.funding.get(market_id)
    if funding is not None and p.size:
        message.funding_owed = int64_or_zero(owed(p, funding.index))


def account_margin_call(state: LedgerState, account_id: str, message: state_pb2.Account) -> None:
    call = state.margin_calls.get(account_id)
    if call is not None:
        message.margin_call.CopyFrom(state_pb2.MarginCall(since_ms=call.since_ms, equity=call.equity, level=call.level))


def market_terms_params(state: LedgerState, market_id: str, params: commands_pb2.CreateMarket) -> None:
    terms = terms_of(state, market_id)
    params.maker_fee_bps = terms.maker_fee_bps
    params.taker_fee_bps = terms.taker_fee_bps
    params.fee_fund_share_bps = terms.fee_fund_share_bps
    params.funding_interval_ms = terms.funding_interval_ms
    params.funding_rate_cap_bps = terms.funding_rate_cap_bps
    params.margin_call_bps = terms.margin_call_bps


def market_funding(state: LedgerState, market_id: str, message: state_pb2.Market) -> None:
    funding = state.funding.get(market_id)
    if funding is None:
        return
    message.funding_rate = funding.rate
    message.next_funding_ms = funding.next_funding_ms
    message.funding_index = str(funding.index)
    message.funding_premium = funding.premium
    pool = state.accounts.get(funding_pool(market_id))
    message.funding_pool = pool.collateral if pool else 0


def guards_fees(state: LedgerState, message: state_pb2.Guards) -> None:
    message.fee_account = fee_balance(state)
    message.fees_withdrawn = state.meta[META_FEES_WITHDRAWN]
