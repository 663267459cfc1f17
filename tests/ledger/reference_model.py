"""A small reference model of the ledger, written out independently for the stateful test.

Plain dicts and the rules of the ledger's docstrings (oracle.py, liquidation.py,
liquidation_index.py, deleveraging.py, funds.py, global_mode.py, collateral.py, trades.py,
fund_equity.py, fund_unwinding.py, backstop.py), in the
simplest way that says them, without importing anything from the ledger's arithmetic or decision
modules. Only the vocabulary is shared: commands, result codes, record enums, event records, and
the Ed25519 primitives (signature checking is cryptography, not a ledger rule).

Issue 17 taught it fees as money (fees.py), funding (funding.py) and margin calls
(margin_calls.py): written from those docstrings with Fractions and plain dicts.

Issue 18 taught it one mark per entry and sources judged against the others (oracle.py's
docstring, docs/design.md#outliers-and-clamps): the block "sources judged against the others".
Issue 18 taught it the governance rules that move account money (emergency.py, tightening.py,
collateral.py): a withdrawal above the custody threshold needs a quorum of custodian keys, and a
guardian raise of margins is bounded per step and phases maintenance in behind margin calls.

Issue 19 taught it the settlement price (expiry.py, settlement_window.py,
docs/design.md#settlement-price): the block "settlement price". It keeps the prices that counted
as a list of segments and integrates them when it needs a sum, instead of the ledger's running sums.

Every rule is one method with the docstring it follows. Where a docstring leaves a detail open the
model follows the ledger and says so in a comment starting "Follows the ledger:".
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import NamedTuple

from node.identity.keys import verify_ed25519
from node.ledger.commands import CreateMarket, Deposit, EmergencyAction, MakerSide, MarketKind, PriceUpdate, SettleTrade, Withdraw
from node.ledger.events import (
    Deleveraged,
    FundAuctionEnded,
    FundAuctionStarted,
    FundDeadlineDeleveraged,
    FundSliceSold,
    FundingPaid,
    GlobalModeChanged,
    Liquidation,
    MarginCall,
    MarginCallLifted,
    MarketSettled,
    MarketStatusChanged,
    OracleVerdictChanged,
    SourceClamped,
    SourceOutlier,
)
from node.ledger.records import AccountStatus, GlobalMode, GlobalReason, MarketStatus, OracleVerdict, SettlementMethod, StatusReason
from node.ledger.results import ResultCode
from node.ledger.signatures import price_update_bytes

from .driver import oracle_source

BPS = 10_000
GLOBAL_FUND = "sys:insurance"
FUND_PREFIX = "sys:fund:"
GATE_MS = 3_600_000  # withdrawals pause this long after an account goes negative
WINDOW_MS = 3_600_000  # a withdrawal window: one custodian key moves at most the custody threshold in it
SKEW_MS = 10_000  # a source time may run this far ahead of ledger time
BANKRUPTCY_MULTIPLE = 100  # a long's bankruptcy price is at most this multiple of the mark
FEES = "sys:fees"  # the ledger's fee account
POOL_PREFIX = "sys:funding:"  # a perpetual's funding pool
BILLION = 10**9  # funding rates in billionths of the mark; the index in billionths of a unit per contract
SETTLEMENT_WINDOW_DEFAULT_MS = 1_800_000  # a future listed with 0: 30 minutes, at most the time left to expiry
SETTLEMENT_COVERAGE_PCT = 50  # of the window: the VALID time a settlement price needs

ACTIVE = AccountStatus.ACTIVE
LIQUIDATING = AccountStatus.LIQUIDATING
BANKRUPT = AccountStatus.BANKRUPT
VALID = OracleVerdict.VALID
STALE = OracleVerdict.STALE
TOO_VOLATILE = OracleVerdict.TOO_VOLATILE

_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_MARKET_ID = re.compile(r"[A-Za-z0-9._:-]{1,32}")


def fund_of(market: str) -> str:
    return FUND_PREFIX + market


def is_fund(account: str) -> bool:
    """The insurance funds: the global one and each market's (not the fee account, nor a pool)."""
    return account == GLOBAL_FUND or account.startswith(FUND_PREFIX)


def is_ledger_owned(account: str) -> bool:
    return account.startswith("sys:")


def pool_of(market: str) -> str:
    return POOL_PREFIX + market


def valid_id(value: str) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def client_id(value: str) -> bool:
    return valid_id(value) and not value.startswith("sys:")


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def sign(x: int) -> int:
    return 1 if x > 0 else -1


def fill(size: int, cost: int, qty: int, price: int) -> tuple[int, int, int]:
    """Buy qty (negative: sell) at price. Returns (new size, new cost, realized pnl).

    Pnl is realized only when the position goes flat or flips side; then the old position is
    closed at `price` and whatever remains opens at `price`. Otherwise cost just adds qty*price.
    """
    new_size = size + qty
    if size != 0 and (new_size == 0 or (new_size > 0) != (size > 0)):
        return new_size, new_size * price, size * price - cost
    return new_size, cost + qty * price, 0


def reduces(old: int, new: int) -> bool:
    """A fill that only shrinks a position towards zero (no flip) adds no risk."""
    return new == 0 or (old * new > 0 and abs(new) <= abs(old))


@dataclass(frozen=True)
class Params:
    tick: int
    lot: int
    im_bps: int
    mm_bps: int
    fee_bps: int
    oi_cap: int
    base_price: int  # where prices are drawn around
    sources: tuple[str, ...] = ("a", "b", "c")
    min_sources: int = 2
    stale_after_ms: int = 30_000
    volatility_bps: int = 0
    twap_window_ms: int = 0
    slice_bps: int = 10_000
    window_ms: int = 0
    cap_notional: int = 0
    fund_cap: int = 0
    # The fund's auction (CreateMarket's unwind_* parameters; the ledger's defaults).
    unwind_start_bps: int = 50
    unwind_slope_bps_per_minute: int = 10
    unwind_discount_max_bps: int = 1_000
    unwind_slice: int = 0
    unwind_window_ms: int = 60_000
    unwind_deadline_ms: int = 86_400_000
    maker_bps: int = 0  # negative: a rebate
    taker_bps: int = 0
    fee_share_bps: int = 0  # of every fee, to the market's fund
    funding_ms: int = 0  # 0: no funding
    funding_cap_bps: int = 0
    call_bps: int = 0  # 0: no margin calls
    half_life_ms: int = 0  # the mark's volatility decays with this half-life (adaptive thresholds); 0: none kept
    outlier_bps: int = 1_000  # a print this far from the other sources' median is not counted; 0 = off
    clamp_after_ms: int = 0  # a price unchanged this long while another source moved is a clamp; 0 = off
    expiry_ms: int = 0  # a FUTURE expiring at this ledger time; 0: a perpetual
    settlement_window_ms: int = 0  # a future's settlement window (0: the default)

    def create(self, name: str) -> CreateMarket:
        """The CreateMarket command that lists this market (breakers off: band and cascade 0)."""
        return CreateMarket(
            id=f"create-{name}", market=name, kind=MarketKind.FUTURE if self.expiry_ms else MarketKind.PERPETUAL,
            expiry_ms=self.expiry_ms, settlement_window_ms=self.settlement_window_ms, tick_size=self.tick, lot_size=self.lot,
            initial_margin_bps=self.im_bps, maintenance_margin_bps=self.mm_bps, liquidation_fee_bps=self.fee_bps,
            open_interest_cap=self.oi_cap, trade_band_bps=100_000, band_bps=0, band_window_ms=0, cooldown_ms=0,
            sources=tuple(oracle_source(s) for s in self.sources), min_sources=self.min_sources,
            stale_after_ms=self.stale_after_ms, volatility_bps=self.volatility_bps, twap_window_ms=self.twap_window_ms,
            liquidation_slice_bps=self.slice_bps, liquidation_window_ms=self.window_ms,
            liquidation_cap_notional=self.cap_notional, fund_position_cap=self.fund_cap,
            unwind_start_bps=self.unwind_start_bps, unwind_slope_bps_per_minute=self.unwind_slope_bps_per_minute,
            unwind_discount_max_bps=self.unwind_discount_max_bps, unwind_slice_contracts=self.unwind_slice,
            unwind_window_ms=self.unwind_window_ms, unwind_deadline_ms=self.unwind_deadline_ms,
            maker_fee_bps=self.maker_bps, taker_fee_bps=self.taker_bps, fee_fund_share_bps=self.fee_share_bps,
            funding_interval_ms=self.funding_ms, funding_rate_cap_bps=self.funding_cap_bps, margin_call_bps=self.call_bps,
            volatility_half_life_ms=self.half_life_ms,
            outlier_bps=self.outlier_bps, clamp_after_ms=self.clamp_after_ms,
        )


NOT_EXCLUDED, OUTLIER, CLAMPED = 0, 1, 2  # why a source's price does not enter the median


@dataclass
class Source:
    public_key: bytes
    price: int = 0
    time: int = 0  # source time of the last recorded price
    since: int = 0  # source time the current price value was first reported
    exclusion: int = NOT_EXCLUDED
    outlier_prints: int = 0

    @property
    def counted(self) -> bool:
        return self.price > 0 and self.exclusion == NOT_EXCLUDED


