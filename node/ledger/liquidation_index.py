"""Which accounts a new mark may have pushed below maintenance margin, without valuing them all.

An account with a position in one market only has a trigger price in it: a long can fall below
maintenance margin only at a mark under its trigger, a short only above it. With collateral C,
size s (a = |s|), cost basis B, maintenance ratio r (bps of D = 10,000) and K = B - C, the exact
test "C + s*m - B < ceil(a*m*r/D)" implies

    long:  m < D*(K+1) / (s*(D-r))        short:  m > -D*(K+1) / (a*(D+r))

so the trigger (rounded outward) selects a superset of the accounts below maintenance, and the
sweep confirms each candidate with the exact test. Triggers sit in per-market lists sorted by
(trigger, account); a sweep finds the candidates with one bisection.

An account that holds two or more markets has no single trigger (its equity moves with every
mark it holds): it is a candidate on every sweep of each market it holds.

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

    def candidates(self, state: LedgerState, market_id: str, mark: int) -> list[str]:
        """Accounts that may be below maintenance at `mark` in `market_id`, sorted by id."""
        self.refresh(state)
        longs = self.longs.get(market_id, [])
        shorts = self.shorts.get(market_id, [])
        found = [account for _, account in longs[bisect_right(longs, mark, key=_trigger_key):]]
        found += [account for _, account in shorts[:bisect_left(shorts, mark, key=_trigger_key)]]
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
            for market_id in self.multi_markets.pop(account_id, ()):
                del self.multi[market_id][account_id]
        for lists in (self.longs, self.shorts):
            for market_id, entries in lists.items():
                lists[market_id] = [entry for entry in entries if entry[1] not in dirty]
        appended: dict[tuple[bool, str], list[tuple[int, str]]] = {}
        for account_id in dirty:
            if account_id.startswith(reserved_id_prefix):  # the funds are never liquidated
                continue
            found = self._index(state, account_id)
            if found is not None:
                market_id, is_long, trigger = found
                entries = (self.longs if is_long else self.shorts).setdefault(market_id, [])
                entries.append((trigger, account_id))
                appended[(is_long, market_id)] = entries
        for entries in appended.values():
            entries.sort()

    def _remove(self, account_id: str) -> None:
        single = self.single.pop(account_id, None)
        if single is not None:
            market_id, is_long, trigger = single
            entries = (self.longs if is_long else self.shorts)[market_id]
            del entries[bisect_left(entries, (trigger, account_id))]
        for market_id in self.multi_markets.pop(account_id, ()):
            del self.multi[market_id][account_id]

    def _add(self, state: LedgerState, account_id: str) -> None:
        found = self._index(state, account_id)
        if found is not None:
            market_id, is_long, trigger = found
            insort((self.longs if is_long else self.shorts).setdefault(market_id, []), (trigger, account_id))

    def _index(self, state: LedgerState, account_id: str) -> tuple[str, bool, int] | None:
        """Records the account as a multi-market holder, or as single-market with its trigger,
        which it returns (market, is long, trigger) for the caller to place in its sorted list;
        None when it has no trigger to place."""
        by_market = state.positions.get(account_id)
        if not by_market:
            return None
        held = [(m, p) for m, p in by_market.items() if p.size]
        if len(held) > 1:
            markets = tuple(m for m, _ in held)
            self.multi_markets[account_id] = markets
            for market_id in markets:
                self.multi.setdefault(market_id, {})[account_id] = None
            return None
        if not held:
            return None
        market_id, position = held[0]
        trigger = _trigger(
            state.accounts[account_id].collateral, position.size, position.cost_basis,
            state.markets[market_id].maintenance_margin_bps,
        )
        if trigger is None:
            return None  # can never fall below maintenance
        found = (market_id, position.size > 0, trigger)
        self.single[account_id] = found
        return found


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
