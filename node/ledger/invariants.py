"""The ledger's invariants. A broken one raises LedgerInvariantError: the node must stop loudly
rather than serve a wrong balance.

`check_entry` runs after every entry in production; it compares running totals and looks only at
records the entry touched, so it costs O(touched records). `check_full` recomputes everything from
scratch (totals, net positions, the state hash) and is what tests run after every step;
`check_every_record` is the same without the hash, for a state just rebuilt from its records.
"""

from __future__ import annotations

from .records import AccountStatus
from .funding import funding_scale
from .state import (
    FEE_ACCOUNT,
    FUNDING_POOL_PREFIX,
    META_DEPOSITS_TOTAL,
    META_FEES_WITHDRAWN,
    META_WITHDRAWALS_TOTAL,
    LedgerState,
    funding_pool,
    is_fund,
)
from .state_hash import hash_modulus, record_hash


class LedgerInvariantError(AssertionError):
    pass


def _fail(what: str) -> None:
    raise LedgerInvariantError(what)


def _conservation(state: LedgerState, total_collateral: int, total_cost_basis: int) -> None:
    # Open positions' cost basis is pnl in flight between accounts of one market (see fills.py):
    # collateral - cost basis is exactly what came in minus what went out. Fees are collateral of
    # the fee account and the funds; settled funding is collateral of the funding pools and the
    # funds (unsettled funding is nobody's yet, funding.py); paid-out fees went out.
    held = total_collateral - total_cost_basis
    external = state.meta[META_DEPOSITS_TOTAL] - state.meta[META_WITHDRAWALS_TOTAL] - state.meta[META_FEES_WITHDRAWN]
    if held != external:
        _fail(f"conservation: collateral - cost basis = {held}, deposits - withdrawals - fees paid out = {external}")


def _funding_exact(state: LedgerState, market_id: str, weight: int) -> None:
    # funding.py: the pool holds exactly the settled payments not yet received, plus the rounding
    # not yet a whole unit for the fund: pool x scale = sum(size x position index) + dust.
    funding = state.funding.get(market_id)
    if funding is None:
        return
    pool = state.accounts[funding_pool(market_id)].collateral
    if not 0 <= funding.dust < funding_scale or pool * funding_scale != weight + funding.dust:
        _fail(f"market {market_id} funding: pool {pool} x {funding_scale} != weight {weight} + dust {funding.dust}")


def _account_solvent(state: LedgerState, account_id: str) -> None:
    if account_id == FEE_ACCOUNT:
        if state.accounts[account_id].collateral < 0:
            _fail(f"the fee account holds {state.accounts[account_id].collateral}")
        return
    if account_id.startswith(FUNDING_POOL_PREFIX):
        return  # a funding pool is below zero while payers have not settled (funding.py)
    if is_fund(account_id):
        # A fund is the ledger's own backstop, not a client: it can realize a loss on positions
        # it took over beyond its balance. That is a fund deficit (an economic state, reported by
        # the guards and covered by auto-deleveraging there), not a corrupt ledger.
        return
    account = state.accounts[account_id]
    if account.status == AccountStatus.ACTIVE and account.collateral < 0:
        _fail(f"active account {account_id} has negative collateral {account.collateral}")


def check_entry(state: LedgerState) -> None:
    _conservation(state, state.total_collateral, state.total_cost_basis)
    for account_id in state.entry_accounts:
        _account_solvent(state, account_id)
    for market_id in state.entry_markets:
        if state.net_size[market_id] != 0:
            _fail(f"market {market_id} net position {state.net_size[market_id]}")
        _funding_exact(state, market_id, state.funding_weight.get(market_id, 0))
    if not 0 <= state.state_hash < hash_modulus:
        _fail("state hash out of range")


def check_full(state: LedgerState) -> None:
    """Every invariant over every record, and the incremental state hash against a hash
    recomputed from scratch."""
    check_every_record(state)
    recomputed = sum(record_hash(t, k, v) for t, k, v in state.records()) % hash_modulus
    if recomputed != state.state_hash:
        _fail("incremental state hash differs from a full recomputation")


def check_every_record(state: LedgerState) -> None:
    """check_full without the hash: for a state just rebuilt from its records, whose hash was
    computed from scratch by that rebuild (state_from_records)."""
    total_collateral = sum(a.collateral for a in state.accounts.values())
    total_cost_basis = 0
    net: dict[str, int] = {}
    longs: dict[str, int] = {}
    weight: dict[str, int] = {}
    for by_market in state.positions.values():
        for market_id, position in by_market.items():
            total_cost_basis += position.cost_basis
            net[market_id] = net.get(market_id, 0) + position.size
            longs[market_id] = longs.get(market_id, 0) + max(position.size, 0)
            weight[market_id] = weight.get(market_id, 0) + position.size * position.funding_index
            if position.cost_basis and market_id in state.option_underlying:
                _fail(f"option position {market_id} carries cost basis {position.cost_basis}: its premium moves at the fill")
    if total_collateral != state.total_collateral or total_cost_basis != state.total_cost_basis:
        _fail("running totals drifted from the records")
    _conservation(state, total_collateral, total_cost_basis)
    for market_id in state.markets:
        if net.get(market_id, 0) != 0:
            _fail(f"market {market_id} net position {net[market_id]}")
        if longs.get(market_id, 0) != state.open_interest[market_id]:
            _fail(f"market {market_id} open interest {state.open_interest[market_id]} != longs {longs.get(market_id, 0)}")
        if weight.get(market_id, 0) != state.funding_weight.get(market_id, 0):
            _fail(f"market {market_id} funding weight drifted from the records")
        _funding_exact(state, market_id, weight.get(market_id, 0))
    for account_id in state.accounts:
        _account_solvent(state, account_id)
