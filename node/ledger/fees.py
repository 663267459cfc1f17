"""Trading fees as money: a schedule per market, charged by the ledger, held in a ledger account.

A SettleTrade names its maker side (MakerSide.BUYER or SELLER); the ledger then charges the
market's schedule on the fill's notional (price x quantity): the taker pays
ceil(notional x taker_fee_bps / 10,000); the maker pays ceil(notional x maker_fee_bps / 10,000),
or, with a negative maker_fee_bps (a rebate), receives floor(notional x -maker_fee_bps / 10,000).
A rebate is at most the taker's fee by listing rule (-taker_fee_bps <= maker_fee_bps), and rounds
down while the taker's fee rounds up, so it is always paid out of the taker's fee, never out of
thin air: the fill's net fee is never negative.

A fill without a maker side carries its fees itself (buyer_fee, seller_fee >= 0, as the matching
engine set them before schedules existed); that is allowed only on a market without a schedule.
Naming a maker side and carrying fees is refused (INVALID_FEE), as is a missing maker side on a
market with a schedule (INVALID_MAKER_SIDE).

Either way the net fee is money: floor(net x fee_fund_share_bps / 10,000) goes to the market's
insurance fund, the rest to the ledger's fee account (`sys:fees`), which no client command can
touch. It leaves the ledger only through a quorum-signed WITHDRAW_FEES action (resume class:
guardian signatures at the high threshold), counted in `fees_withdrawn`. `fees_collected` counts
every net fee ever charged (a statistic; conservation counts the accounts).
"""

from __future__ import annotations

from .commands import MakerSide
from .limits import bps_denominator
from .records import Account, MarketTerms
from .state import FEE_ACCOUNT, META_FEES_COLLECTED, META_FEES_WITHDRAWN, LedgerState, market_fund


def schedule_fees(terms: MarketTerms, maker_side: int, notional: int) -> tuple[int, int]:
    """(buyer's fee, seller's fee) of a fill by the schedule; a negative fee is a rebate."""
    taker = -(-notional * terms.taker_fee_bps // bps_denominator)
    if terms.maker_fee_bps >= 0:
        maker = -(-notional * terms.maker_fee_bps // bps_denominator)
    else:
        maker = -(notional * -terms.maker_fee_bps // bps_denominator)
    return (maker, taker) if maker_side == MakerSide.BUYER else (taker, maker)


def credit_fees(state: LedgerState, market_id: str, terms: MarketTerms, net_fee: int) -> None:
    """The net fee of a fill: the fund's share to the market's fund, the rest to the fee account."""
    assert net_fee > 0, net_fee
    share = net_fee * terms.fee_fund_share_bps // bps_denominator
    if share:
        fund_id = market_fund(market_id)
        fund = state.accounts[fund_id]
        state.put_account(fund_id, Account(fund.collateral + share, fund.status))
    if net_fee - share:
        held = state.accounts.get(FEE_ACCOUNT)
        state.put_account(FEE_ACCOUNT, Account((held.collateral if held else 0) + net_fee - share))
    state.add_meta(META_FEES_COLLECTED, net_fee)


def fee_balance(state: LedgerState) -> int:
    held = state.accounts.get(FEE_ACCOUNT)
    return held.collateral if held else 0


def withdraw_fees_problem(state: LedgerState, amount: object) -> str | None:
    if type(amount) is not int or amount <= 0:
        return "amount must be a positive integer"
    if amount > fee_balance(state):
        return f"the fee account holds {fee_balance(state)}"
    return None


def withdraw_fees(state: LedgerState, amount: int) -> None:
    """A quorum-approved payout of collected fees: money leaving the ledger."""
    assert withdraw_fees_problem(state, amount) is None, amount
    state.put_account(FEE_ACCOUNT, Account(fee_balance(state) - amount))
    state.add_meta(META_FEES_WITHDRAWN, amount)
