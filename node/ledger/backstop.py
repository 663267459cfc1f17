"""Backstop liquidity providers: the accounts a market's fund auction offers its positions to.

A guardian quorum registers an account as a backstop of one market (REGISTER_BACKSTOP, resume
class: guardian signatures, at once), with its terms: the least discount from the mark it takes
(`discount_bps`) and the most contracts it will hold on the fund's side (`position_max`). The LP
agrees to these terms off the ledger; the registration is the venue's record of them. From then
on the fund's auction (fund_unwinding.py) fills it automatically once the auction's discount
reaches its own, within its limit and its margin: no command of the LP's is needed, so a backstop
is filled the same way on every replica, at the same index. UNREGISTER_BACKSTOP (guardian
signatures: node keys only halt, docs/design.md#bounded-governance) removes it at once.

Records: governance `backstop/<market>/<account>` = {"discount_bps", "position_max"} (canonical
JSON, in the state hash); `LedgerState.backstops` indexes them by market. At most
`backstops_per_market_max` per market.
"""

from __future__ import annotations

from .commands import ActionKind
from .limits import INT64_MAX, account_id_bytes_max, backstops_per_market_max, unwind_discount_max_bps_max
from .records import AccountStatus
from .state import BACKSTOP_PREFIX, LedgerState
from .validation import is_client_account_id

BACKSTOP_KINDS = (ActionKind.REGISTER_BACKSTOP, ActionKind.UNREGISTER_BACKSTOP)


def backstop_key(market_id: str, account_id: str) -> str:
    return f"{BACKSTOP_PREFIX}{market_id}/{account_id}"


def _is_int(value: object) -> bool:
    return type(value) is int


def backstop_problem(payload: dict) -> str | None:
    """Why a (UN)REGISTER_BACKSTOP's fields are malformed, or None (checked before signatures)."""
    account_id = payload.get("account")
    if not is_client_account_id(account_id, account_id_bytes_max):
        return "account must be a client account id: 1-64 bytes of [A-Za-z0-9._:-], not sys:"
    if payload["kind"] == ActionKind.REGISTER_BACKSTOP.name:
        discount, position_max = payload.get("discount_bps"), payload.get("position_max")
        if not (_is_int(discount) and 0 <= discount <= unwind_discount_max_bps_max):
            return f"discount_bps must be an integer within 0..{unwind_discount_max_bps_max}"
        if not (_is_int(position_max) and 0 < position_max <= INT64_MAX):
            return "position_max must be a positive int64 (contracts)"
    return None


def backstop_refusal(state: LedgerState, payload: dict) -> str | None:
    """Why an approved (UN)REGISTER_BACKSTOP cannot take effect now, or None."""
    market_id, account_id = payload["market"], payload["account"]
    registered = state.backstops.get(market_id, {})
    if payload["kind"] == ActionKind.UNREGISTER_BACKSTOP.name:
        return None if account_id in registered else f"{account_id} is not a backstop of {market_id}"
    account = state.accounts.get(account_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        return f"{account_id} is not an active account"
    if payload["position_max"] % state.markets[market_id].lot_size:
        return f"position_max must be a multiple of the market's lot size {state.markets[market_id].lot_size}"
    if account_id not in registered and len(registered) >= backstops_per_market_max:
        return f"at most {backstops_per_market_max} backstops per market"
    return None


def apply_backstop_action(state: LedgerState, payload: dict) -> None:
    key = backstop_key(payload["market"], payload["account"])
    if payload["kind"] == ActionKind.REGISTER_BACKSTOP.name:
        state.put_governance(key, {"discount_bps": payload["discount_bps"], "position_max": payload["position_max"]})
    else:
        state.put_governance(key, None)
