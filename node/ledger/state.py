"""The ledger's state and the one place every write goes through.

Every mutation of a record passes through `_touch`, and every entry ends with `finish_entry`,
which encodes each touched record once and folds it into the incremental state hash. A record
written a thousand times in one entry (the fees total, a market's open interest) is encoded and
hashed once. The typed writes also keep the running totals the invariants are checked against,
and `touched` ends up holding exactly the records the store must persist with the applied index. Decisions must never depend on dict order: records loaded from a store
arrive in key order, records written live in log order. Iterate in sorted order where order
matters.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from . import records as r
from .commands import MarketKind
from .records import (
    Account,
    AccountStatus,
    DedupRecord,
    Funding,
    GlobalMode,
    MarginCall,
    Market,
    MarketTerms,
    MarketStatus,
    OracleSourceState,
    Position,
    WithdrawalWindow,
)
from .records import FundUnwind
from .liquidation_index import LiquidationIndex
from .settlement_window import settling_deadline_ms
from .sharded_index import SHARD_MASK, ShardedIndex
from .state_hash import hash_modulus, record_hash

# The insurance fund is an account of the ledger itself: it takes over liquidated positions at
# the mark and pays the losses that bankrupt accounts cannot.
INSURANCE_FUND = "sys:insurance"
# Each market has its own fund, which takes over that market's liquidated positions, receives its
# liquidation fees and pays its bankrupt losses first; the global fund above pays what it cannot.
MARKET_FUND_PREFIX = "sys:fund:"


# Governance record keys (governance.py): one prefix per kind of record.
POLICY_KEY = "policy"
LIMITS_KEY = "limits"  # the governed policy parameters a quorum has set (policy_params.py)
SIGNER_PREFIX = "signer/"
NONCE_PREFIX = "nonce/"
PENDING_PREFIX = "pending/"
VOTE_PREFIX = "vote/"
CERTIFICATE_KEY = "certificate"
WINDOW_PREFIX = "window/"  # window/<key id>/<stream>: a submitter stream's replay window
BACKSTOP_PREFIX = "backstop/"  # backstop/<market>/<account>: a registered backstop liquidity provider


# The ledger's fee account: every trading fee is credited here (less the market fund's share),
# and leaves only through a quorum-signed WITHDRAW_FEES (fees.py).
FEE_ACCOUNT = "sys:fees"
# Each perpetual's funding pool: settled funding payments wait here for the receivers to settle
# theirs (funding.py). Not a fund: it may run below zero while payers have not settled yet.
FUNDING_POOL_PREFIX = "sys:funding:"


def market_fund(market_id: str) -> str:
    return MARKET_FUND_PREFIX + market_id


def funding_pool(market_id: str) -> str:
    return FUNDING_POOL_PREFIX + market_id


def is_fund(account_id: str) -> bool:
    return account_id == INSURANCE_FUND or account_id.startswith(MARKET_FUND_PREFIX)

META_LEDGER_TIME = "ledger_time_ms"
META_FEES_COLLECTED = "fees_collected"
META_DEPOSITS_TOTAL = "deposits_total"
META_WITHDRAWALS_TOTAL = "withdrawals_total"
META_GLOBAL_MODE = "global_mode"
META_GLOBAL_REASON = "global_mode_reason"
META_GLOBAL_SINCE = "global_mode_since_ms"
META_WITHDRAWALS_GATED_UNTIL = "withdrawals_gated_until_ms"
META_WITHDRAWAL_WINDOW_START = "withdrawal_window_start_ms"  # the venue-wide window
META_WITHDRAWN_IN_WINDOW = "withdrawn_in_window"
META_CHECKPOINT_EPOCH = "checkpoint_epoch"  # certified checkpoints so far: actions bind it
META_CHECKPOINT_DUE_INDEX = "checkpoint_due_index"  # the last entry nodes were asked to vote on
META_CHECKPOINT_DUE_MS = "checkpoint_due_ms"
META_NEWEST_SIGNED_MS = "newest_signed_ms"  # the newest signed_at of an accepted submitter batch
# Fees paid out of the fee account by quorum-signed WITHDRAW_FEES actions (money leaving the ledger).
META_FEES_WITHDRAWN = "fees_withdrawn"
# The newest "retained since" time of a dedup record or replay window the ledger has forgotten
# (retention.py): a batch signed at or before it is expired whatever the retention is now.
META_FORGOTTEN_THROUGH_MS = "forgotten_through_ms"
META_KEYS = (
    META_LEDGER_TIME, META_FEES_COLLECTED, META_DEPOSITS_TOTAL, META_WITHDRAWALS_TOTAL,
    META_GLOBAL_MODE, META_GLOBAL_REASON, META_GLOBAL_SINCE,
    META_WITHDRAWALS_GATED_UNTIL, META_WITHDRAWAL_WINDOW_START, META_WITHDRAWN_IN_WINDOW,
    META_CHECKPOINT_EPOCH, META_CHECKPOINT_DUE_INDEX, META_CHECKPOINT_DUE_MS, META_NEWEST_SIGNED_MS,
    META_FEES_WITHDRAWN, META_FORGOTTEN_THROUGH_MS,
)


_LIQUIDATING = AccountStatus.LIQUIDATING  # compared on every account write: one global lookup


class LedgerState:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        # account -> market -> position
        self.positions: dict[str, dict[str, Position]] = {}
        # market -> accounts with a non-zero position there (the liquidation sweep's index)
        self.holders: dict[str, dict[str, None]] = {}
        self.markets: dict[str, Market] = {}
        # Derived, never hashed: markets with a pending guard deadline (a breaker's cooldown or
        # grace, a future's expiry) and the earliest of them, so an entry checks one integer.
        self.guard_deadlines: dict[str, int] = {}
        self.next_guard_deadline_ms = 0
        self.open_interest: dict[str, int] = {}
        self.withdrawal_windows: dict[str, WithdrawalWindow] = {}
        # market -> source -> its key and last price
        self.oracle_sources: dict[str, dict[str, OracleSourceState]] = {}
        # key -> canonical-JSON record: signer set, policy, nonces, timelocks, votes, certificate
        self.governance: dict[str, dict] = {}
        # Derived, never hashed: timelocked changes by key -> the ledger time they take effect.
        self.pending_changes: dict[str, int] = {}
        # Derived, never hashed: accounts being liquidated (status LIQUIDATING), and accounts whose
        # collateral or positions changed since the liquidation index last looked at them.
        self.liquidating: dict[str, None] = {}
        self.margin_dirty: dict[str, None] = {}
        self.liquidation_index = LiquidationIndex()
        # Insurance fund unwinding (fund_unwinding.py): each market's auction record; derived,
        # never hashed: the funds holding a position (fund_equity.py values them), the markets
        # whose auction runs, and the registered backstops by market -> account -> terms.
        self.fund_unwinds: dict[str, FundUnwind] = {}
        self.fund_positions: dict[str, None] = {}
        self.unwinding: dict[str, None] = {}
        self.backstops: dict[str, dict[str, dict]] = {}
        # Accounts that took a liquidation step in the current entry (one slice per entry).
        self.entry_liquidated: dict[str, None] = {}
        # Markets whose sources recorded a print in the current entry: marked once at its end.
        self.entry_repriced: dict[str, None] = {}
        # command id -> first outcome (the lookup index): sharded, it grows without a long stop
        self.dedup: ShardedIndex[str, DedupRecord] = ShardedIndex()
        # entry key -> the packed dedup record of that entry (what is hashed and stored)
        self.dedup_batches: dict[str, bytes] = {}
        self._entry_dedup: list[tuple[str, DedupRecord]] = []
        # Derived, never hashed: the retention queues (retention.py), heaps, oldest first. Dedup
        # batches as (retained since, entry key); replay windows grouped by when they were last
        # used, each group's keys pruned in key order. Heaps: the same records give the same
        # order on every replica, however they were loaded.
        self.dedup_expiry: list[tuple[int, str]] = []
        self.window_uses: dict[int, dict[str, None]] = {}
        self.window_use_times: list[int] = []
        # The newest signed clock of a batch accepted in the current entry (0: none).
        self.entry_signed_ms_max = 0
        self.meta: dict[str, int] = {key: 0 for key in META_KEYS}
        self.meta[META_GLOBAL_MODE] = GlobalMode.NORMAL
        self.applied_index = 0
        self.state_hash = 0
        self._record_hashes: ShardedIndex[tuple[bytes, str], int] = ShardedIndex()  # two per account and more
        # Running totals, derived, never hashed: what the per-entry invariant checks compare.
        self.total_collateral = 0
        self.funds_total = 0  # the global fund plus every market's fund
        self.total_cost_basis = 0
        self.net_size: dict[str, int] = {}
        # Records written and not yet folded into the hash, then, after finish_entry, what the
        # entry changed: (table, key) -> encoded value (None: deleted), for the store.
        self._pending: dict[tuple[bytes, str], tuple] = {}
        # Accounts and markets this entry wrote: what the per-entry invariant check looks at.
        self.entry_accounts: dict[str, None] = {}
        self.entry_markets: dict[str, None] = {}
        self.touched: dict[tuple[bytes, str], bytes | None] = {}
        # Perpetual economics (issue 17): per market its fee, funding and call terms and its
        # funding state; accounts under a margin call.
        self.market_terms: dict[str, MarketTerms] = {}
        self.funding: dict[str, Funding] = {}
        self.margin_calls: dict[str, MarginCall] = {}
        # Derived, never hashed: per market, the sum over its positions of size x the funding
        # index they last settled at (funding.py's exactness invariant), and the earliest
        # funding time of any market (0: none), so an entry checks one integer.
        self.funding_weight: dict[str, int] = {}
        self.funding_deadlines: dict[str, int] = {}
        self.next_funding_ms = 0
        # Options (docs/design.md#options), derived, never hashed: each option market's underlying,
        # the option markets of each underlying, and who holds options: underlying -> accounts
        # holding a non-zero option on it, and account -> those underlyings. Portfolio margin and
        # the option holders' liquidation sweep read only these, never every account.
        self.option_underlying: dict[str, str] = {}
        self.options_of: dict[str, dict[str, None]] = {}
        self.option_holders: dict[str, dict[str, None]] = {}
        self.option_accounts: dict[str, dict[str, None]] = {}
        # Derived, never hashed: each contract's kept risk array (option_margin.book_requirement),
        # keyed by what it is a pure function of, so every holder's check reuses one pricing.
        self.risk_arrays: dict[tuple, object] = {}
        for key in META_KEYS:
            self._touch(r.TABLE_META, key, r.encode_total, self.meta, key)
        self.put_account(INSURANCE_FUND, Account(0))
        self.finish_entry()
        self.touched.clear()

    # -- the single write path -------------------------------------------------------------

    def _touch(self, table: bytes, key: str, encode, container: dict, lookup) -> None:
        # Remember where the record lives and how to encode it: finish_entry reads its final
        # value from there, once, however often the entry wrote it.
        self._pending[(table, key)] = (encode, container, lookup)

    def finish_entry(self) -> None:
        """Encode every record written since the last call once, fold it into the state hash,
        and publish it in `touched`."""
        if self._entry_dedup:
            key = r.dedup_batch_key(self.applied_index)
            assert key not in self.dedup_batches, key
            retained_since_ms = max(self.meta[META_LEDGER_TIME], self.entry_signed_ms_max)
            self.dedup_batches[key] = r.encode_dedup_batch(self._entry_dedup, retained_since_ms)
            heapq.heappush(self.dedup_expiry, (retained_since_ms, key))
            self._entry_dedup = []
            self._touch(r.TABLE_DEDUP, key, _as_stored, self.dedup_batches, key)
        h = self.state_hash
        hashes = self._record_hashes
        touched: dict[tuple[bytes, str], bytes | None] = {}
        for slot, (encode, container, lookup) in self._pending.items():
            record = container.get(lookup)
            value = encode(record) if record is not None else None
            new = record_hash(slot[0], slot[1], value) if value is not None else None
            old = hashes.replace(slot, new)
            if old is not None:
                h -= old
            if new is not None:
                h += new
            touched[slot] = value
        self.state_hash = h % hash_modulus
        self.touched = touched
        self._pending = {}

    # -- typed writes -----------------------------------------------------------------------

    def put_account(self, account_id: str, account: Account) -> None:
        old = self.accounts.get(account_id)
        delta = account.collateral - (old.collateral if old else 0)
        self.total_collateral += delta
        if account_id[:4] == "sys:" and is_fund(account_id):  # cheap on the fill path: clients skip is_fund
            self.funds_total += delta
        self.accounts[account_id] = account
        self.entry_accounts[account_id] = None
        self.margin_dirty[account_id] = None
        if account.status is _LIQUIDATING:
            self.liquidating[account_id] = None
        elif old is not None and old.status is _LIQUIDATING:
            del self.liquidating[account_id]
        self._touch(r.TABLE_ACCOUNT, account_id, r.encode_account, self.accounts, account_id)

    def put_position(self, account_id: str, market_id: str, position: Position) -> None:
        by_market = self.positions.setdefault(account_id, {})
        old = by_market.get(market_id)
        old_size = old.size if old else 0
        if position.funding_index or (old is not None and old.funding_index):
            weight = self.funding_weight
            weight[market_id] = weight.get(market_id, 0) + position.size * position.funding_index - (
                old_size * old.funding_index if old else 0)
        self.total_cost_basis += position.cost_basis - (old.cost_basis if old else 0)
        self.net_size[market_id] = self.net_size.get(market_id, 0) + position.size - old_size
        holders = self.holders.setdefault(market_id, {})
        if position.size != 0:
            holders[account_id] = None
        else:
            holders.pop(account_id, None)
        by_market[market_id] = position
        if self.option_underlying and market_id in self.option_underlying:
            self.index_option_holding(account_id, market_id)
        if account_id[:4] == "sys:":  # a fund: fund_equity.py values what it holds
            if any(p.size for p in by_market.values()):
                self.fund_positions[account_id] = None
            else:
                self.fund_positions.pop(account_id, None)
        self.entry_markets[market_id] = None
        self.margin_dirty[account_id] = None
        if position.size == 0 and position.cost_basis != 0:
            raise AssertionError(f"flat position {account_id}/{market_id} keeps cost basis {position.cost_basis}")
        self._touch(r.TABLE_POSITION, r.position_key(account_id, market_id), r.encode_position, by_market, market_id)

    def index_option_holding(self, account_id: str, option_id: str) -> None:
        """Keep option_holders and option_accounts true for this account's options on the option
        market's underlying (at most positions_per_account_max positions to look at). An insurance
        fund is never one: funds are never liquidated, so no option sweep may pick one up."""
        underlying = self.option_underlying[option_id]
        holds = not is_fund(account_id) and any(
            p.size and self.option_underlying.get(m) == underlying for m, p in self.positions.get(account_id, {}).items()
        )
        holders = self.option_holders.setdefault(underlying, {})
        if holds:
            holders[account_id] = None
            self.option_accounts.setdefault(account_id, {})[underlying] = None
        elif account_id in holders:
            del holders[account_id]
            held = self.option_accounts[account_id]
            del held[underlying]
            if not held:
                del self.option_accounts[account_id]

    def put_market(self, market_id: str, market: Market) -> None:
        self.markets[market_id] = market
        if market.kind == MarketKind.OPTION and market_id not in self.option_underlying:
            self.option_underlying[market_id] = market.underlying
            self.options_of.setdefault(market.underlying, {})[market_id] = None
        deadline = guard_deadline(market)
        if self.guard_deadlines.get(market_id, 0) != deadline:
            if deadline:
                self.guard_deadlines[market_id] = deadline
            else:
                self.guard_deadlines.pop(market_id, None)
            self.next_guard_deadline_ms = min(self.guard_deadlines.values(), default=0)
        self._touch(r.TABLE_MARKET, market_id, r.encode_market, self.markets, market_id)

    def put_market_terms(self, market_id: str, terms: MarketTerms) -> None:
        self.market_terms[market_id] = terms
        self._touch(r.TABLE_MARKET_TERMS, market_id, r.encode_market_terms, self.market_terms, market_id)

    def put_funding(self, market_id: str, funding: Funding) -> None:
        self.funding[market_id] = funding
        if self.funding_deadlines.get(market_id, 0) != funding.next_funding_ms:
            if funding.next_funding_ms:
                self.funding_deadlines[market_id] = funding.next_funding_ms
            else:
                self.funding_deadlines.pop(market_id, None)
            self.next_funding_ms = min(self.funding_deadlines.values(), default=0)
        self._touch(r.TABLE_FUNDING, market_id, r.encode_funding, self.funding, market_id)

    def put_margin_call(self, account_id: str, call: MarginCall | None) -> None:
        """Record (or, with None, lift) an account's margin call."""
        if call is None:
            self.margin_calls.pop(account_id, None)
        else:
            self.margin_calls[account_id] = call
        self._touch(r.TABLE_MARGIN_CALL, account_id, r.encode_margin_call, self.margin_calls, account_id)

    def put_open_interest(self, market_id: str, contracts: int) -> None:
        assert contracts >= 0, (market_id, contracts)
        self.open_interest[market_id] = contracts
        self._touch(r.TABLE_OPEN_INTEREST, market_id, r.encode_open_interest, self.open_interest, market_id)

    def put_oracle_source(self, market_id: str, source: str, state: OracleSourceState) -> None:
        by_source = self.oracle_sources.setdefault(market_id, {})
        by_source[source] = state
        self._touch(r.TABLE_ORACLE_SOURCE, r.position_key(market_id, source), r.encode_oracle_source, by_source, source)

    def put_governance(self, key: str, value: dict | None) -> None:
        """Write (or, with None, delete) one governance record."""
        if key.startswith(WINDOW_PREFIX):
            self._index_window_use(key, self.governance.get(key), value)
        elif key.startswith(BACKSTOP_PREFIX):
            market_id, account_id = key[len(BACKSTOP_PREFIX):].split("/")
            by_account = self.backstops.setdefault(market_id, {})
            if value is None:
                by_account.pop(account_id, None)
            else:
                by_account[account_id] = value
        if value is None:
            self.governance.pop(key, None)
        else:
            self.governance[key] = value
        if key.startswith(PENDING_PREFIX):
            if value is None:
                self.pending_changes.pop(key, None)
            else:
                self.pending_changes[key] = value["effective_at_ms"]
        self._touch(r.TABLE_GOVERNANCE, key, r.encode_governance, self.governance, key)

    def _index_window_use(self, key: str, old: dict | None, new: dict | None) -> None:
        """Keep `window_uses` in step with a replay window's last use (retention.py)."""
        if old is not None:
            group = self.window_uses.get(old["last_used_ms"])
            if group is not None:
                group.pop(key, None)  # an empty group stays queued until retention reaches it
        if new is not None:
            used_ms = new["last_used_ms"]
            group = self.window_uses.get(used_ms)
            if group is None:
                group = self.window_uses[used_ms] = {}
                heapq.heappush(self.window_use_times, used_ms)
            group[key] = None

    def drop_dedup_batch(self) -> int:
        """Forget the dedup records retained longest (retention.py); returns how many ids."""
        _, key = heapq.heappop(self.dedup_expiry)
        items = r.decode_dedup_batch(self.dedup_batches.pop(key))
        for command_id, _ in items:
            del self.dedup[command_id]
        self._touch(r.TABLE_DEDUP, key, _as_stored, self.dedup_batches, key)
        return len(items)

    def put_fund_unwind(self, market_id: str, unwind: FundUnwind) -> None:
        self.fund_unwinds[market_id] = unwind
        if unwind.started_ms:
            self.unwinding[market_id] = None
        else:
            self.unwinding.pop(market_id, None)
        self._touch(r.TABLE_FUND_UNWIND, market_id, r.encode_fund_unwind, self.fund_unwinds, market_id)

    def put_withdrawal_window(self, account_id: str, window: WithdrawalWindow) -> None:
        self.withdrawal_windows[account_id] = window
        self._touch(r.TABLE_WITHDRAWAL_WINDOW, account_id, r.encode_withdrawal_window, self.withdrawal_windows, account_id)

    def put_dedup(self, command_id: str, record: DedupRecord) -> None:
        self.dedup.add(command_id, record)  # asserts invariant 4: applied at most once
        self._entry_dedup.append((command_id, record))  # packed into one record by finish_entry

    def put_meta(self, key: str, value: int) -> None:
        assert key in self.meta, key
        if self.meta[key] == value:
            return
        self.meta[key] = value
        self._touch(r.TABLE_META, key, r.encode_total, self.meta, key)

    def add_meta(self, key: str, delta: int) -> None:
        self.put_meta(key, self.meta[key] + delta)

    # -- reads ------------------------------------------------------------------------------

    @property
    def ledger_time_ms(self) -> int:
        return self.meta[META_LEDGER_TIME]

    @property
    def global_mode(self) -> int:
        """A records.GlobalMode number (kept a plain int: every fill reads it)."""
        return self.meta[META_GLOBAL_MODE]

    @property
    def insurance_fund(self) -> int:
        return self.accounts[INSURANCE_FUND].collateral

    def position(self, account_id: str, market_id: str) -> Position | None:
        return self.positions.get(account_id, {}).get(market_id)

    def records(self) -> Iterator[tuple[bytes, str, bytes]]:
        """Every record as (table, key, encoded value): for snapshots and full hash checks."""
        for account_id, account in self.accounts.items():
            yield r.TABLE_ACCOUNT, account_id, r.encode_account(account)
        for account_id, by_market in self.positions.items():
            for market_id, position in by_market.items():
                yield r.TABLE_POSITION, r.position_key(account_id, market_id), r.encode_position(position)
        for market_id, market in self.markets.items():
            yield r.TABLE_MARKET, market_id, r.encode_market(market)
        for market_id, contracts in self.open_interest.items():
            yield r.TABLE_OPEN_INTEREST, market_id, r.encode_open_interest(contracts)
        for key, packed in self.dedup_batches.items():
            yield r.TABLE_DEDUP, key, packed
        for market_id, by_source in self.oracle_sources.items():
            for source, source_state in by_source.items():
                yield r.TABLE_ORACLE_SOURCE, r.position_key(market_id, source), r.encode_oracle_source(source_state)
        for key, value in self.governance.items():
            yield r.TABLE_GOVERNANCE, key, r.encode_governance(value)
        for account_id, window in self.withdrawal_windows.items():
            yield r.TABLE_WITHDRAWAL_WINDOW, account_id, r.encode_withdrawal_window(window)
        for key, value in self.meta.items():
            yield r.TABLE_META, key, r.encode_total(value)
        for market_id, unwind in self.fund_unwinds.items():
            yield r.TABLE_FUND_UNWIND, market_id, r.encode_fund_unwind(unwind)
        for market_id, terms in self.market_terms.items():
            yield r.TABLE_MARKET_TERMS, market_id, r.encode_market_terms(terms)
        for market_id, funding in self.funding.items():
            yield r.TABLE_FUNDING, market_id, r.encode_funding(funding)
        for account_id, call in self.margin_calls.items():
            yield r.TABLE_MARGIN_CALL, account_id, r.encode_margin_call(call)