@dataclass
class MarketState:
    mark: int = 0
    mark_time: int = 0
    verdict: OracleVerdict = STALE
    status: MarketStatus = MarketStatus.ACTIVE
    reason: StatusReason = StatusReason.NONE
    twap: int = 0
    twap_time: int = 0
    window_start: int = 0
    window_used: int = 0
    # Funding: the index, the last rate, the current interval's start and end, the premium
    # samples of the interval (time, premium; the first carries over the last one before it),
    # the last traded price, and the settled rounding not yet a whole unit for the fund.
    index: int = 0
    rate: int = 0
    interval_start: int = 0
    next_funding: int = 0
    samples: list = field(default_factory=list)
    last_trade: int = 0
    dust: int = 0
    # Adaptive thresholds: the mark's variance (ppm^2) and the ledger time it was last updated.
    variance: int = 0
    variance_time: int = 0
    # Settlement price (a future): its window, until when the mark is fresh, the segments
    # (from, price counting from then on or 0, valid until), and the price it settled at.
    window_ms: int = 0
    fresh_until: int = 0
    counting: list = field(default_factory=list)
    settled_price: int = 0


@dataclass
class Auction:
    """A market fund's auction: when it started (0: none) and its window of contracts sold."""

    started: int = 0
    window_start: int = 0
    sold: int = 0


class Expected(NamedTuple):
    code: ResultCode
    collateral: int = 0
    counterparty: int = 0
    original: ResultCode = ResultCode.OK


