"""Margin arithmetic. Requirements round up, so rounding always favours solvency."""

from __future__ import annotations

from .limits import bps_denominator
from .records import Market, MarketStatus, Position
from .funding import funding_scale
from .state import LedgerState
from .volatility import effective_initial_margin_bps


def ceil_div(numerator: int, denominator: int) -> int:
    assert denominator > 0
    return -(-numerator // denominator)


def initial_margin_bps(market: Market, open_interest: int) -> int:
    """Initial margin rises linearly from the market's ratio to 100% as open interest goes from
    the soft cap to the hard cap: a crowded market costs more to enter (dYdX YFI 2023). The
    market's ratio is the listed one, or the one its volatility sets (volatility.py)."""
    base = effective_initial_margin_bps(market)
    soft = market.open_interest_soft_cap
    if not soft or open_interest <= soft:
        return base
    over = min(open_interest, market.open_interest_cap) - soft
    return base + ceil_div((bps_denominator - base) * over, market.open_interest_cap - soft)


def account_valuation(
    state: LedgerState,
    account_id: str,
    overrides: dict[str, Position] | None = None,
    open_interest_overrides: dict[str, int] | None = None,
) -> tuple[int, int, int, int]:
    """(unrealized pnl, unrealized loss only (<= 0), initial margin, maintenance margin).
    Profit in a HALTED market counts for nothing: its mark tripped a breaker.

    `overrides` replaces some of the account's positions by hypothetical ones, and
    `open_interest_overrides` some markets' open interest, so a trade can be checked before
    anything is written. Positions are valued at their market's mark. Integer
    sums, so the order positions are visited in does not matter.

    Unsettled funding (funding.py) counts as it will settle: what a position owes is a loss, what
    it is owed is profit (not withdrawable until settled, like any unrealized profit).
    """
    held = state.positions.get(account_id)
    positions = list(held.items()) if held else []
    if overrides:
        positions = [(m, p) for m, p in positions if m not in overrides] + list(overrides.items())
    options = state.option_underlying
    if options and (account_id in state.option_accounts or overrides and any(m in options for m in overrides)):
        # Holding options: scenario portfolio margin per underlying (docs/design.md#options).
        from .option_margin import option_account_valuation  # it builds on this module

        return option_account_valuation(state, positions, open_interest_overrides)
    return positions_valuation(state, positions, open_interest_overrides)


def positions_valuation(
    state: LedgerState, positions: list[tuple[str, Position]], open_interest_overrides: dict[str, int] | None = None,
) -> tuple[int, int, int, int]:
    """account_valuation's linear rule over the given positions (perpetuals and futures)."""
    pnl = loss = initial = maintenance = 0
    markets = state.markets
    funding = state.funding
    open_interest = state.open_interest
    for market_id, position in positions:
        size = position.size
        if size == 0:
            continue
        market = markets[market_id]
        mark = market.mark_price
        assert mark > 0, (account_id, market_id)  # trading needs a mark, so positions have one
        position_pnl = size * mark - position.cost_basis
        if position_pnl > 0 and (market.status == MarketStatus.HALTED or market.status == MarketStatus.SETTLING):
            position_pnl = 0  # a profit at a price that tripped a breaker (Mango 2022) or awaits settlement is not margin
        if funding:
            f = funding.get(market_id)
            if f is not None and f.index != position.funding_index:
                owed = -((-size * (f.index - position.funding_index)) // funding_scale)
                pnl -= owed
                if owed > 0:
                    loss -= owed
        pnl += position_pnl
        if position_pnl < 0:
            loss += position_pnl
        notional = (size if size > 0 else -size) * mark
        im_bps = market.initial_margin_bps
        if market.initial_margin_ceiling_bps:
            im_bps = effective_initial_margin_bps(market)  # adaptive (docs/design.md#adaptive-thresholds)
        if market.open_interest_soft_cap:
            oi = open_interest_overrides.get(market_id) if open_interest_overrides else None
            im_bps = initial_margin_bps(market, oi if oi is not None else open_interest[market_id])
        # Rounded up (ceil_div inlined: this loop runs for both sides of every fill).
        initial -= (-notional * im_bps) // bps_denominator
        maintenance -= (-notional * market.maintenance_margin_bps) // bps_denominator
    return pnl, loss, initial, maintenance


def below_maintenance(state: LedgerState, account_id: str) -> bool:
    collateral = state.accounts[account_id].collateral
    pnl, _, _, maintenance = account_valuation(state, account_id)
    return collateral + pnl < maintenance


def only_reduces_risk(old_size: int, new_size: int) -> bool:
    """True when a fill shrinks a position towards zero without flipping its side."""
    if new_size == 0:
        return True
    return old_size != 0 and (old_size > 0) == (new_size > 0) and abs(new_size) <= abs(old_size)
