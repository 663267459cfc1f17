"""Which accounts a new mark may have pushed below maintenance margin, without valuing them all.

An account with a position in one market only has a trigger price in it: a long can fall below
maintenance margin only at a mark under its trigger, a short only above it. With collateral C,
size s (a = |s|), cost basis B, maintenance ratio r (bps of D = 10,000) and K = B - C, the exact
test "C + s*m - B < ceil(a*m*r/D)" implies

    long:  m < D*(K+1) / (s*(D-r))        short:  m > -D*(K+1) / (a*(D+r))

so the trigger (rounded outward) selects a superset of the accounts below maintenance, and the
sweep confirms each candidate with the exact test. Triggers sit in per-market lists sorted by
(trigger, account); a sweep finds the candidates with one bisection.

With funding (funding.py), the equity also carries the unsettled funding -ceil(s*(I - I_p)/S)
(I the market's index, I_p the position's, S = 10^9), which moves with I while no record is
written. Bounding each ceil by one unit more gives, with the query shifted by the index,

    long:  m - D*I/(S*(D-r)) < D*(S*(K+2) - s*I_p) / (s*S*(D-r))
    short: m - D*I/(S*(D+r)) > -D*(S*(K+2) + a*I_p) / (a*S*(D+r))

so a trigger depends only on the position's own records and a funding payment (a new I) moves
the query, never the stored triggers: a payment re-indexes nobody. A market without funding keeps
the exact K+1 triggers above.

Margin calls (margin_calls.py) use a second set of triggers, the same formulas with the market's
margin_call_bps for r, in markets that have one; their candidates are confirmed exactly too.

An account that holds two or more markets has no single trigger (its equity moves with every
mark it holds): it is a candidate on every sweep of each market it holds. So is an account that
holds an option, in each linear market it holds; the sweep of option holders
(LedgerState.option_holders, option_marks.py) finds it when an option's book moves.

The index is derived, never hashed or stored: every write to an account or position marks the
account dirty (LedgerState.margin_dirty), and the next sweep re-indexes the dirty accounts first.
So a sweep costs O(dirty accounts x log n + candidates + multi-market holders of the market),
not O(accounts); a restart marks every loaded account dirty.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import TYPE_CHECKING

from .limits import bps_denominator, reserved_id_prefix

if TYPE_CHECKING:
    from .state import LedgerState

# A trigger beyond every price: a long that is below maintenance at any mark (r = 100%).
_ALWAYS = 2**127
# From this many accounts to re-index at once (a restart or a snapshot install marks every
# account; a maintenance margin change every holder of the market), the lists are rebuilt and
# sorted once: inserting a million accounts one by one shifts the lists a million times.
refresh_in_bulk_accounts_min = 1_000


def _trigger_key(entry: tuple[int, str]) -> int:
    return entry[0]


class LiquidationIndex:
    def __init__(self) -> None:
        self.longs: dict[str, list[tuple[int, str]]] = {}  # market -> sorted (trigger, account)
        self.shorts: dict[str, list[tuple[int, str]]] = {}
        self.single: dict[str, tuple[str, bool, int]] = {}  # account -> (market, is long, trigger)
        self.multi: dict[str, dict[str, None]] = {}  # market -> accounts holding it and others
        self.multi_markets: dict[str, tuple[str, ...]] = {}  # account -> the markets it holds
        # Margin-call triggers, kept like the maintenance ones (markets with a call level only).
        self.call_longs: dict[str, list[tuple[int, str]]] = {}
        self.call_shorts: dict[str, list[tuple[int, str]]] = {}
        self.call_single: dict[str, tuple[str, bool, int]] = {}

    def candidates(self, state: LedgerState, market_id: str, mark: int) -> list[str]:
        """Accounts that may be below maintenance at `mark` in `market_id`, sorted by id."""
        self.refresh(state)
        r = state.markets[market_id].maintenance_margin_bps
        return self._select(state, market_id, mark, r, self.longs, self.shorts)

    def call_candidates(self, state: LedgerState, market_id: str, mark: int) -> list[str]:
        """Accounts that may be below their margin-call level at `mark`, sorted by id: the call
        triggers of the market (when it has a call level) and its multi-market holders."""
        self.refresh(state)
        r = _call_bps(state, market_id)
        if not r:
            return sorted(self.multi.get(market_id, {}))
        return self._select(state, market_id, mark, r, self.call_longs, self.call_shorts)

    def _select(self, state: LedgerState, market_id: str, mark: int, r: int, long_lists: dict, short_lists: dict) -> list[str]:
        longs = long_lists.get(market_id, [])
        shorts = short_lists.get(market_id, [])
        long_query = short_query = mark
        index = _funding_index(state, market_id)
        if index is not None:
            d, s = bps_denominator, _funding_scale
            long_query = (mark * s * (d - r) - d * index) // (s * (d - r)) if r < d else mark
            short_query = -((d * index - mark * s * (d + r)) // (s * (d + r)))  # ceil
        found = [account for _, account in longs[bisect_right(longs, long_query, key=_trigger_key):]]
        found += [account for _, account in shorts[:bisect_left(shorts, short_query, key=_trigger_key)]]
        found += self.multi.get(market_id, {})
        return sorted(found)

    def refresh(self, state: LedgerState) -> None:
        dirty = state.margin_dirty
        if not dirty:
            return
        if len(dirty) >= refresh_in_bulk_accounts_min:
            self._refresh_in_bulk(state, dirty)
        else:
            for account_id in dirty:
                self._remove(account_id)
                if not account_id.startswith(reserved_id_prefix):  # the funds are never liquidated
                    self._add(state, account_id)
        state.margin_dirty = {}

    def _refresh_in_bulk(self, state: LedgerState, dirty: dict[str, None]) -> None:
        """The same index `refresh` builds one account at a time, built list by list: each
        per-market list is filtered once and sorted once, instead of one bisection and one list
        shift per account (quadratic for a whole store's accounts after a restart)."""
        for account_id in dirty:
            self.single.pop(account_id, None)
            self.call_single.pop(account_id, None)
            for market_id in self.multi_markets.pop(account_id, ()):
                del self.multi[market_id][account_id]
        for lists in (self.longs, self.shorts, self.call_longs, self.call_shorts):
            for market_id, entries in lists.items():
                lists[market_id] = [entry for entry in entries if entry[1] not in dirty]
        appended: dict[tuple[int, str], list[tuple[int, str]]] = {}
        for account_id in dirty:
            if account_id.startswith(reserved_id_prefix):  # the funds are never liquidated
                continue
            found, call = self._index(state, account_id)
            for kind, lists, entry in ((0, (self.longs, self.shorts), found), (1, (self.call_longs, self.call_shorts), call)):
                if entry is not None:
                    market_id, is_long, trigger = entry
                    entries = lists[0 if is_long else 1].setdefault(market_id, [])
                    entries.append((trigger, account_id))
                    appended[(kind * 2 + is_long, market_id)] = entries
        for entries in appended.values():
            entries.sort()

    def _remove(self, account_id: str) -> None:
        for singles, longs, shorts in ((self.single, self.longs, self.shorts), (self.call_single, self.call_longs, self.call_shorts)):
            single = singles.pop(account_id, None)
            if single is not None:
                market_id, is_long, trigger = single
                entries = (longs if is_long else shorts)[market_id]
                del entries[bisect_left(entries, (trigger, account_id))]
        for market_id in self.multi_markets.pop(account_id, ()):
            del self.multi[market_id][account_id]

    def _add(self, state: LedgerState, account_id: str) -> None:
        found, call = self._index(state, account_id)
        if found is not None:
            market_id, is_long, trigger = found
            insort((self.longs if is_long else self.shorts).setdefault(market_id, []), (trigger, account_id))
        if call is not None:
            market_id, is_long, trigger = call
            insort((self.call_longs if is_long else self.call_shorts).setdefault(market_id, []), (trigger, account_id))

    def _index(self, state: LedgerState, account_id: str) -> tuple[tuple[str, bool, int] | None, tuple[str, bool, int] | None]:
        """Records the account as a multi-market holder, or as single-market with its
        maintenance and margin-call triggers, which it returns ((market, is long, trigger) or
        None, each) for the caller to place in its sorted lists."""
        by_market = state.positions.get(account_id)
        if not by_market:
            return None, None
        held = [(m, p) for m, p in by_market.items() if p.size]
        if account_id in state.option_accounts:
            # Options have no trigger price: the account is a candidate on every sweep of the
            # linear markets it holds, and swept with the holders of options on each underlying
            # (option_marks.py, docs/design.md#options).
            markets = tuple(m for m, _ in held if m not in state.option_underlying)
            self.multi_markets[account_id] = markets
            for market_id in markets:
                self.multi.setdefault(market_id, {})[account_id] = None
            return None, None
        if len(held) > 1:
            markets = tuple(m for m, _ in held)
            self.multi_markets[account_id] = markets
            for market_id in markets:
                self.multi.setdefault(market_id, {})[account_id] = None
            return None, None
        if not held:
            return None, None
        market_id, position = held[0]
        collateral = state.accounts[account_id].collateral
        funded = _funding_index(state, market_id) is not None
        found = call = None
        trigger = _position_trigger(collateral, position, state.markets[market_id].maintenance_margin_bps, funded)
        if trigger is not None:  # else it can never fall below maintenance
            found = self.single[account_id] = (market_id, position.size > 0, trigger)
        call_bps = _call_bps(state, market_id)
        if call_bps:
            trigger = _position_trigger(collateral, position, call_bps, funded)
            if trigger is not None:
                call = self.call_single[account_id] = (market_id, position.size > 0, trigger)
        return found, call


_funding_scale = 10**9  # funding.funding_scale


def _funding_index(state: LedgerState, market_id: str) -> int | None:
    funding = state.funding.get(market_id)
    return funding.index if funding is not None else None


def _call_bps(state: LedgerState, market_id: str) -> int:
    terms = state.market_terms.get(market_id)
    return terms.margin_call_bps if terms is not None else 0


def _position_trigger(collateral: int, position, bps: int, funded: bool) -> int | None:
    """The trigger of a position for the level at `bps` (maintenance, or the call level); in a
    funded market the funding-shifted one."""
    if funded:
        return _funded_trigger(position.cost_basis - collateral + 2, position.size, position.funding_index, bps)
    return _trigger(collateral, position.size, position.cost_basis, bps)


def _trigger(collateral: int, size: int, cost_basis: int, maintenance_bps: int) -> int | None:
    """The long's lowest safe mark bound or the short's highest (see the module docstring);
    None when no mark can make the position fall below maintenance."""
    d = bps_denominator
    k_plus_1 = cost_basis - collateral + 1
    if size > 0:
        if maintenance_bps >= d:
            return _ALWAYS if k_plus_1 > 0 else None
        trigger = -(-d * k_plus_1 // (size * (d - maintenance_bps)))  # ceil
        return trigger if trigger > 0 else None  # marks are positive: never below
    return -d * k_plus_1 // (-size * (d + maintenance_bps))  # floor; a short below at any mark gets < 0


def _funded_trigger(k_plus_2: int, size: int, index: int, r: int) -> int:
    """The funding-shifted trigger (module docstring): rounded outward, compared with the query
    that candidates() shifts by the market's index. Funding can push any long below at any mark
    when r is 100%: such a long is always a candidate."""
    d, s = bps_denominator, _funding_scale
    if size > 0:
        if r >= d:
            return _ALWAYS
        return -(-d * (s * k_plus_2 - size * index) // (size * s * (d - r)))  # ceil
    a = -size
    return -d * (s * k_plus_2 + a * index) // (a * s * (d + r))  # floor