@dataclass
class Model:
    params: dict[str, Params]
    now: int = 0
    gated_until: int = 0
    mode: GlobalMode = GlobalMode.NORMAL
    collateral: dict[str, int] = field(default_factory=lambda: {GLOBAL_FUND: 0})
    status: dict[str, AccountStatus] = field(default_factory=lambda: {GLOBAL_FUND: ACTIVE})
    pos: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)  # (account, market) -> (size, cost)
    realized: dict[tuple[str, str], int] = field(default_factory=dict)
    findex: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, market) -> index last settled at
    called: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # account -> (since, equity, level)
    market: dict[str, MarketState] = field(default_factory=dict)
    sources: dict[tuple[str, str], Source] = field(default_factory=dict)
    fees: int = 0  # every net fee ever charged
    fees_withdrawn: int = 0
    deposits: int = 0
    withdrawals: int = 0
    seen: dict[str, Expected] = field(default_factory=dict)
    events: list = field(default_factory=list)  # the current entry's events
    stepped: set[str] = field(default_factory=set)  # accounts that took a liquidation step this entry
    stats: Counter = field(default_factory=Counter)  # what happened in the current entry
    repriced: set[str] = field(default_factory=set)  # markets whose sources recorded a print this entry
    auctions: dict[str, Auction] = field(default_factory=dict)  # market -> its fund's auction
    # market -> backstop account -> (least discount it takes in bps, most contracts it holds)
    backstops: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    # Bounded governance (issue 18), once a signer set is installed (GovernedLedgerVersusModel).
    signers: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # key id -> (role, public key)
    custody_threshold: int | None = None  # above it a withdrawal needs custody_quorum custodian keys
    custody_quorum: int = 2
    grace_ms: int = 3_600_000  # margin_raise_grace_ms
    nonces: set[int] = field(default_factory=set)  # action nonces used
    phase_ins: dict[str, tuple[int, int]] = field(default_factory=dict)  # market -> (due at, maintenance bps)
    windows: dict[str, tuple[int, int]] = field(default_factory=dict)  # account -> (window start, withdrawn in it)

    # -- reads ---------------------------------------------------------------------------------

    def size_cost(self, account: str, market: str) -> tuple[int, int]:
        return self.pos.get((account, market), (0, 0))

    def held(self, account: str) -> list[tuple[str, int]]:
        """(market, size) of the account's open positions, by market id."""
        return sorted((m, s) for (a, m), (s, _) in self.pos.items() if a == account and s)

    def holders(self, market: str) -> list[str]:
        return sorted(a for (a, m), (s, _) in self.pos.items() if m == market and s)

    def open_interest(self, market: str, pos: dict | None = None) -> int:
        pos = self.pos if pos is None else pos
        return sum(s for (_, m), (s, _) in pos.items() if m == market and s > 0)

    def funds_total(self) -> int:
        return sum(c for a, c in self.collateral.items() if is_fund(a))

    def fund_equity(self, fund: str) -> int:
        """A fund is worth its cash plus what its positions would close for at the marks (a
        profit at a HALTED mark counts nothing), less the funding they owe and have not settled."""
        value = self.collateral[fund]
        for (a, m), (size, cost) in self.pos.items():
            if a == fund and size:
                pnl = size * self.market[m].mark - cost
                value += 0 if pnl > 0 and self.market[m].status in (MarketStatus.HALTED, MarketStatus.SETTLING) else pnl
                value -= self.owed(fund, m, size)
        return value

    def funds_equity(self) -> int:
        return sum(self.fund_equity(a) for a in self.collateral if is_fund(a))

    def valuation(self, account: str, pos: dict | None = None, settled: str = "") -> tuple[int, int, int, int]:
        """(upnl, losses only, initial margin, maintenance margin) at the marks; margins round up.
        Unsettled funding counts (except in `settled`, a market whose funding a trade settles)."""
        pos = self.pos if pos is None else pos
        pnl = loss = im = mm = 0
        for (a, m), (size, cost) in pos.items():
            if a != account or size == 0:
                continue
            mark = self.market[m].mark
            upnl = size * mark - cost
            if upnl > 0 and self.market[m].status == MarketStatus.SETTLING:
                upnl = 0  # a profit at a price nobody could settle at is not margin
            pnl += upnl
            loss += min(0, upnl)
            owes = self.owed(a, m, size) if m != settled else 0  # owed is a loss, receivable only equity
            pnl -= owes
            loss -= max(owes, 0)
            im += ceil_div(abs(size) * mark * self.params[m].im_bps, BPS)
            mm += ceil_div(abs(size) * mark * self.params[m].mm_bps, BPS)
        return pnl, loss, im, mm

    def owed(self, account: str, market: str, size: int | None = None) -> int:
        """Whole units the position owes at the market's index (negative: is owed): a payment
        rounded up, a receipt rounded down."""
        if size is None:
            size = self.size_cost(account, market)[0]
        exact = Fraction(size * (self.market[market].index - self.findex.get((account, market), 0)), BILLION)
        return -((-exact.numerator) // exact.denominator)  # ceil

    def equity(self, account: str) -> int:
        return self.collateral[account] + self.valuation(account)[0]

    def below_maintenance(self, account: str) -> bool:
        pnl, _, _, mm = self.valuation(account)
        return self.collateral[account] + pnl < mm

    def fresh(self, market: str) -> list[tuple[int, int]]:
        """(source time, price) of the counted sources within stale_after of ledger time."""
        stale_after = self.params[market].stale_after_ms
        return [(s.time, s.price) for (m, _), s in self.sources.items()
                if m == market and s.counted and self.now - s.time <= stale_after]

    # -- entries and commands ------------------------------------------------------------------

    def apply_entry(self, timestamp_ms: int, commands) -> list[Expected]:
        """One entry: ledger time, stale timers, one liquidation step for every LIQUIDATING
        account, then the commands (the fund floor is checked after each)."""
        self.now = max(self.now, timestamp_ms)
        self.events = []
        self.stepped = set()
        self.stats = Counter()
        self.repriced = set()
        for market in sorted(self.market):
            state = self.market[market]
            if self.params[market].expiry_ms and state.status != MarketStatus.SETTLED and self.now >= self.params[market].expiry_ms:
                if self.expire(market):
                    continue
            if state.status == MarketStatus.SETTLED:
                continue  # final: no timer looks at it again
            if state.verdict != STALE and len(self.fresh(market)) < self.params[market].min_sources:
                self.go_stale(market)  # the sources aged out in ledger time
                self.stats["STALE by ledger time"] += 1
        if any(p.expiry_ms and self.now >= p.expiry_ms for p in self.params.values()):
            self.check_floor()  # a settlement moved the funds' money (idempotent otherwise)
        if self.phase_ins:
            self.apply_due_phase_ins()
        rolled = [m for m in sorted(self.market) if self.market[m].next_funding and self.now >= self.market[m].next_funding]
        for market in rolled:
            self.pay_funding(market)
        if rolled:
            self.check_floor()
        if any(s == LIQUIDATING for s in self.status.values()):
            self.continue_liquidations()
            self.check_floor()
        results = []
        for cmd in commands:
            results.append(self.apply_command(cmd))
            self.check_floor()
        if self.repriced:
            self.mark_once()
            self.check_floor()
        if any(a.started for a in self.auctions.values()):
            for market in sorted(m for m, a in self.auctions.items() if a.started):
                self.auction_step(market)
            self.check_floor()
        self.track_auctions()
        return results

    def apply_command(self, cmd) -> Expected:
        if not valid_id(cmd.id):
            return Expected(ResultCode.INVALID_ID)  # not recorded: a retry is judged afresh
        if cmd.id in self.seen:
            first = self.seen[cmd.id]
            return Expected(ResultCode.DUPLICATE, first.collateral, first.counterparty, first.code)
        handler = {CreateMarket: self.create_market, Deposit: self.deposit, Withdraw: self.withdraw,
                   SettleTrade: self.trade, PriceUpdate: self.price, EmergencyAction: self.governance_action}[type(cmd)]
        result = handler(cmd)
        self.seen[cmd.id] = result
        return result

    def check_floor(self) -> None:
        """The funds together, at the marks, below 0: the venue is REDUCE_ONLY until they are
        topped up (or the marks recover)."""
        below = self.funds_equity() < 0
        if any(c < 0 for a, c in self.collateral.items() if is_fund(a)):
            self.stats["a fund in deficit"] += 1
        if below and self.mode == GlobalMode.NORMAL:
            self.mode = GlobalMode.REDUCE_ONLY
            self.events.append(GlobalModeChanged(GlobalMode.REDUCE_ONLY, GlobalReason.FUND_BELOW_FLOOR))
            self.stats["venue REDUCE_ONLY (funds in deficit)"] += 1
        elif not below and self.mode == GlobalMode.REDUCE_ONLY:
            self.mode = GlobalMode.NORMAL
            self.events.append(GlobalModeChanged(GlobalMode.NORMAL, GlobalReason.NONE))

    def create_market(self, cmd: CreateMarket) -> Expected:
        if cmd.market in self.market:
            return Expected(ResultCode.MARKET_EXISTS)
        self.market[cmd.market] = MarketState()
        if cmd.kind == MarketKind.FUTURE:
            self.market[cmd.market].window_ms = cmd.settlement_window_ms or min(SETTLEMENT_WINDOW_DEFAULT_MS, cmd.expiry_ms - self.now)
        for source in cmd.sources:
            self.sources[(cmd.market, source.source)] = Source(source.public_key)
        self.collateral[fund_of(cmd.market)] = 0
        self.status[fund_of(cmd.market)] = ACTIVE
        self.auctions[cmd.market] = Auction()
        if cmd.funding_interval_ms:
            state = self.market[cmd.market]
            state.interval_start = self.now
            state.next_funding = (self.now // cmd.funding_interval_ms + 1) * cmd.funding_interval_ms
            state.samples = [(self.now, 0)]
            self.collateral[pool_of(cmd.market)] = 0
            self.status[pool_of(cmd.market)] = ACTIVE
        return Expected(ResultCode.OK)

    def deposit(self, cmd: Deposit) -> Expected:
        # Clients, and the funds that exist (the global one and each listed market's).
        if not (cmd.account in self.collateral and is_fund(cmd.account)) and not client_id(cmd.account):
            return Expected(ResultCode.INVALID_ACCOUNT)
        if cmd.amount <= 0:
            return Expected(ResultCode.INVALID_AMOUNT)
        self.collateral[cmd.account] = self.collateral.get(cmd.account, 0) + cmd.amount
        self.status.setdefault(cmd.account, ACTIVE)
        self.deposits += cmd.amount
        if cmd.account in self.called:
            self.maybe_lift(cmd.account)
        return Expected(ResultCode.OK, self.collateral[cmd.account])

    def withdraw(self, cmd: Withdraw) -> Expected:
        if not client_id(cmd.account):
            return Expected(ResultCode.INVALID_ACCOUNT)
        if cmd.amount <= 0:
            return Expected(ResultCode.INVALID_AMOUNT)
        if self.custody_threshold is not None and self.withdrawn_in_window(cmd.account) + cmd.amount > self.custody_threshold:
            self.stats["withdrawal refused: needs the custody quorum"] += 1
            return Expected(ResultCode.CUSTODY_QUORUM_REQUIRED)
        return self.pay_out(cmd.account, cmd.amount)

    def withdrawn_in_window(self, account: str) -> int:
        """What left the account in its hourly withdrawal window (0 once the window is over)."""
        start, withdrawn = self.windows.get(account, (0, 0))
        return withdrawn if account in self.windows and self.now - start < WINDOW_MS else 0

    def pay_out(self, account: str, amount: int) -> Expected:
        """The checks of every withdrawal, one key's or a custody quorum's, then the payment."""
        if account not in self.collateral:
            return Expected(ResultCode.UNKNOWN_ACCOUNT)
        if self.status[account] != ACTIVE:
            return Expected(ResultCode.ACCOUNT_NOT_ACTIVE)
        collateral = self.collateral[account]
        if self.now < self.gated_until:
            self.stats["withdrawal gated"] += 1
            return Expected(ResultCode.WITHDRAWALS_GATED, collateral)
        if self.unreliable(account):  # a position valued at a non-VALID mark has no trusted value
            self.stats["withdrawal refused: unreliable mark"] += 1
            return Expected(ResultCode.STALE_PRICE, collateral)
        _, loss, im, _ = self.valuation(account)
        if amount > collateral + loss - im:  # unrealized profit never counts
            return Expected(ResultCode.INSUFFICIENT_COLLATERAL, collateral)
        self.collateral[account] = collateral - amount
        self.withdrawals += amount
        start, _ = self.windows.get(account, (self.now, 0))
        if self.now - start >= WINDOW_MS:
            start = self.now  # the window is over: a new one starts
        self.windows[account] = (start, self.withdrawn_in_window(account) + amount)
        return Expected(ResultCode.OK, collateral - amount)

    def trade(self, cmd: SettleTrade) -> Expected:
        if not (isinstance(cmd.market, str) and _MARKET_ID.fullmatch(cmd.market)):
            return Expected(ResultCode.INVALID_MARKET)
        if cmd.market not in self.params:
            return Expected(ResultCode.UNKNOWN_MARKET)
        p, state = self.params[cmd.market], self.market[cmd.market]
        for account in (cmd.buyer, cmd.seller):
            # Ledger-owned ids are never a side of a trade, except a fund unwinding (fund_fill).
            if is_fund(account) and account in self.collateral:
                return self.fund_fill(cmd)
            if not client_id(account):
                return Expected(ResultCode.INVALID_ACCOUNT)
        if cmd.buyer == cmd.seller:
            return Expected(ResultCode.SELF_TRADE)
        for account in (cmd.buyer, cmd.seller):
            if account not in self.collateral:
                return Expected(ResultCode.UNKNOWN_ACCOUNT)
            if self.status[account] != ACTIVE:
                return Expected(ResultCode.ACCOUNT_NOT_ACTIVE)
        if cmd.price <= 0 or cmd.price % p.tick:
            return Expected(ResultCode.INVALID_PRICE)
        if cmd.quantity <= 0 or cmd.quantity % p.lot:
            return Expected(ResultCode.INVALID_QUANTITY)
        if cmd.buyer_fee < 0 or cmd.seller_fee < 0:
            return Expected(ResultCode.INVALID_FEE)
        # fees.py: the schedule when the fill names its maker; the fill's own fees otherwise,
        # only on a market without a schedule.
        fees = {cmd.buyer: cmd.buyer_fee, cmd.seller: cmd.seller_fee}
        if cmd.maker_side:
            if cmd.maker_side not in (MakerSide.BUYER, MakerSide.SELLER):
                return Expected(ResultCode.INVALID_MAKER_SIDE)
            if cmd.buyer_fee or cmd.seller_fee:
                return Expected(ResultCode.INVALID_FEE)
            notional = cmd.price * cmd.quantity
            taker_fee = ceil_div(notional * p.taker_bps, BPS)
            maker_fee = ceil_div(notional * p.maker_bps, BPS) if p.maker_bps >= 0 else -(notional * -p.maker_bps // BPS)
            maker, taker = (cmd.buyer, cmd.seller) if cmd.maker_side == MakerSide.BUYER else (cmd.seller, cmd.buyer)
            fees = {maker: maker_fee, taker: taker_fee}
            self.stats["fill charged the fee schedule" + (" with a rebate" if maker_fee < 0 else "")] += 1
        elif p.maker_bps or p.taker_bps:
            return Expected(ResultCode.INVALID_MAKER_SIDE)
        refused = self.expiry_refusal(cmd.market)
        if refused is not None:
            return Expected(refused)
        if state.mark == 0:
            return Expected(ResultCode.NO_MARK_PRICE)

        sides = ((cmd.buyer, cmd.quantity), (cmd.seller, -cmd.quantity))
        new_pos = dict(self.pos)
        new_collateral, realized = {}, {}
        for account, qty in sides:
            size, cost = self.size_cost(account, cmd.market)
            new_size, new_cost, realized[account] = fill(size, cost, qty, cmd.price)
            new_pos[(account, cmd.market)] = (new_size, new_cost)
            # The old position's funding is settled first: what it owes is gone from collateral.
            new_collateral[account] = self.collateral[account] - self.owed(account, cmd.market) + realized[account] - fees[account]

        def adds_risk(account: str) -> bool:
            return not reduces(self.size_cost(account, cmd.market)[0], new_pos[(account, cmd.market)][0])

        # A stale market, and the whole venue while the funds are in deficit, are reduce-only.
        if state.status == MarketStatus.REDUCE_ONLY or self.mode == GlobalMode.REDUCE_ONLY:
            if adds_risk(cmd.buyer) or adds_risk(cmd.seller):
                return Expected(ResultCode.REDUCE_ONLY)
        # margin_calls.py: a called account is reduce-only until back at initial margin.
        for account, _ in sides:
            if account in self.called and adds_risk(account):
                self.stats["fill refused: margin-called"] += 1
                return Expected(ResultCode.MARGIN_CALLED)
        oi_before = self.open_interest(cmd.market)
        oi_after = self.open_interest(cmd.market, new_pos)
        if oi_after > oi_before and oi_after > p.oi_cap:
            return Expected(ResultCode.OPEN_INTEREST_CAP)
        for account, _ in sides:
            if new_collateral[account] < 0:
                return Expected(ResultCode.INSUFFICIENT_MARGIN)
            if adds_risk(account):
                pnl, _, im, _ = self.valuation(account, new_pos, settled=cmd.market)
                if new_collateral[account] + pnl < im:
                    return Expected(ResultCode.INSUFFICIENT_MARGIN)

        for account, _ in sides:
            self.settle_funding(account, cmd.market)
        self.pos = new_pos
        for account, _ in sides:
            self.findex[(account, cmd.market)] = state.index
            self.collateral[account] += realized[account] - fees[account]
            assert self.collateral[account] == new_collateral[account]
            key = (account, cmd.market)
            self.realized[key] = self.realized.get(key, 0) + realized[account]
        net_fee = sum(fees.values())
        if net_fee:
            self.credit_fees(cmd.market, net_fee)
        if state.next_funding:
            self.sample(cmd.market, cmd.price, state.mark)
        for account, _ in sides:
            if account in self.called:
                self.maybe_lift(account)
        return Expected(ResultCode.OK, new_collateral[cmd.buyer], new_collateral[cmd.seller])

    # -- fees, funding, margin calls (fees.py, funding.py, margin_calls.py) --------------------

    def credit_fees(self, market: str, net_fee: int) -> None:
        """A fill's net fee (never negative): the fund's share (rounded down) to the market's
        fund, the rest to the fee account."""
        assert net_fee > 0, net_fee
        share = net_fee * self.params[market].fee_share_bps // BPS
        self.collateral[fund_of(market)] += share
        if net_fee - share:
            self.collateral[FEES] = self.collateral.get(FEES, 0) + net_fee - share
            self.status.setdefault(FEES, ACTIVE)
        self.fees += net_fee

    def sample(self, market: str, trade_price: int, mark: int) -> None:
        """A premium sample: floor((traded price - mark) / mark) in billionths, held from now."""
        self.market[market].last_trade = trade_price
        self.market[market].samples.append((self.now, (trade_price - mark) * BILLION // mark))

    def pay_funding(self, market: str) -> None:
        """The interval ends: the time-weighted average of the premium samples over it, clamped,
        times the mark, goes onto the index; whole intervals since, with no sample, had the last
        premium throughout. Then the sweeps a new mark would run."""
        p, state = self.params[market], self.market[market]
        end = state.next_funding
        cap = p.funding_cap_bps * BILLION // BPS
        points = state.samples + [(end, None)]
        integral = sum(premium * (points[i + 1][0] - t) for i, (t, premium) in enumerate(points[:-1]))
        rate = min(max(integral // (end - state.interval_start), -cap), cap)
        state.index += rate * state.mark
        self.events.append(FundingPaid(market, rate, state.mark, 1, state.index, end))
        last = state.samples[-1][1]
        quiet = (self.now - end) // p.funding_ms
        if quiet:
            rate = min(max(last, -cap), cap)
            state.index += quiet * rate * state.mark
            end += quiet * p.funding_ms
            self.events.append(FundingPaid(market, rate, state.mark, quiet, state.index, end))
            self.stats["funding over quiet intervals"] += 1
        self.stats["funding paid" + (" (clamped)" if abs(rate) == cap else "")] += 1
        state.rate, state.interval_start, state.next_funding = rate, end, end + p.funding_ms
        state.samples = [(end, last)]
        if state.verdict == VALID and state.status != MarketStatus.HALTED:
            self.sweep(market)
            self.review_calls(market)

    def settle_funding(self, account: str, market: str) -> None:
        """Before a position changes: it pays what it owes into the market's pool (or takes what
        it is owed from it); the rounding collects in the market's dust and each whole unit of it
        moves from the pool to the market's fund."""
        state = self.market[market]
        if not self.params[market].funding_ms:
            return
        size = self.size_cost(account, market)[0]
        exact = size * (state.index - self.findex.get((account, market), 0))
        paid = self.owed(account, market)
        self.findex[(account, market)] = state.index
        if paid:
            self.stats["funding settled"] += 1
        self.collateral[account] -= paid
        self.collateral[pool_of(market)] += paid
        state.dust += paid * BILLION - exact
        whole = state.dust // BILLION
        if whole:
            state.dust -= whole * BILLION
            self.collateral[pool_of(market)] -= whole
            self.collateral[fund_of(market)] += whole
            self.stats["funding rounding to the fund"] += 1

    def call_level(self, account: str) -> int | None:
        level, any_call = 0, False
        for market, size in self.held(account):
            p = self.params[market]
            any_call = any_call or bool(p.call_bps)
            level += ceil_div(abs(size) * self.market[market].mark * (p.call_bps or p.mm_bps), BPS)
        return level if any_call else None

    def maybe_lift(self, account: str) -> None:
        pnl, _, im, _ = self.valuation(account)
        equity = self.collateral[account] + pnl
        if equity >= im:
            del self.called[account]
            self.events.append(MarginCallLifted(account, equity, im, self.now))
            self.stats["margin call lifted"] += 1

    def review_calls(self, market: str) -> None:
        """After a market's sweep: its ACTIVE holders below their call level (with reliable
        marks) are called, by id; then every called account at initial margin is lifted."""
        for account in self.holders(market):
            if is_ledger_owned(account) or account in self.called or self.status[account] != ACTIVE:
                continue
            level = self.call_level(account)
            if level is None or self.unreliable(account):
                continue
            equity = self.equity(account)
            if equity < level:
                self.called[account] = (self.now, equity, level)
                self.events.append(MarginCall(account, equity, level, self.now))
                self.stats["margin call"] += 1
        for account in sorted(self.called):
            self.maybe_lift(account)

    # -- bounded governance (issue 18): custody quorum, bounded raise, maintenance phase-in ------

    def governance_action(self, cmd: EmergencyAction) -> Expected:
        """The actions the governed machine draws, well-formed, current and signed by test keys:
        a CUSTODY_WITHDRAW needs custody_quorum distinct custodian signatures, then passes the
        checks of any withdrawal; a SET_MARKET_PARAMS raising margins needs two guardians, keeps
        0 < maintenance <= initial (and a call level strictly between, counting a pending
        phase-in as the maintenance), and may raise each by max(50% of it, 50 bps). A refused
        action leaves its nonce unused."""
        action = json.loads(cmd.canonical_bytes)
        if action["nonce"] in self.nonces:
            return Expected(ResultCode.NONCE_REUSED)
        custody = action["kind"] == "CUSTODY_WITHDRAW"
        if custody and not (client_id(action["account"]) and action["amount"] > 0):
            return Expected(ResultCode.INVALID_ACTION)
        if not custody:
            market, params = action["market"], action["params"]
            p = self.params[market]
            mm = params.get("maintenance_margin_bps", self.phase_ins[market][1] if market in self.phase_ins else p.mm_bps)
            im = params.get("initial_margin_bps", p.im_bps)
            if not (0 < mm <= im <= BPS and (not p.call_bps or mm < p.call_bps < im)):
                return Expected(ResultCode.INVALID_ACTION)
        refused = self.quorum(cmd, "custodian" if custody else "guardian", self.custody_quorum if custody else 2)
        if refused is not None:
            return Expected(refused)
        if custody:
            result = self.pay_out(action["account"], action["amount"])
            if result.code == ResultCode.OK:
                self.nonces.add(action["nonce"])
                self.stats["custody withdrawal"] += 1
            return result
        old = {"initial_margin_bps": p.im_bps, "maintenance_margin_bps": p.mm_bps}
        if any(params[name] - old[name] > max(abs(old[name]) * 5_000 // BPS, 50) for name in sorted(params)):
            self.stats["raise beyond its step refused"] += 1
            return Expected(ResultCode.RAISE_STEP_TOO_LARGE)
        self.nonces.add(action["nonce"])
        self.raise_margins(market, params)
        return Expected(ResultCode.OK)

    def quorum(self, cmd: EmergencyAction, role: str, threshold: int) -> ResultCode | None:
        """Every signature from a listed key of the role and valid, and enough distinct ones."""
        for s in cmd.signatures:
            if s.key_id not in self.signers:
                return ResultCode.UNKNOWN_SIGNER
            key_role, public_key = self.signers[s.key_id]
            if key_role != role:
                return ResultCode.WRONG_ROLE
            if not verify_ed25519(public_key, cmd.canonical_bytes, s.signature):
                return ResultCode.INVALID_SIGNATURE
        if len({s.key_id for s in cmd.signatures}) < threshold:
            return ResultCode.BELOW_THRESHOLD
        return None

    def raise_margins(self, market: str, params: dict) -> None:
        """Initial margin at once; a maintenance raise waits grace_ms, and every ACTIVE client
        holder the raised level puts below maintenance is called now (by id). A new maintenance
        decision replaces a pending one."""
        p = self.params[market]
        if "initial_margin_bps" in params:
            self.params[market] = p = replace(p, im_bps=params["initial_margin_bps"])
        raised = params.get("maintenance_margin_bps")
        if raised is None:
            return
        self.phase_ins.pop(market, None)
        if raised <= p.mm_bps:
            self.params[market] = replace(p, mm_bps=raised)
            return
        self.phase_ins[market] = (self.now + self.grace_ms, raised)
        for account in self.holders(market):
            if is_ledger_owned(account) or account in self.called or self.status[account] != ACTIVE:
                continue
            self.params[market] = replace(p, mm_bps=raised)
            maintenance = self.valuation(account)[3]
            self.params[market] = p
            equity = self.equity(account)
            if equity < maintenance:
                self.called[account] = (self.now, equity, maintenance)
                self.events.append(MarginCall(account, equity, maintenance, self.now))
                self.stats["margin call by a maintenance raise"] += 1

    def apply_due_phase_ins(self) -> None:
        """A phase-in whose grace is over applies (checked again: cancelled if inconsistent)."""
        for market in sorted(self.phase_ins):
            due, raised = self.phase_ins[market]
            if due > self.now:
                continue
            del self.phase_ins[market]
            p = self.params[market]
            if raised <= p.im_bps and (not p.call_bps or raised < p.call_bps):
                self.params[market] = replace(p, mm_bps=raised)
                self.stats["maintenance raise phased in"] += 1

    # -- the oracle ----------------------------------------------------------------------------

    def price(self, cmd: PriceUpdate) -> Expected:
        """A signed price from one registered source; INVALID updates change nothing (a clamp
        only stops the source's earlier price from counting)."""
        if not (isinstance(cmd.market, str) and _MARKET_ID.fullmatch(cmd.market)):
            return Expected(ResultCode.INVALID_MARKET)
        if cmd.market not in self.params:
            return Expected(ResultCode.UNKNOWN_MARKET)
        source = self.sources.get((cmd.market, cmd.source))
        if source is None:  # malformed or not registered
            return Expected(ResultCode.INVALID_SOURCE)
        message = price_update_bytes(cmd.market, cmd.source, cmd.price, cmd.source_time_ms)
        if not verify_ed25519(source.public_key, message, cmd.signature):
            self.stats["bad signature refused"] += 1
            return Expected(ResultCode.INVALID_SIGNATURE)
        if self.market[cmd.market].status == MarketStatus.SETTLED:
            return Expected(ResultCode.MARKET_NOT_ACTIVE)
        stale_after = self.params[cmd.market].stale_after_ms
        t = cmd.source_time_ms
        if t <= source.time or t > self.now + SKEW_MS or self.now - t > stale_after:
            return Expected(ResultCode.STALE_PRICE)
        if cmd.price <= 0:
            return Expected(ResultCode.INVALID_PRICE)
        return self.judge_source(cmd, source)

    # -- sources judged against the others (issue 18) ------------------------------------------

    def judge_source(self, cmd: PriceUpdate, source: Source) -> Expected:
        """A fresh, positive, signed print is recorded whatever its judgement; the market is marked
        once, at the end of the entry. CLAMPED: its price unchanged for clamp_after_ms while another
        fresh counted source reported a different price since; stays so until the price changes.
        OUTLIER: more than outlier_bps from the median of the other fresh, unclamped sources (at
        least two; for an even count, the nearer middle price); stays so, with fewer than two
        others, until a print is judged back within the band (or mark_once readmits it)."""
        p, t = self.params[cmd.market], cmd.source_time_ms
        others = [s for (m, name), s in self.sources.items()
                  if m == cmd.market and name != cmd.source and s.price > 0 and s.exclusion != CLAMPED
                  and self.now - s.time <= p.stale_after_ms]
        repeated = cmd.price == source.price
        since = source.since if repeated else t
        was = source.exclusion
        source.price, source.time, source.since, source.exclusion = cmd.price, t, since, NOT_EXCLUDED
        self.repriced.add(cmd.market)
        moved = any(s.exclusion == NOT_EXCLUDED and s.price != cmd.price and s.since > since for s in others)
        if repeated and (was == CLAMPED or (p.clamp_after_ms and t - since >= p.clamp_after_ms and moved)):
            source.exclusion = CLAMPED
            if was != CLAMPED:
                self.events.append(SourceClamped(cmd.market, cmd.source, cmd.price, since))
                self.stats["source clamped"] += 1
            return Expected(ResultCode.PRICE_CLAMPED)
        if p.outlier_bps and len(others) >= 2:
            prices = sorted(s.price for s in others)
            middle = {prices[(len(prices) - 1) // 2], prices[len(prices) // 2]}
            if min(middle) <= cmd.price <= max(middle):
                return Expected(ResultCode.OK)
            reference = min(middle) if cmd.price < min(middle) else max(middle)
            if abs(cmd.price - reference) * BPS > p.outlier_bps * reference:
                source.exclusion = OUTLIER
                source.outlier_prints += 1
                self.events.append(SourceOutlier(cmd.market, cmd.source, cmd.price, reference, source.outlier_prints))
                self.stats["outlier print"] += 1
                return Expected(ResultCode.PRICE_OUTLIER)
            return Expected(ResultCode.OK)
        if was == OUTLIER and p.outlier_bps:
            source.exclusion = OUTLIER
            self.stats["outlier kept: too few others to judge it"] += 1
            return Expected(ResultCode.PRICE_OUTLIER)
        return Expected(ResultCode.OK)

    def mark_once(self) -> None:
        """One mark per entry: after the entry's commands, each market with a recorded print (by
        id) is judged once; first each of its fresh outliers whose last print is within the band
        of the others' latest ones (at least two; or the rule off) counts again."""
        for market in sorted(self.repriced):
            p = self.params[market]
            for (m, name), source in sorted(self.sources.items()):
                if m != market or source.exclusion != OUTLIER or self.now - source.time > p.stale_after_ms:
                    continue
                others = [s for (mk, other), s in self.sources.items()
                          if mk == market and other != name and s.price > 0 and s.exclusion != CLAMPED
                          and self.now - s.time <= p.stale_after_ms]
                if not p.outlier_bps:
                    source.exclusion = NOT_EXCLUDED
                elif len(others) >= 2:
                    prices = sorted(s.price for s in others)
                    low, high = prices[(len(prices) - 1) // 2], prices[len(prices) // 2]
                    reference = low if source.price < low else high if source.price > high else source.price
                    if abs(source.price - reference) * BPS <= p.outlier_bps * reference:
                        source.exclusion = NOT_EXCLUDED
                        self.stats["outlier confirmed by the others"] += 1
            self.judge(market)

    def judge(self, market: str) -> None:
        """The mark is the lower median of the fresh sources; fewer than min_sources: STALE;
        the mark beyond volatility_bps of its time-weighted average: TOO_VOLATILE; VALID sweeps."""
        p, state = self.params[market], self.market[market]
        fresh = self.fresh(market)
        if len(fresh) < p.min_sources:
            self.go_stale(market)
            return
        prices = sorted(price for _, price in fresh)
        mark = prices[(len(prices) - 1) // 2]
        # The average moves towards the mark that held since, in proportion to the time it held.
        twap = 0
        if state.mark:
            twap = state.mark
            if state.twap and p.twap_window_ms:
                held = min(self.now - state.twap_time, p.twap_window_ms)
                twap = state.twap + (state.mark - state.twap) * held // p.twap_window_ms
        volatile = p.volatility_bps and twap and abs(mark - twap) * BPS > p.volatility_bps * twap
        verdict = TOO_VOLATILE if volatile else VALID
        state.twap, state.twap_time = (twap or mark), self.now
        state.fresh_until = sorted((t for t, _ in fresh), reverse=True)[p.min_sources - 1] + p.stale_after_ms + 1
        if state.status == MarketStatus.SETTLING:
            self.judge_settling(market, mark, max(t for t, _ in fresh), verdict, len(fresh))
            return
        if mark != state.mark and state.next_funding and state.last_trade:
            self.sample(market, state.last_trade, mark)  # the last traded price over the new mark
        if (mark, max(t for t, _ in fresh)) != (state.mark, state.mark_time):
            self.record_volatility(market, mark)  # every mark the ledger records
        state.mark, state.mark_time = mark, max(t for t, _ in fresh)
        if verdict != state.verdict:
            state.verdict = verdict
            self.events.append(OracleVerdictChanged(market, verdict, len(fresh), mark))
            if verdict == TOO_VOLATILE:
                self.stats["TOO_VOLATILE verdict"] += 1
        if state.status == MarketStatus.REDUCE_ONLY and state.reason == StatusReason.ORACLE_STALE:
            self.set_status(market, MarketStatus.ACTIVE, StatusReason.NONE)
        self.note_counting(market)
        if verdict == VALID:
            self.sweep(market)
            self.review_calls(market)

    def go_stale(self, market: str) -> None:
        """Keep the mark, stop liquidations, and make a priced market reduce-only."""
        state = self.market[market]
        if state.verdict != STALE:
            state.verdict = STALE
            self.events.append(OracleVerdictChanged(market, STALE, len(self.fresh(market)), state.mark))
            self.stats["STALE verdict"] += 1
        state.fresh_until = 0
        self.note_counting(market)
        if state.status == MarketStatus.ACTIVE and state.mark:
            self.set_status(market, MarketStatus.REDUCE_ONLY, StatusReason.ORACLE_STALE)

    def set_status(self, market: str, status: MarketStatus, reason: StatusReason) -> None:
        self.market[market].status, self.market[market].reason = status, reason
        self.events.append(MarketStatusChanged(market, status, reason, self.now))

    # -- settlement price (issue 19, docs/design.md#settlement-price) -------------------------------

    def note_counting(self, market: str) -> None:
        """From now on, the price that counts towards a future's settlement: the mark while its
        verdict is VALID and it is fresh (until fresh_until), else none. (The model lists its
        markets with the band breaker off, so no price ever trips it.)"""
        state = self.market[market]
        if not state.window_ms or state.status == MarketStatus.SETTLED:
            return
        counts = state.mark and state.verdict == VALID and state.fresh_until > self.now
        state.counting.append((self.now, state.mark if counts else 0, state.fresh_until if counts else 0))

    def counted(self, market: str, start: int, end: int) -> tuple[int, int]:
        """(sum of price x ms, ms) over the ledger time in [start, end) in which a price counted:
        each segment's price from its time to the next segment's, while it was fresh."""
        segments = self.market[market].counting
        price_ms = ms = 0
        for i, (since, price, until) in enumerate(segments):
            to = segments[i + 1][0] if i + 1 < len(segments) else end
            held = min(to, until, end) - max(since, start)
            if price and held > 0:
                price_ms += price * held
                ms += held
        return price_ms, ms

    def expiry_refusal(self, market: str) -> ResultCode | None:
        """A SETTLING market takes no fill at all; a future past its expiry none either."""
        if self.market[market].status == MarketStatus.SETTLING:
            self.stats["fill refused: SETTLING"] += 1
            return ResultCode.MARKET_SETTLING
        if self.params[market].expiry_ms and self.now >= self.params[market].expiry_ms:
            return ResultCode.MARKET_EXPIRED
        return None

    def expire(self, market: str) -> bool:
        """At or after expiry: the window [expiry - window, expiry) holds at least half its length
        of counted time and the verdict at expiry was VALID (and fresh): settle at its average.
        Otherwise SETTLING, and from then on settle as soon as the time counted since expiry is that
        long. Returns whether the market is settled now."""
        p, state = self.params[market], self.market[market]
        needed = ceil_div(state.window_ms * SETTLEMENT_COVERAGE_PCT, 100)
        if state.status != MarketStatus.SETTLING:
            price_ms, ms = self.counted(market, p.expiry_ms - state.window_ms, p.expiry_ms)
            if ms and ms >= needed and state.verdict == VALID and state.fresh_until > p.expiry_ms:
                self.settle_market(market, price_ms, ms)
                self.stats["future settled at its window's average"] += 1
                return True
            self.set_status(market, MarketStatus.SETTLING, StatusReason.SETTLEMENT_PRICE_UNRELIABLE)
            self.stats["future SETTLING"] += 1
        price_ms, ms = self.counted(market, p.expiry_ms, self.now)
        if ms and ms >= needed:
            self.settle_market(market, price_ms, ms)
            self.stats["SETTLING future settled by its oracle"] += 1
            return True
        return False

    def settle_market(self, market: str, price_ms: int, ms: int) -> None:
        """Every position closes at the average rounded to the nearest tick (half up, at least one
        tick); a client flat everywhere settles its balance (the funds pay a loss, else
        BANKRUPT), one still holding others and negative is liquidated; a fund keeps its result."""
        tick = self.params[market].tick
        price = max(math.floor(Fraction(price_ms, ms * tick) + Fraction(1, 2)), 1) * tick
        for account in self.holders(market):
            size, cost = self.size_cost(account, market)
            _, _, realized = fill(size, cost, -size, price)
            self.pos[(account, market)] = (0, 0)
            self.collateral[account] += realized
            self.realized[(account, market)] = self.realized.get((account, market), 0) + realized
            if is_fund(account):
                continue
            if not self.held(account):
                self.settle_loss(account, self.collateral[account], [market])
            elif self.collateral[account] < 0 and self.status[account] == ACTIVE:
                self.status[account] = LIQUIDATING
        self.market[market].settled_price = price
        self.events.append(MarketSettled(market, price, SettlementMethod.TWAP, ms, self.market[market].window_ms, self.now))
        self.set_status(market, MarketStatus.SETTLED, StatusReason.EXPIRED)

    def judge_settling(self, market: str, mark: int, mark_time: int, verdict: OracleVerdict, fresh_sources: int) -> None:
        """A SETTLING market is marked only to find its price: mark and verdict, counted; no
        volatility kept, no sweep, no margin call."""
        state = self.market[market]
        state.mark, state.mark_time = mark, mark_time
        if verdict != state.verdict:
            state.verdict = verdict
            self.events.append(OracleVerdictChanged(market, verdict, fresh_sources, mark))
        self.note_counting(market)

    # -- adaptive thresholds (issue 18, item 3) --------------------------------------------------

    def record_volatility(self, market: str, mark: int) -> None:
        """A recorded mark: the variance decays by 2^(-elapsed / half-life), then adds the squared
        relative move from the previous mark in ppm^2 (at most a 100% move)."""
        p, state = self.params[market], self.market[market]
        if not p.half_life_ms:
            return
        if state.mark:
            move = min((mark - state.mark) ** 2 * 10**12 // state.mark**2, 10**12)
            state.variance = min(decay(state.variance, self.now - state.variance_time, p.half_life_ms) + move, 10**16)
        state.variance_time = self.now

    # -- liquidation ---------------------------------------------------------------------------

    def unreliable(self, account: str) -> bool:
        """Nobody is liquidated, and nobody withdraws, while one of their positions is valued at
        a mark that is not VALID (STALE or TOO_VOLATILE)."""
        return any(self.market[m].verdict != VALID or self.market[m].status == MarketStatus.SETTLING for m, _ in self.held(account))

    def may_be_below(self, account: str, market: str) -> bool:
        """liquidation_index.py: an account holding several markets is a candidate on every
        sweep of each; a one-market account is one when the mark is past its trigger (with
        K = cost - collateral: a long when m*s*(D-r) < D*(K+1), a short when m*a*(D+r) > -D*(K+1))."""
        held = self.held(account)
        if len(held) > 1:
            return True
        (_, size), = held
        _, cost = self.size_cost(account, market)
        k1 = cost - self.collateral[account] + 1
        r, mark = self.params[market].mm_bps, self.market[market].mark
        if self.params[market].funding_ms:
            return self.may_be_below_funded(account, market, size, k1 + 1, r, mark)
        if size > 0:
            return mark * size * (BPS - r) < BPS * k1
        return mark * -size * (BPS + r) > -BPS * k1

    def may_be_below_funded(self, account: str, market: str, size: int, k2: int, r: int, mark: int) -> bool:
        """liquidation_index.py in a funded market: the funding-shifted bounds with K+2, the
        trigger rounded outward and the shifted mark the other way."""
        index, own = self.market[market].index, self.findex.get((account, market), 0)
        if size > 0:
            if r >= BPS:
                return True
            trigger = Fraction(BPS * (BILLION * k2 - size * own), size * BILLION * (BPS - r))
            shifted = Fraction(mark) - Fraction(BPS * index, BILLION * (BPS - r))
            return math.ceil(trigger) > math.floor(shifted)
        a = -size
        trigger = -Fraction(BPS * (BILLION * k2 + a * own), a * BILLION * (BPS + r))
        shifted = Fraction(mark) - Fraction(BPS * index, BILLION * (BPS + r))
        return math.floor(trigger) < math.ceil(shifted)

    def sweep(self, market: str) -> None:
        """After a VALID mark: candidates (by id) confirmed below maintenance become LIQUIDATING
        and take a step; then every other LIQUIDATING account takes its step of the entry."""
        # Follows the ledger: the candidates are chosen from the state at the start of the sweep;
        # an account that a step's ADL pushes below maintenance waits for the next sweep unless
        # it was a candidate already.
        candidates = [a for a in self.holders(market) if not is_fund(a) and self.may_be_below(a, market)]
        for account in candidates:
            if self.status[account] != ACTIVE or account in self.stepped or self.unreliable(account):
                continue
            if self.below_maintenance(account):
                self.status[account] = LIQUIDATING
                self.step(account)
        self.continue_liquidations()

    def continue_liquidations(self) -> None:
        # Follows the ledger: the LIQUIDATING accounts are listed once, before the first step.
        for account in sorted(a for a, s in self.status.items() if s == LIQUIDATING):
            if account in self.stepped or self.unreliable(account):
                continue
            if self.collateral[account] >= 0 and not self.below_maintenance(account):
                self.status[account] = ACTIVE  # lifted back above maintenance since its last step
                continue
            self.step(account)

    def step(self, account: str) -> None:
        """One step: a slice in every market held, or, once equity is negative, everything."""
        self.stepped.add(account)
        held = self.held(account)
        equity = self.equity(account)
        if equity < 0:
            self.close_bankrupt(account, held, -equity)
        else:
            for market, size in held:
                quantity = self.slice(market, abs(size))
                if quantity:
                    self.close_at_mark(account, market, size, quantity, fee_due=True)
        self.finish(account, [m for m, _ in held])

    def window_used(self, market: str) -> int:
        state, window = self.market[market], self.params[market].window_ms
        return 0 if self.now - state.window_start >= window else state.window_used

    def slice(self, market: str, size: int) -> int:
        """At most slice_bps of the position (whole lots, rounded up), within what is left of
        the window's notional cap at the mark."""
        p = self.params[market]
        quantity = min(size, ceil_div(ceil_div(size * p.slice_bps, BPS), p.lot) * p.lot)
        if p.cap_notional:
            room = max((p.cap_notional - self.window_used(market)) // self.market[market].mark // p.lot * p.lot, 0)
            if room < quantity:
                self.stats["slice held back by the window cap"] += 1
            quantity = min(quantity, room)
        if quantity < size:
            self.stats["partial slice"] += 1
        return quantity

    def count_notional(self, market: str, notional: int) -> None:
        state, window = self.market[market], self.params[market].window_ms
        if window:
            if self.now - state.window_start >= window:
                state.window_start, state.window_used = self.now, 0
            state.window_used += notional

    def move(self, market: str, from_id: str, to_id: str, quantity: int, price: int) -> None:
        """from_id's position changes by -quantity, to_id's by +quantity, at price (each
        settles its funding first)."""
        for account in (from_id, to_id):
            self.settle_funding(account, market)
            if self.params[market].funding_ms:
                self.findex[(account, market)] = self.market[market].index
        for account, qty in ((from_id, -quantity), (to_id, quantity)):
            size, cost = self.size_cost(account, market)
            size, cost, realized = fill(size, cost, qty, price)
            self.pos[(account, market)] = (size, cost)
            self.collateral[account] += realized
            self.realized[(account, market)] = self.realized.get((account, market), 0) + realized

    def close_at_mark(self, account: str, market: str, size: int, quantity: int, fee_due: bool) -> None:
        """Into the market's fund up to its position cap, the rest by ADL at the mark; the fee
        (min of fee, collateral and equity, never negative) goes to the market's fund."""
        p, mark, fund = self.params[market], self.market[market].mark, fund_of(market)
        side = sign(size)
        to_fund = quantity
        if p.fund_cap:
            room = max(p.fund_cap - self.size_cost(fund, market)[0] * side, 0)
            to_fund = min(quantity, room)
            if to_fund < quantity:
                self.stats["market fund full: ADL at the mark"] += 1
        if to_fund:
            self.move(market, account, fund, side * to_fund, mark)
        if quantity - to_fund:
            self.deleverage(account, market, quantity - to_fund, mark)
        self.count_notional(market, quantity * mark)
        paid = 0
        if fee_due:
            fee = ceil_div(quantity * mark * p.fee_bps, BPS)
            paid = max(min(fee, self.collateral[account], self.equity(account)), 0)
            self.collateral[account] -= paid
            self.collateral[fund] += paid
        self.stats["liquidation slice"] += 1
        self.events.append(Liquidation(
            account, market, side * quantity, mark, paid, 0, 0,
            fund_size=side * to_fund, deleveraged_size=side * (quantity - to_fund), remaining=size - side * quantity,
        ))

    def adl_ranking(self, account: str, market: str, side: int) -> list[str]:
        """Holders on `side`: highest pnl x leverage (notional / max(equity, 1)) first, ties by
        account id, the funds last."""
        mark = self.market[market].mark

        def key(holder: str):
            if is_fund(holder):
                return (1, Fraction(0), holder)
            size, cost = self.size_cost(holder, market)
            score = Fraction((size * mark - cost) * abs(size) * mark, max(self.equity(holder), 1))
            return (0, -score, holder)

        return sorted((h for h in self.holders(market)
                       if h != account and sign(self.size_cost(h, market)[0]) == side), key=key)

    def deleverage(self, account: str, market: str, quantity: int, price: int) -> None:
        side = sign(self.size_cost(account, market)[0])
        remaining = quantity
        for holder in self.adl_ranking(account, market, -side):
            if remaining == 0:
                break
            taken = min(abs(self.size_cost(holder, market)[0]), remaining)
            self.move(market, account, holder, side * taken, price)
            remaining -= taken
            self.events.append(Deleveraged(holder, account, market, -side * taken, price))
            self.stats["ADL" + (" against a fund" if is_fund(holder) else "")] += 1
            if not is_fund(holder) and self.collateral[holder] < 0:
                self.stats["ADL left a counterparty negative"] += 1
                if self.held(holder):  # other positions may cover it: liquidation takes over
                    if self.status[holder] == ACTIVE:
                        self.status[holder] = LIQUIDATING
                else:
                    self.settle_loss(holder, self.collateral[holder], [market])
        assert remaining == 0, (account, market, remaining)

    def pay_from_funds(self, amount: int, markets: list[str]) -> int:
        """The markets' funds in order, then the global fund; each pays at most its cash and at
        most its equity at the mark (so a fund in deficit, at the mark, pays nothing)."""
        paid = 0
        for fund in [fund_of(m) for m in markets] + [GLOBAL_FUND]:
            share = min(amount - paid, max(min(self.collateral[fund], self.fund_equity(fund)), 0))
            if share:
                self.collateral[fund] -= share
                paid += share
                self.stats["global fund paid" if fund == GLOBAL_FUND else "market fund paid"] += 1
        return paid

    def gate(self) -> None:
        self.gated_until = max(self.gated_until, self.now + GATE_MS)

    def close_bankrupt(self, account: str, held: list[tuple[str, int]], deficit: int) -> None:
        """Negative equity: the funds pay what they can, the rest is closed by ADL at the
        bankruptcy price (a long's above the mark, at most 100x it; a short's down to 1)."""
        self.stats["insolvent account closed at once"] += 1
        self.gate()
        paid = self.pay_from_funds(deficit, [m for m, _ in held])
        self.collateral[account] += paid
        unpaid = deficit - paid
        for market, size in held:
            mark = self.market[market].mark
            contracts = abs(size)
            room = contracts * (mark * BANKRUPTCY_MULTIPLE - mark) if size > 0 else contracts * (mark - 1)
            share = min(unpaid, room)
            if not share:
                self.close_at_mark(account, market, size, contracts, fee_due=False)
                continue
            unpaid -= share
            shift = ceil_div(share, contracts)
            price = mark + shift if size > 0 else mark - shift
            self.stats["ADL at the bankruptcy price"] += 1
            self.deleverage(account, market, contracts, price)
            self.count_notional(market, contracts * mark)
            self.events.append(Liquidation(account, market, size, price, 0, 0, 0, deleveraged_size=size))
        self.annotate_last(account, paid, 0)

    def settle_loss(self, account: str, collateral: int, markets: list[str]) -> tuple[int, int]:
        """A flat account's balance: a negative one gates withdrawals and is paid by the funds as
        far as they can; what is left makes it BANKRUPT."""
        paid = 0
        if collateral < 0:
            self.gate()
            paid = self.pay_from_funds(-collateral, markets)
            collateral += paid
        uncovered = max(-collateral, 0)
        self.collateral[account] = collateral
        self.status[account] = BANKRUPT if uncovered else ACTIVE
        if uncovered:
            self.stats["account BANKRUPT"] += 1
        return paid, uncovered

    def annotate_last(self, account: str, fund_paid: int, uncovered: int) -> None:
        for i in range(len(self.events) - 1, -1, -1):
            e = self.events[i]
            if isinstance(e, Liquidation) and e.account == account:
                self.events[i] = replace(e, fund_paid=e.fund_paid + fund_paid, uncovered=e.uncovered + uncovered)
                return

    def finish(self, account: str, markets: list[str]) -> None:
        """Flat: settle the balance; back above maintenance with a non-negative balance: ACTIVE;
        else still LIQUIDATING."""
        if not self.held(account):
            self.annotate_last(account, *self.settle_loss(account, self.collateral[account], markets))
        elif self.collateral[account] >= 0 and not self.below_maintenance(account):
            self.status[account] = ACTIVE

    # -- the fund's unwinding (fund_unwinding.py, backstop.py) -----------------------------------

    def fund_fill(self, cmd: SettleTrade) -> Expected:
        """A fill with a fund on one side: only this market's fund, against a client, only
        reducing the fund's position (no flip), within the trade band, no fee for the fund; the
        client side is checked as any client side (the venue's fund-floor reduce-only excepted)."""
        p, state = self.params[cmd.market], self.market[cmd.market]
        fund = fund_of(cmd.market)
        if fund not in (cmd.buyer, cmd.seller):
            return Expected(ResultCode.INVALID_ACCOUNT)
        client = cmd.seller if cmd.buyer == fund else cmd.buyer
        if client == fund:
            return Expected(ResultCode.SELF_TRADE)
        if client.startswith("sys:") or (client not in self.collateral and not client_id(client)):
            return Expected(ResultCode.INVALID_ACCOUNT)
        if client not in self.collateral:
            return Expected(ResultCode.UNKNOWN_ACCOUNT)
        if self.status[client] != ACTIVE:
            return Expected(ResultCode.ACCOUNT_NOT_ACTIVE)
        if cmd.price <= 0 or cmd.price % p.tick:
            return Expected(ResultCode.INVALID_PRICE)
        if cmd.quantity <= 0 or cmd.quantity % p.lot:
            return Expected(ResultCode.INVALID_QUANTITY)
        if cmd.buyer_fee < 0 or cmd.seller_fee < 0:
            return Expected(ResultCode.INVALID_FEE)
        fund_fee, client_fee = (cmd.buyer_fee, cmd.seller_fee) if cmd.buyer == fund else (cmd.seller_fee, cmd.buyer_fee)
        if fund_fee:
            return Expected(ResultCode.INVALID_FEE)
        if cmd.maker_side:  # the fund is no book order: the client's fee comes with the fill
            return Expected(ResultCode.INVALID_MAKER_SIDE)
        refused = self.expiry_refusal(cmd.market)
        if refused is not None:
            return Expected(refused)
        if state.status not in (MarketStatus.ACTIVE, MarketStatus.REDUCE_ONLY):
            return Expected(ResultCode.MARKET_NOT_ACTIVE)
        if state.mark == 0:
            return Expected(ResultCode.NO_MARK_PRICE)
        if abs(cmd.price - state.mark) * BPS > 100_000 * state.mark:  # the model lists every market with a 1000% band
            return Expected(ResultCode.PRICE_OUTSIDE_BAND)
        fund_qty = cmd.quantity if cmd.buyer == fund else -cmd.quantity
        fund_size = self.size_cost(fund, cmd.market)[0]
        if fund_size == 0 or not reduces(fund_size, fund_size + fund_qty):
            self.stats["fund fill refused: not reducing"] += 1
            return Expected(ResultCode.FUND_FILL_NOT_REDUCING)
        size, cost = self.size_cost(client, cmd.market)
        new_size, new_cost, realized = fill(size, cost, -fund_qty, cmd.price)
        new_pos = dict(self.pos)
        new_pos[(client, cmd.market)] = (new_size, new_cost)
        fsize, fcost = self.size_cost(fund, cmd.market)
        new_pos[(fund, cmd.market)] = fill(fsize, fcost, fund_qty, cmd.price)[:2]
        adds = not reduces(size, new_size)
        if adds and state.status == MarketStatus.REDUCE_ONLY:
            return Expected(ResultCode.REDUCE_ONLY)
        oi_before, oi_after = self.open_interest(cmd.market), self.open_interest(cmd.market, new_pos)
        if oi_after > oi_before and oi_after > p.oi_cap:
            return Expected(ResultCode.OPEN_INTEREST_CAP)
        collateral = self.collateral[client] + realized - client_fee
        if collateral < 0:
            return Expected(ResultCode.INSUFFICIENT_MARGIN)
        if adds:
            pnl, _, im, _ = self.valuation(client, new_pos)
            if collateral + pnl < im:
                return Expected(ResultCode.INSUFFICIENT_MARGIN)
        self.move(cmd.market, fund, client, -fund_qty, cmd.price)
        self.collateral[client] -= client_fee
        if client_fee:
            self.credit_fees(cmd.market, client_fee)  # money: the fund's share and the fee account
        self.stats["fund fill accepted"] += 1
        return Expected(ResultCode.OK, self.collateral[cmd.buyer], self.collateral[cmd.seller])

    def track_auctions(self) -> None:
        """After the entry: a fund that holds a position and has no auction starts one (now); a
        flat fund's auction ends."""
        for market in sorted(self.auctions):
            auction, size = self.auctions[market], self.size_cost(fund_of(market), market)[0]
            if size and not auction.started:
                auction.started = auction.window_start = self.now
                auction.sold = 0
                self.events.append(FundAuctionStarted(market, size, self.market[market].mark,
                                                      self.now + self.params[market].unwind_deadline_ms))
                self.stats["fund auction started"] += 1
            elif not size and auction.started:
                self.auctions[market] = Auction()
                self.events.append(FundAuctionEnded(market))
                self.stats["fund auction ended (flat)"] += 1

    def auction_step(self, market: str) -> None:
        """At a reliable mark only: past the deadline, ADL the rest at the mark; else the
        backstops whose discount the auction reached take slices, cheapest first, within the
        window's cap, their limits and their initial margin."""
        p, state, auction, fund = self.params[market], self.market[market], self.auctions[market], fund_of(market)
        size = self.size_cost(fund, market)[0]
        if not size or state.status in (MarketStatus.HALTED, MarketStatus.SETTLING) or state.verdict != VALID or not state.mark:
            return
        side = sign(size)
        if self.now - auction.started >= p.unwind_deadline_ms:
            self.deleverage(fund, market, abs(size), state.mark)
            self.events.append(FundDeadlineDeleveraged(market, size, state.mark))
            self.stats["fund deadline ADL"] += 1
            return
        if self.now - auction.window_start >= p.unwind_window_ms:
            auction.window_start, auction.sold = self.now, 0
        room = p.unwind_slice - auction.sold if p.unwind_slice else abs(size)
        discount = min(p.unwind_start_bps + p.unwind_slope_bps_per_minute * ((self.now - auction.started) // 60_000),
                       p.unwind_discount_max_bps)
        # The fund's price, rounded to a tick towards the mark, at least one tick.
        if side > 0:
            price = max(ceil_div(state.mark * (BPS - discount), BPS * p.tick) * p.tick, p.tick)
        else:
            price = max(state.mark * (BPS + discount) // (BPS * p.tick) * p.tick, p.tick)
        for wanted, account in sorted((d, a) for a, (d, _) in self.backstops.get(market, {}).items()):
            left = abs(self.size_cost(fund, market)[0])
            if room <= 0 or not left or wanted > discount:
                break
            limit = self.backstops[market][account][1]
            if self.status.get(account) != ACTIVE:
                continue
            held, cost = self.size_cost(account, market)
            quantity = min(room, left, max(limit - side * held, 0))
            quantity -= quantity % p.lot
            if quantity <= 0:
                continue
            new_size, new_cost, realized = fill(held, cost, side * quantity, price)
            if self.collateral[account] + realized < 0:
                continue
            if not reduces(held, new_size):
                new_pos = dict(self.pos)
                new_pos[(account, market)] = (new_size, new_cost)
                pnl, _, im, _ = self.valuation(account, new_pos)
                if self.collateral[account] + realized + pnl < im:
                    self.stats["backstop short of margin"] += 1
                    continue
            self.move(market, fund, account, side * quantity, price)
            room -= quantity
            auction.sold += quantity
            self.events.append(FundSliceSold(market, account, side * quantity, price, discount))
            self.stats["fund slice to a backstop"] += 1


# -- adaptive thresholds (issue 18, item 3): the model's own fixed point ------------------------

def decay(variance: int, elapsed: int, half_life: int) -> int:
    """variance x 2^(-elapsed/half_life), rounded down once: 2^-(whole half-lives) exactly, and
    for the fraction's first 32 binary digits, 2^(-2^-j) as repeated integer square roots of 1/2
    in 2^-62 fixed point."""
    whole, rest = divmod(elapsed, half_life)
    if whole >= 128:
        return 0
    bits = (rest << 32) // half_life  # the fraction's first 32 binary digits
    one, factor, root = 1 << 62, 1 << 62, 1 << 61
    for j in range(1, 33):
        root = math.isqrt(root << 62)  # 2^(-2^-j) x 2^62
        if bits >> (32 - j) & 1:
            factor = factor * root // one
    return variance * factor // (one << whole)


def adaptive_band(variance: int, pct: int, floor: int, ceiling: int) -> int:
    """The band an adaptive market judges its next mark by: pct % of sigma (bps, down), clamped."""
    return min(max(pct * math.isqrt(variance) // 10_000, floor), ceiling)


def adaptive_initial_margin(im_bps: int, band: int, floor: int, ceiling: int) -> int:
    """The listed initial margin scaled as the band over its floor (up), at most the ceiling."""
    return min(-(-im_bps * band // floor), ceiling)


# -- options (issue 19, docs/design.md#options) ----------------------------------------------
#
# Written from option_listing.py's, fills.option_fill's and option_expiry.py's docstrings, with
# plain dicts: which listings are refused and with which code, the premium paid at the fill
# (exact), the payoff at expiry (exact), and the mark premium against a floating-point
# Black-Scholes (tests/ledger/option_reference.py) within the pricing's stated error.

OPTION_PREMIUM_ERROR_MINOR_UNITS = 2  # the pricing's one unit, plus the float reference's own error


@dataclass
class OptionTerms:
    underlying: str
    is_call: bool
    strike: int
    expiry_ms: int


@dataclass
class OptionsModel:
    """Underlyings (id -> kind, tick, expiry), listed options, each client's cash and option
    positions, and the underlying's index (its mark)."""

    underlyings: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    options: dict[str, OptionTerms] = field(default_factory=dict)
    settled: dict[str, None] = field(default_factory=dict)  # options and futures past their expiry
    cash: dict[str, int] = field(default_factory=dict)
    positions: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, option) -> contracts
    index: dict[str, int] = field(default_factory=dict)

    def listing_code(self, cmd: CreateMarket, now_ms: int) -> ResultCode:
        """option_listing.py: the underlying first, then the type, the strike, the expiry."""
        if cmd.market in self.options or cmd.market in self.underlyings:
            return ResultCode.MARKET_EXISTS
        underlying = self.underlyings.get(cmd.underlying)
        if underlying is None:
            return ResultCode.INVALID_UNDERLYING if cmd.underlying in self.options else ResultCode.UNKNOWN_UNDERLYING
        kind, tick, expiry = underlying
        if cmd.underlying in self.settled:
            return ResultCode.INVALID_UNDERLYING
        if cmd.option_type not in (1, 2):
            return ResultCode.INVALID_OPTION_TYPE
        if cmd.strike_price <= 0 or cmd.strike_price % tick:
            return ResultCode.INVALID_STRIKE
        if cmd.expiry_ms <= now_ms or (kind == "future" and cmd.expiry_ms > expiry):
            return ResultCode.INVALID_OPTION_EXPIRY
        return ResultCode.OK

    def list(self, cmd: CreateMarket) -> None:
        self.options[cmd.market] = OptionTerms(cmd.underlying, cmd.option_type == 1, cmd.strike_price, cmd.expiry_ms)

    def fill(self, option: str, buyer: str, seller: str, premium: int, quantity: int) -> None:
        """fills.option_fill: the buyer pays premium x quantity to the seller at the fill."""
        self.cash[buyer] -= premium * quantity
        self.cash[seller] += premium * quantity
        self.positions[(buyer, option)] = self.positions.get((buyer, option), 0) + quantity
        self.positions[(seller, option)] = self.positions.get((seller, option), 0) - quantity

    @staticmethod
    def outside_trade_band(premium: int, mark_premium: int, trade_band_bps: int, tick: int) -> bool:
        """fill_side.option_refusal: beyond trade_band_bps of the mark premium and beyond one tick of it."""
        distance = abs(premium - mark_premium)
        return distance * BPS > trade_band_bps * mark_premium and distance > tick

    def buyer_cannot_pay(self, buyer: str, premium: int, quantity: int) -> bool:
        return self.cash[buyer] < premium * quantity

    def payoff(self, option: str) -> int:
        """option_expiry.py: call max(0, S - K), put max(0, K - S), against the underlying's mark."""
        terms = self.options[option]
        index = self.index[terms.underlying]
        return max(index - terms.strike, 0) if terms.is_call else max(terms.strike - index, 0)

    def pass_time(self, until_ms: int) -> None:
        """Every option and future whose expiry is at or before until_ms settles (nothing prices in
        between: each option at the index as it stands)."""
        for name, (kind, _, expiry) in sorted(self.underlyings.items()):
            if kind == "future" and expiry <= until_ms:
                self.settled[name] = None
        for option, terms in sorted(self.options.items()):
            if option not in self.settled and terms.expiry_ms <= until_ms:
                self.expire(option)

    def expire(self, option: str) -> None:
        payoff = self.payoff(option)
        for (account, held), size in sorted(self.positions.items()):
            if held == option and size:
                self.cash[account] += size * payoff
                self.positions[(account, held)] = 0
        self.settled[option] = None

    def premium_within_error(self, option: str, volatility_ppm: int, now_ms: int, premium: int) -> bool:
        """The ledger's mark premium against the float reference, at least 1 minor unit."""
        from .option_reference import reference_valuation

        terms = self.options[option]
        time_ms = terms.expiry_ms - now_ms
        expected = reference_valuation(terms.is_call, self.index[terms.underlying], terms.strike, volatility_ppm, time_ms)[0]
        return abs(premium - max(expected, 1.0)) <= OPTION_PREMIUM_ERROR_MINOR_UNITS