def guard_deadline(market: Market) -> int:
    """The ledger time at which a guard must look at this market again; 0 for never."""
    deadlines = []
    if market.status_until_ms:
        deadlines.append(market.status_until_ms)
    if market.status != MarketStatus.SETTLED:
        if market.status == MarketStatus.SETTLING and market.kind == MarketKind.FUTURE:
            deadline = settling_deadline_ms(market)  # when it will have collected enough VALID time
            if deadline:
                deadlines.append(deadline)
        elif market.kind in (MarketKind.FUTURE, MarketKind.OPTION):
            # An OPTION stays due from its expiry on while SETTLING: every entry asks again
            # whether its underlying's price is reliable (option_expiry.py).
            deadlines.append(market.expiry_ms)
        if market.fresh_until_ms:
            deadlines.append(market.fresh_until_ms)
    return min(deadlines, default=0)


def _as_stored(packed: bytes) -> bytes:
    return packed


def state_from_records(items: Iterator[tuple[bytes, str, bytes]], applied_index: int) -> LedgerState:
    """Rebuild a state from stored records (a store or a snapshot), recomputing every total, the
    state hash and the liquidation index.

    Each record's hash is taken over its stored bytes as they are: they are the canonical
    encoding the stored hash was committed over, so a changed byte still shows as a mismatch,
    and encoding every decoded record a second time only cost a restart time (a third of it at a
    million accounts). The liquidation index is built here, in bulk, not by the first price
    update after a restart, which would then re-index every account inside one entry."""
    state = LedgerState()
    # The record hashes and the dedup index are sharded (sharded_index.py): written straight
    # into their shards here, counted once at the end.
    hash_shards = state._record_hashes.shards
    dedup_shards = state.dedup.shards
    # Accounts and positions (a million each at scale) go straight into their tables, as
    # put_account and put_position would put them; their totals are summed once at the end.
    accounts, positions, holders = state.accounts, state.positions, state.holders
    dirty, liquidating = state.margin_dirty, state.liquidating
    decode_account, decode_position, separator = r.decode_account, r.decode_position, r.position_key_separator
    for table, key, value in items:
        if table == r.TABLE_ACCOUNT:
            account = decode_account(value)
            accounts[key] = account
            dirty[key] = None
            if account.status is _LIQUIDATING:
                liquidating[key] = None
        elif table == r.TABLE_POSITION:
            account_id, market_id = key.split(separator)
            position = decode_position(value)
            if position.size == 0 and position.cost_basis != 0:
                raise AssertionError(f"flat position {account_id}/{market_id} keeps cost basis {position.cost_basis}")
            by_market = positions.get(account_id)
            if by_market is None:
                by_market = positions[account_id] = {}
            by_market[market_id] = position
            dirty[account_id] = None
            if position.size:
                market_holders = holders.get(market_id)
                if market_holders is None:
                    market_holders = holders[market_id] = {}
                market_holders[account_id] = None
        elif table == r.TABLE_MARKET:
            state.put_market(key, r.decode_market(value))
        elif table == r.TABLE_OPEN_INTEREST:
            state.put_open_interest(key, r.decode_open_interest(value))
        elif table == r.TABLE_DEDUP:
            r.decode_dedup_batch_into(value, dedup_shards, SHARD_MASK)  # AssertionError on a repeated id
            state.dedup_batches[key] = value
            state.dedup_expiry.append((r.dedup_batch_retained_since_ms(value), key))
        elif table == r.TABLE_META:
            state.put_meta(key, r.decode_total(value))
        elif table == r.TABLE_ORACLE_SOURCE:
            market_id, source = key.split(r.position_key_separator)
            state.put_oracle_source(market_id, source, r.decode_oracle_source(value))
        elif table == r.TABLE_GOVERNANCE:
            state.put_governance(key, r.decode_governance(value))
        elif table == r.TABLE_WITHDRAWAL_WINDOW:
            state.put_withdrawal_window(key, r.decode_withdrawal_window(value))
        elif table == r.TABLE_FUND_UNWIND:
            state.put_fund_unwind(key, r.decode_fund_unwind(value))
        elif table == r.TABLE_MARKET_TERMS:
            state.put_market_terms(key, r.decode_market_terms(value))
        elif table == r.TABLE_FUNDING:
            state.put_funding(key, r.decode_funding(value))
        elif table == r.TABLE_MARGIN_CALL:
            state.put_margin_call(key, r.decode_margin_call(value))
        else:
            raise AssertionError(f"unknown table {table!r}")
        slot = (table, key)
        hash_shards[hash(slot) & SHARD_MASK][slot] = record_hash(table, key, value)
    state._pending = {}  # every stored record is hashed above, as stored
    state.total_collateral = sum(account.collateral for account in accounts.values())
    state.funds_total = sum(account.collateral for account_id, account in accounts.items() if is_fund(account_id))
    for account_id, by_market in positions.items():
        if is_fund(account_id) and any(p.size for p in by_market.values()):
            state.fund_positions[account_id] = None
    net_size: dict[str, int] = {}
    funding_weight: dict[str, int] = {}
    total_cost_basis = 0
    for by_market in positions.values():
        for market_id, position in by_market.items():
            total_cost_basis += position.cost_basis
            net_size[market_id] = net_size.get(market_id, 0) + position.size
            if position.funding_index:
                funding_weight[market_id] = funding_weight.get(market_id, 0) + position.size * position.funding_index
    for option_id in sorted(state.option_underlying):  # markets were loaded above; positions straight in
        for account_id in sorted(holders.get(option_id, ())):
            state.index_option_holding(account_id, option_id)
    state.total_cost_basis = total_cost_basis
    state.net_size = net_size
    state.funding_weight = funding_weight
    state._record_hashes.recount()
    state.dedup.recount()
    state.state_hash = sum(sum(shard.values()) for shard in hash_shards) % hash_modulus
    heapq.heapify(state.dedup_expiry)  # appended in key order above (a window's put pushes in order)
    state.applied_index = applied_index
    state.touched = {}
    state.liquidation_index.refresh(state)
    return state
