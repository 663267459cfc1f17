"""A Hypothesis state machine that drives the real ledger and a small reference model side by side.

The machine sends random batches of Deposit / Withdraw / SettleTrade / PriceUpdate commands (big
price drops that liquidate, duplicate command ids, and invalid commands too) to
`node.ledger.apply`, and applies the same commands to `Model` below: plain dicts and the rules of
the spec, written out in the simplest way, without importing anything from the ledger's
arithmetic (margin.py, fills.py, ...). After every step the ledger's collateral, positions,
statuses, totals and result codes must equal the model's exactly, and `check_full` must pass.

The plain tests at the end pin a few interesting sequences to exact numbers; the last one is
the regression test for a defect found while writing this file (see its comment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from node.ledger.events import Liquidation
from node.ledger.records import GlobalMode
from node.ledger import INSURANCE_FUND, LedgerState, LogEntry, ResultCode, apply, check_full
from node.ledger.commands import CreateMarket, Deposit, MarketKind, PriceUpdate, SettleTrade, Withdraw
from node.ledger.records import AccountStatus

FUND = "sys:insurance"
GATE_MS = 3_600_000  # withdrawals pause this long after any account goes negative (limits.py)
ACTIVE = AccountStatus.ACTIVE
BANKRUPT = AccountStatus.BANKRUPT
BPS = 10_000


# ---------------------------------------------------------------------------------------------
# The reference model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    tick: int
    lot: int
    im_bps: int
    mm_bps: int
    fee_bps: int
    oi_cap: int
    base_price: int  # where the first mark is drawn around


BIG_CAP = 10**12
MARKETS = {
    "BTC": Params(tick=1, lot=1, im_bps=1_000, mm_bps=500, fee_bps=100, oi_cap=BIG_CAP, base_price=1_000),
    "ETH": Params(tick=5, lot=2, im_bps=2_000, mm_bps=1_000, fee_bps=50, oi_cap=BIG_CAP, base_price=200),
}

# Ids, classified by construction, so the model never needs the ledger's validation rules.
CLIENTS = ("alice", "bob", "carol", "dave")
UNKNOWN_CLIENT = "ghost"  # a valid id that never receives a deposit
BAD_ACCOUNTS = ("bad id", "sys:evil", "")  # malformed or reserved
VALID_CLIENT_IDS = frozenset(CLIENTS + (UNKNOWN_CLIENT,))
UNKNOWN_MARKET = "DOGE"
BAD_MARKETS = ("bad market",)
BAD_COMMAND_IDS = ("", "has space", "x" * 65)
BAD_SOURCE = "bad source"


def ceil_bps(amount: int, bps: int) -> int:
    """ceil(amount * bps / 10000) for amount >= 0."""
    product = amount * bps
    return product // BPS + (1 if product % BPS else 0)


def fill(size: int, cost: int, qty: int, price: int) -> tuple[int, int, int]:
    """Buy qty (negative: sell) at price. Returns (new size, new cost, realized pnl).

    Pnl is realized only when the position goes flat or flips side; then the old position is
    closed at `price` and whatever remains opens at `price`. Otherwise cost just adds qty*price.
    """
    new_size = size + qty
    if size != 0 and (new_size == 0 or (new_size > 0) != (size > 0)):
        return new_size, new_size * price, size * price - cost
    return new_size, cost + qty * price, 0


class Expected(NamedTuple):
    code: ResultCode
    collateral: int = 0
    counterparty: int = 0
    original: ResultCode = ResultCode.OK


class Model:
    def __init__(self, markets: dict[str, Params]) -> None:
        self.params = markets
        self.now_ms = 0  # ledger time of the entry being applied (set by the state machine)
        self.withdrawals_gated_until = 0  # after any account went negative (dYdX)
        self.collateral: dict[str, int] = {FUND: 0}
        self.status: dict[str, AccountStatus] = {FUND: ACTIVE}
        self.pos: dict[tuple[str, str], tuple[int, int]] = {}  # (account, market) -> (size, cost)
        self.realized: dict[tuple[str, str], int] = {}  # (account, market) -> cumulative realized
        self.mark = {m: 0 for m in markets}
        self.mark_time = {m: 0 for m in markets}
        self.fees = 0
        self.deposits = 0
        self.withdrawals = 0
        self.seen: dict[str, Expected] = {}  # command id -> first result
        self.events: list[tuple] = []  # liquidations of the current entry

    # -- reads ---------------------------------------------------------------------------------

    def size_cost(self, account: str, market: str) -> tuple[int, int]:
        return self.pos.get((account, market), (0, 0))

    def open_interest(self, market: str, pos: dict | None = None) -> int:
        pos = self.pos if pos is None else pos
        return sum(size for (_, m), (size, _) in pos.items() if m == market and size > 0)

    def valuation(self, account: str, pos: dict | None = None) -> tuple[int, int, int, int]:
        """(sum upnl, sum of losses only, sum IM, sum MM) over the account's open positions."""
        pos = self.pos if pos is None else pos
        pnl = loss = im = mm = 0
        for (a, m), (size, cost) in pos.items():
            if a != account or size == 0:
                continue
            mark = self.mark[m]
            upnl = size * mark - cost
            pnl += upnl
            loss += min(0, upnl)
            im += ceil_bps(abs(size) * mark, self.params[m].im_bps)
            mm += ceil_bps(abs(size) * mark, self.params[m].mm_bps)
        return pnl, loss, im, mm

    # -- one entry -----------------------------------------------------------------------------

    def apply_entry(self, commands) -> list[Expected]:
        self.events = []
        return [self.apply_command(cmd) for cmd in commands]

    def apply_command(self, cmd) -> Expected:
        if cmd.id in BAD_COMMAND_IDS:
            return Expected(ResultCode.INVALID_ID)  # not recorded: a retry is judged afresh
        if cmd.id in self.seen:
            first = self.seen[cmd.id]
            return Expected(ResultCode.DUPLICATE, first.collateral, first.counterparty, first.code)
        if isinstance(cmd, Deposit):
            result = self.deposit(cmd)
        elif isinstance(cmd, Withdraw):
            result = self.withdraw(cmd)
        elif isinstance(cmd, SettleTrade):
            result = self.trade(cmd)
        elif isinstance(cmd, PriceUpdate):
            result = self.price(cmd)
        else:
            raise AssertionError(cmd)
        self.seen[cmd.id] = result
        return result

    def deposit(self, cmd: Deposit) -> Expected:
        if cmd.account != FUND and cmd.account not in VALID_CLIENT_IDS:
            return Expected(ResultCode.INVALID_ACCOUNT)
        if cmd.amount <= 0:
            return Expected(ResultCode.INVALID_AMOUNT)
        self.collateral[cmd.account] = self.collateral.get(cmd.account, 0) + cmd.amount
        self.status.setdefault(cmd.account, ACTIVE)
        self.deposits += cmd.amount
        return Expected(ResultCode.OK, self.collateral[cmd.account])

    def withdraw(self, cmd: Withdraw) -> Expected:
        if cmd.account not in VALID_CLIENT_IDS:
            return Expected(ResultCode.INVALID_ACCOUNT)
        if cmd.amount <= 0:
            return Expected(ResultCode.INVALID_AMOUNT)
        if cmd.account not in self.collateral:
            return Expected(ResultCode.UNKNOWN_ACCOUNT)
        if self.status[cmd.account] != ACTIVE:
            return Expected(ResultCode.ACCOUNT_NOT_ACTIVE)
        collateral = self.collateral[cmd.account]
        if self.now_ms < self.withdrawals_gated_until:
            return Expected(ResultCode.WITHDRAWALS_GATED, collateral)
        _, loss, im, _ = self.valuation(cmd.account)
        if cmd.amount > collateral + loss - im:  # unrealized profit never counts
            return Expected(ResultCode.INSUFFICIENT_COLLATERAL, collateral)
        self.collateral[cmd.account] = collateral - cmd.amount
        self.withdrawals += cmd.amount
        return Expected(ResultCode.OK, collateral - cmd.amount)

    def trade(self, cmd: SettleTrade) -> Expected:
        if cmd.market in BAD_MARKETS:
            return Expected(ResultCode.INVALID_MARKET)
        if cmd.market not in self.params:
            return Expected(ResultCode.UNKNOWN_MARKET)
        p = self.params[cmd.market]
        if cmd.buyer not in VALID_CLIENT_IDS or cmd.seller not in VALID_CLIENT_IDS:
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
        if self.mark[cmd.market] == 0:
            return Expected(ResultCode.NO_MARK_PRICE)

        sides = ((cmd.buyer, cmd.quantity, cmd.buyer_fee), (cmd.seller, -cmd.quantity, cmd.seller_fee))
        new_pos = dict(self.pos)
        new_collateral = {}
        realized = {}
        for account, qty, fee in sides:
            size, cost = self.size_cost(account, cmd.market)
            new_size, new_cost, realized[account] = fill(size, cost, qty, cmd.price)
            new_pos[(account, cmd.market)] = (new_size, new_cost)
            new_collateral[account] = self.collateral[account] + realized[account] - fee

        if self.collateral[FUND] < 0:  # fund below its floor (0): the whole venue is reduce-only
            for account, _, _ in sides:
                old_size, _ = self.size_cost(account, cmd.market)
                new_size, _ = new_pos[(account, cmd.market)]
                if not (new_size == 0 or (old_size * new_size > 0 and abs(new_size) <= abs(old_size))):
                    return Expected(ResultCode.REDUCE_ONLY)

        oi_before = self.open_interest(cmd.market)
        oi_after = self.open_interest(cmd.market, new_pos)
        if oi_after > oi_before and oi_after > p.oi_cap:
            return Expected(ResultCode.OPEN_INTEREST_CAP)
        for account, _, _ in sides:
            if new_collateral[account] < 0:
                return Expected(ResultCode.INSUFFICIENT_MARGIN)
            old_size, _ = self.size_cost(account, cmd.market)
            new_size, _ = new_pos[(account, cmd.market)]
            reduces = new_size == 0 or (old_size * new_size > 0 and abs(new_size) <= abs(old_size))
            if not reduces:
                pnl, _, im, _ = self.valuation(account, new_pos)
                if new_collateral[account] + pnl < im:
                    return Expected(ResultCode.INSUFFICIENT_MARGIN)

        self.pos = new_pos
        for account, _, fee in sides:
            self.collateral[account] = new_collateral[account]
            key = (account, cmd.market)
            self.realized[key] = self.realized.get(key, 0) + realized[account]
            self.fees += fee
        return Expected(ResultCode.OK, new_collateral[cmd.buyer], new_collateral[cmd.seller])

    def price(self, cmd: PriceUpdate) -> Expected:
        if cmd.market in BAD_MARKETS:
            return Expected(ResultCode.INVALID_MARKET)
        if cmd.market not in self.params:
            return Expected(ResultCode.UNKNOWN_MARKET)
        if cmd.source == BAD_SOURCE:
            return Expected(ResultCode.INVALID_SOURCE)
        if cmd.price <= 0:
            return Expected(ResultCode.INVALID_PRICE)
        if cmd.source_time_ms <= self.mark_time[cmd.market]:
            return Expected(ResultCode.STALE_PRICE)
        self.mark[cmd.market] = cmd.price
        self.mark_time[cmd.market] = cmd.source_time_ms
        holders = sorted(a for (a, m), (size, _) in self.pos.items() if m == cmd.market and size != 0)
        for account in holders:
            if account == FUND or self.status[account] != ACTIVE:
                continue
            pnl, _, _, mm = self.valuation(account)
            if self.collateral[account] + pnl < mm:
                self.liquidate(account)
        return Expected(ResultCode.OK)

    def liquidate(self, account: str) -> None:
        closed = []
        for market in sorted(m for (a, m), (size, _) in self.pos.items() if a == account and size != 0):
            size, cost = self.pos[(account, market)]
            mark = self.mark[market]
            # The account sells its whole position to the fund at the mark.
            self.pos[(account, market)] = (0, 0)
            self.collateral[account] += size * mark - cost
            self.realized[(account, market)] = self.realized.get((account, market), 0) + size * mark - cost
            fund_size, fund_cost = self.size_cost(FUND, market)
            fund_size, fund_cost, fund_realized = fill(fund_size, fund_cost, size, mark)
            self.pos[(FUND, market)] = (fund_size, fund_cost)
            self.collateral[FUND] += fund_realized
            self.realized[(FUND, market)] = self.realized.get((FUND, market), 0) + fund_realized
            closed.append((market, size, mark, ceil_bps(abs(size) * mark, self.params[market].fee_bps)))
        fees_paid = []
        for _, _, _, fee in closed:
            paid = min(fee, max(self.collateral[account], 0))
            self.collateral[account] -= paid
            self.collateral[FUND] += paid
            fees_paid.append(paid)
        fund_paid = 0
        if self.collateral[account] < 0:
            self.withdrawals_gated_until = max(self.withdrawals_gated_until, self.now_ms + GATE_MS)
            fund_paid = min(-self.collateral[account], max(self.collateral[FUND], 0))
            self.collateral[account] += fund_paid
            self.collateral[FUND] -= fund_paid
        uncovered = max(0, -self.collateral[account])
        self.status[account] = BANKRUPT if uncovered else ACTIVE
        for i, (market, size, mark, _) in enumerate(closed):
            last = i == len(closed) - 1
            self.events.append(
                (account, market, size, mark, fees_paid[i], fund_paid if last else 0, uncovered if last else 0)
            )


# ---------------------------------------------------------------------------------------------
# Command specs: what Hypothesis draws. They are turned into commands against the current state
# (prices relative to the current mark, fresh or reused ids) just before a batch is applied.
# ---------------------------------------------------------------------------------------------


class IdSpec(NamedTuple):
    kind: str  # "new", "dup" (reuse an id already used), "bad" (malformed)
    pick: int


class DepositSpec(NamedTuple):
    cid: IdSpec
    account: str
    amount: int


class WithdrawSpec(NamedTuple):
    cid: IdSpec
    account: str
    amount: int


class TradeSpec(NamedTuple):
    cid: IdSpec
    market: str
    buyer: str
    seller: str
    price_bps: int  # offset from the mark
    price_fault: str  # "", "off_tick", "zero", "negative"
    lots: int
    qty_fault: str  # "", "off_lot", "zero", "negative"
    buyer_fee: int
    seller_fee: int


class PriceSpec(NamedTuple):
    cid: IdSpec
    market: str
    move_bps: int
    fault: str  # "", "stale", "zero", "bad_source"


ids = st.builds(IdSpec, st.sampled_from(("new",) * 10 + ("dup", "dup", "bad")), st.integers(0, 1_000))
deposit_accounts = st.sampled_from(CLIENTS * 3 + BAD_ACCOUNTS + (FUND,))  # "ghost" stays unknown
withdraw_accounts = st.sampled_from(CLIENTS * 3 + (UNKNOWN_CLIENT,) + BAD_ACCOUNTS + (FUND,))
trade_accounts = st.sampled_from(CLIENTS * 4 + (UNKNOWN_CLIENT, FUND, "bad id"))
markets = st.sampled_from(("BTC", "BTC", "ETH", UNKNOWN_MARKET) + BAD_MARKETS)
amounts = st.one_of(st.integers(1, 6_000), st.integers(1, 6_000), st.sampled_from((0, -1, -500)))
fees = st.one_of(st.integers(0, 20), st.integers(0, 20), st.just(-1))
faults = st.sampled_from(("",) * 12 + ("off_tick", "zero", "negative"))
qty_faults = st.sampled_from(("",) * 12 + ("off_lot", "zero", "negative"))
small_moves = st.integers(-400, 400)
big_moves = st.sampled_from((-6_000, -4_000, -2_500, -1_500, -1_000, 1_000, 1_500, 2_500, 5_000))
lot_counts = st.one_of(st.integers(1, 10), st.integers(1, 40))
price_faults = st.sampled_from(("",) * 10 + ("stale", "zero", "bad_source"))

deposit_specs = st.builds(DepositSpec, ids, deposit_accounts, amounts)
withdraw_specs = st.builds(WithdrawSpec, ids, withdraw_accounts, amounts)
trade_specs = st.builds(
    TradeSpec, ids, markets, trade_accounts, trade_accounts, st.integers(-500, 500), faults,
    lot_counts, qty_faults, fees, fees,
)
clean_ids = st.builds(IdSpec, st.sampled_from(("new",) * 12 + ("dup",)), st.integers(0, 1_000))
client_pairs = st.sampled_from([(b, s) for b in CLIENTS for s in CLIENTS if b != s])
clean_trade_specs = st.builds(
    lambda cid, market, pair, price_bps, lots, buyer_fee, seller_fee: TradeSpec(
        cid, market, pair[0], pair[1], price_bps, "", lots, "", buyer_fee, seller_fee),
    clean_ids, st.sampled_from(tuple(MARKETS)), client_pairs, st.integers(-500, 500), lot_counts,
    st.integers(0, 20), st.integers(0, 20),
)
price_specs = st.builds(PriceSpec, ids, markets, st.one_of(small_moves, big_moves), price_faults)
any_spec = st.one_of(deposit_specs, withdraw_specs, clean_trade_specs, trade_specs, price_specs)


def round_to_tick(value: int, tick: int) -> int:
    return max(tick, (value + tick // 2) // tick * tick)


# ---------------------------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------------------------


class LedgerVersusModel(RuleBasedStateMachine):
    markets = MARKETS

    def __init__(self) -> None:
        super().__init__()
        self.state = LedgerState()
        self.model = Model(self.markets)
        self.index = 0
        self.clock_ms = 1_000_000
        self.source_clock_ms = 0
        self.fresh = 0
        self.liquidations = 0

    # -- plumbing ------------------------------------------------------------------------------

    def entry(self, commands) -> LogEntry:
        self.index += 1
        self.clock_ms += 1_000
        self.model.now_ms = self.clock_ms
        return LogEntry(self.index, self.clock_ms, tuple(commands))

    def command_id(self, spec: IdSpec, used_in_batch: list[str]) -> str:
        if spec.kind == "bad":
            return BAD_COMMAND_IDS[spec.pick % len(BAD_COMMAND_IDS)]
        pool = list(self.model.seen) + used_in_batch
        if spec.kind == "dup" and pool:
            return pool[spec.pick % len(pool)]
        self.fresh += 1
        cid = f"c{self.fresh}"
        used_in_batch.append(cid)
        return cid

    def reference_price(self, market: str) -> int:
        if market in self.model.mark and self.model.mark[market]:
            return self.model.mark[market]
        return self.markets[market].base_price if market in self.markets else 1_000

    def build(self, spec, used_in_batch: list[str]):
        cid = self.command_id(spec.cid, used_in_batch)
        if isinstance(spec, DepositSpec):
            return Deposit(cid, spec.account, spec.amount)
        if isinstance(spec, WithdrawSpec):
            return Withdraw(cid, spec.account, spec.amount)
        params = self.markets.get(spec.market, Params(1, 1, 1, 1, 0, 0, 0))
        if isinstance(spec, TradeSpec):
            price = round_to_tick(self.reference_price(spec.market) * (BPS + spec.price_bps) // BPS, params.tick)
            price = {"": price, "off_tick": price + 1 if params.tick > 1 else price, "zero": 0, "negative": -price}[spec.price_fault]
            qty = spec.lots * params.lot
            qty = {"": qty, "off_lot": qty + 1 if params.lot > 1 else qty, "zero": 0, "negative": -qty}[spec.qty_fault]
            return SettleTrade(cid, spec.market, spec.buyer, spec.seller, price, qty, spec.buyer_fee, spec.seller_fee)
        assert isinstance(spec, PriceSpec)
        price = round_to_tick(self.reference_price(spec.market) * (BPS + spec.move_bps) // BPS, params.tick)
        self.source_clock_ms += 1
        time_ms = self.source_clock_ms
        if spec.fault == "stale":
            time_ms = self.model.mark_time.get(spec.market, 0)
        elif spec.fault == "zero":
            price = 0
        source = BAD_SOURCE if spec.fault == "bad_source" else "oracle-1"
        return PriceUpdate(cid, spec.market, source, price, time_ms)

    def submit(self, specs) -> None:
        used: list[str] = []
        commands = [self.build(spec, used) for spec in specs]
        note(f"entry {self.index + 1}: {commands}")
        expected = self.model.apply_entry(commands)
        outcome = apply(self.state, self.entry(commands))
        assert len(outcome.results) == len(commands)
        for cmd, result, want in zip(commands, outcome.results, expected):
            got = Expected(result.code, result.collateral, result.counterparty_collateral,
                           result.original_code if result.code == ResultCode.DUPLICATE else ResultCode.OK)
            assert got == want, f"{cmd}: ledger {got} != model {want} ({result.message})"
            event(f"{type(cmd).__name__} -> {result.code.name}")
        got_events = [
            (e.account, e.market, e.size, e.price, e.fee, e.fund_paid, e.uncovered)
            for e in outcome.events if isinstance(e, Liquidation)
        ]
        assert got_events == self.model.events
        for e in self.model.events:
            self.liquidations += 1
            event("liquidation" + (" (bankrupt)" if e[6] else " (fund paid)" if e[5] else ""))
        if self.model.collateral[FUND] < 0:
            event("insurance fund in deficit")

    # -- setup ---------------------------------------------------------------------------------

    @initialize(
        balances=st.lists(st.integers(0, 8_000), min_size=len(CLIENTS), max_size=len(CLIENTS)),
        fund=st.one_of(st.just(0), st.integers(0, 3_000)),
    )
    def list_markets_and_fund_accounts(self, balances, fund) -> None:
        commands = [
            CreateMarket(
                id=f"create-{name}", market=name, kind=MarketKind.PERPETUAL, tick_size=p.tick, lot_size=p.lot,
                initial_margin_bps=p.im_bps, maintenance_margin_bps=p.mm_bps, liquidation_fee_bps=p.fee_bps,
                open_interest_cap=p.oi_cap, trade_band_bps=100_000, band_bps=0, band_window_ms=0, cooldown_ms=0,
            )
            for name, p in self.markets.items()
        ]
        outcome = apply(self.state, self.entry(commands))
        assert [r.code for r in outcome.results] == [ResultCode.OK] * len(commands)
        for cmd in commands:  # the model records these ids like any other command
            self.model.seen[cmd.id] = Expected(ResultCode.OK)
        # BTC starts with a mark; ETH has none until a PriceUpdate (its trades: NO_MARK_PRICE).
        self.submit([PriceSpec(IdSpec("new", 0), "BTC", 0, "")])
        # Most clients start funded (0 means "not yet"), so trades can happen from the first step.
        self.submit([DepositSpec(IdSpec("new", 0), account, amount)
                     for account, amount in zip(CLIENTS + (FUND,), balances + [fund]) if amount])

    # -- rules ---------------------------------------------------------------------------------

    @rule(spec=deposit_specs)
    def deposit(self, spec) -> None:
        self.submit([spec])

    @rule(cid=ids, account=st.sampled_from(CLIENTS), amount=st.integers(500, 10_000))
    def fund_client(self, cid, account, amount) -> None:
        self.submit([DepositSpec(cid, account, amount)])

    @rule(cid=ids, amount=st.integers(1, 3_000))
    def top_up_insurance_fund(self, cid, amount) -> None:
        self.submit([DepositSpec(cid, FUND, amount)])

    @rule(spec=withdraw_specs)
    def withdraw(self, spec) -> None:
        self.submit([spec])

    @rule(spec=clean_trade_specs)
    def trade(self, spec) -> None:
        self.submit([spec])

    @rule(cid=clean_ids, market=st.sampled_from(tuple(MARKETS)), pair=client_pairs,
          price_bps=st.integers(-200, 200), percent=st.integers(50, 110))
    def leveraged_trade(self, cid, market, pair, price_bps, percent) -> None:
        """A trade sized to use about `percent`% of the smaller side's margin headroom: the
        positions that small price moves then push below maintenance. (The model's numbers only
        choose the size here; the expected outcome is computed as for any other trade.)"""
        mark = self.model.mark[market]
        p = self.markets[market]
        if not mark:
            return
        headroom = []
        for account in pair:
            if account not in self.model.collateral:
                return
            pnl, _, im, _ = self.model.valuation(account)
            headroom.append(self.model.collateral[account] + pnl - im)
        lots = max(1, min(headroom) * percent // 100 * BPS // (mark * p.im_bps * p.lot))
        self.submit([TradeSpec(cid, market, pair[0], pair[1], price_bps, "", lots, "", 0, 0)])

    @rule(spec=trade_specs)
    def any_trade(self, spec) -> None:
        self.submit([spec])

    @rule(spec=price_specs)
    def move_price(self, spec) -> None:
        self.submit([spec])

    @rule(cid=clean_ids, market=st.sampled_from(tuple(MARKETS)), move_bps=st.integers(-1_500, 1_500))
    def wiggle(self, cid, market, move_bps) -> None:
        self.submit([PriceSpec(cid, market, move_bps, "")])

    @rule(cid=ids, market=st.sampled_from(tuple(MARKETS)), drop_bps=st.sampled_from((1_000, 2_000, 3_500, 6_000)))
    def crash(self, cid, market, drop_bps) -> None:
        self.submit([PriceSpec(cid, market, -drop_bps, "")])

    @rule(specs=st.lists(any_spec, min_size=2, max_size=5))
    def batch(self, specs) -> None:
        self.submit(specs)

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def ledger_invariants_hold(self) -> None:
        check_full(self.state)

    @invariant()
    def model_conserves_money(self) -> None:
        m = self.model
        held = sum(m.collateral.values()) - sum(cost for _, cost in m.pos.values()) + m.fees
        assert held == m.deposits - m.withdrawals
        for market in self.markets:
            assert sum(size for (_, mk), (size, _) in m.pos.items() if mk == market) == 0
        for account, collateral in m.collateral.items():
            # The fund alone may run a deficit: it can realize a loss on positions it took over.
            assert account == FUND or m.status[account] != ACTIVE or collateral >= 0, (account, collateral)

    @invariant()
    def ledger_equals_model(self) -> None:
        s, m = self.state, self.model
        assert INSURANCE_FUND == FUND
        assert {a: (acc.collateral, acc.status) for a, acc in s.accounts.items()} == {
            a: (c, m.status[a]) for a, c in m.collateral.items()
        }
        ledger_positions = {
            (a, mk): (p.size, p.cost_basis)
            for a, by_market in s.positions.items()
            for mk, p in by_market.items()
            if (p.size, p.cost_basis) != (0, 0)
        }
        assert ledger_positions == {k: v for k, v in m.pos.items() if v != (0, 0)}
        ledger_realized = {
            (a, mk): p.realized_pnl for a, by_market in s.positions.items() for mk, p in by_market.items() if p.realized_pnl
        }
        assert ledger_realized == {k: v for k, v in m.realized.items() if v}
        assert s.meta["fees_collected"] == m.fees
        assert s.meta["deposits_total"] == m.deposits
        assert s.meta["withdrawals_total"] == m.withdrawals
        for market in self.markets:
            assert s.markets[market].mark_price == m.mark[market]
            assert s.open_interest[market] == m.open_interest(market)
        assert {cid: rec.code for cid, rec in s.dedup.items()} == {cid: e.code for cid, e in m.seen.items()}

    def teardown(self) -> None:
        if self.liquidations:
            event("run had liquidations")


class SmallCapLedgerVersusModel(LedgerVersusModel):
    """The same machine with a BTC open-interest cap small enough to be hit often."""

    markets = {"BTC": Params(tick=1, lot=1, im_bps=1_000, mm_bps=500, fee_bps=100, oi_cap=25, base_price=1_000),
               "ETH": MARKETS["ETH"]}


# Budget: the whole file should stay well under a minute on a slow 2-core machine.
_settings = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
LedgerVersusModel.TestCase.settings = settings(max_examples=250, stateful_step_count=50, **_settings)
SmallCapLedgerVersusModel.TestCase.settings = settings(max_examples=80, stateful_step_count=50, **_settings)

TestLedgerVersusModel = LedgerVersusModel.TestCase
TestSmallCapLedgerVersusModel = SmallCapLedgerVersusModel.TestCase


# ---------------------------------------------------------------------------------------------
# Plain examples with exact numbers
# ---------------------------------------------------------------------------------------------


class Ledger:
    """Applies one entry per call and checks every invariant after it."""

    def __init__(self, oi_cap: int = BIG_CAP) -> None:
        self.state = LedgerState()
        self.index = 0
        self.events: list = []
        self.time = 0
        p = MARKETS["BTC"]
        (result,) = self.run(CreateMarket(
            "create-BTC", "BTC", MarketKind.PERPETUAL, p.tick, p.lot, p.im_bps, p.mm_bps, p.fee_bps,
            oi_cap, 100_000, 0, 0, 0,
        ))
        assert result.code == ResultCode.OK

    def run(self, *commands):
        self.index += 1
        outcome = apply(self.state, LogEntry(self.index, 1_000 * self.index, tuple(commands)))
        check_full(self.state)
        self.events.extend(
            (e.account, e.market, e.size, e.price, e.fee, e.fund_paid, e.uncovered)
            for e in outcome.events if isinstance(e, Liquidation)
        )
        return outcome.results

    def ok(self, *commands) -> None:
        for result in self.run(*commands):
            assert result.code == ResultCode.OK, result

    def mark(self, price: int) -> None:
        self.time += 1
        self.ok(PriceUpdate(f"px{self.time}", "BTC", "oracle-1", price, self.time))

    def coll(self, account: str) -> int:
        return self.state.accounts[account].collateral

    def pos(self, account: str) -> tuple[int, int]:
        p = self.state.position(account, "BTC")
        return (p.size, p.cost_basis) if p else (0, 0)


def test_partial_reduction_realizes_nothing_and_a_flip_realizes_everything():
    ledger = Ledger()
    ledger.mark(1_000)
    ledger.ok(Deposit("d1", "alice", 10_000), Deposit("d2", "bob", 10_000))
    ledger.ok(SettleTrade("t1", "BTC", "alice", "bob", 1_000, 10, buyer_fee=5, seller_fee=7))
    assert (ledger.coll("alice"), ledger.coll("bob")) == (9_995, 9_993)
    assert (ledger.pos("alice"), ledger.pos("bob")) == ((10, 10_000), (-10, -10_000))

    ledger.mark(1_100)
    # alice sells 4 of her 10: a partial reduction; its +400 stays inside the cost basis.
    ledger.ok(SettleTrade("t2", "BTC", "bob", "alice", 1_100, 4))
    assert (ledger.coll("alice"), ledger.coll("bob")) == (9_995, 9_993)
    assert (ledger.pos("alice"), ledger.pos("bob")) == ((6, 5_600), (-6, -5_600))

    # alice sells 10 more: 6 -> -4 flips, realizing 6*1100 - 5600 = +1000; bob realizes -1000.
    (result,) = ledger.run(SettleTrade("t3", "BTC", "bob", "alice", 1_100, 10))
    assert (result.code, result.collateral, result.counterparty_collateral) == (ResultCode.OK, 8_993, 10_995)
    assert (ledger.pos("alice"), ledger.pos("bob")) == ((-4, -4_400), (4, 4_400))
    assert ledger.state.position("alice", "BTC").realized_pnl == 1_000

    # A retry of t3 changes nothing and reports the first outcome.
    (dup,) = ledger.run(SettleTrade("t3", "BTC", "bob", "alice", 1_100, 10))
    assert (dup.code, dup.original_code, dup.collateral, dup.counterparty_collateral) == (
        ResultCode.DUPLICATE, ResultCode.OK, 8_993, 10_995)
    assert ledger.pos("alice") == (-4, -4_400)

    # alice may withdraw 10995 + min(0, upnl 0) - IM ceil(4*1100*10%) = 10555, not a unit more.
    (refused,) = ledger.run(Withdraw("w1", "alice", 10_556))
    assert (refused.code, refused.collateral) == (ResultCode.INSUFFICIENT_COLLATERAL, 10_995)
    (done,) = ledger.run(Withdraw("w2", "alice", 10_555))
    assert (done.code, done.collateral) == (ResultCode.OK, 440)
    assert ledger.state.meta["fees_collected"] == 12


def test_liquidation_where_the_fund_pays_one_loss_and_collects_another_fee():
    ledger = Ledger()
    ledger.mark(1_000)
    ledger.ok(Deposit("f", FUND, 500), Deposit("a", "alice", 1_000), Deposit("b", "bob", 10_000),
              Deposit("c", "carol", 700))
    ledger.ok(SettleTrade("t1", "BTC", "alice", "bob", 1_000, 10), SettleTrade("t2", "BTC", "carol", "bob", 1_000, 5))

    # At 880: alice's equity 1000 - 1200 = -200 < MM 440; carol's 700 - 600 = 100 < MM 220.
    ledger.mark(880)
    assert ledger.events == [
        # alice: loss 1200 > collateral 1000, no fee can be taken, the fund pays the other 200.
        ("alice", "BTC", 10, 880, 0, 200, 0),
        # carol: 100 left after the loss, the fee ceil(5*880*1%) = 44 is paid in full.
        ("carol", "BTC", 5, 880, 44, 0, 0),
    ]
    assert (ledger.coll("alice"), ledger.coll("carol"), ledger.coll(FUND)) == (0, 56, 500 - 200 + 44)
    assert ledger.state.accounts["alice"].status == ACTIVE
    assert ledger.pos(FUND) == (15, 15 * 880)
    assert ledger.pos("alice") == (0, 0)
    assert ledger.state.open_interest["BTC"] == 15


def test_a_loss_beyond_account_and_fund_leaves_the_account_bankrupt():
    ledger = Ledger()
    ledger.mark(1_000)
    ledger.ok(Deposit("f", FUND, 100), Deposit("a", "alice", 1_000), Deposit("b", "bob", 10_000))
    ledger.ok(SettleTrade("t1", "BTC", "alice", "bob", 1_000, 10))
    ledger.mark(800)  # alice loses 2000 with 1000 of collateral; the fund has only 100
    assert ledger.events == [("alice", "BTC", 10, 800, 0, 100, 900)]
    assert ledger.state.accounts["alice"].collateral == -900
    assert ledger.state.accounts["alice"].status == BANKRUPT
    assert (ledger.coll(FUND), ledger.pos(FUND)) == (0, (10, 8_000))

    codes = [r.code for r in ledger.run(
        Withdraw("w", "alice", 1),
        SettleTrade("t2", "BTC", "bob", "alice", 800, 1),
        Deposit("d", "alice", 50),
    )]
    assert codes == [ResultCode.ACCOUNT_NOT_ACTIVE, ResultCode.ACCOUNT_NOT_ACTIVE, ResultCode.OK]
    assert ledger.state.accounts["alice"].collateral == -850
    assert ledger.state.accounts["alice"].status == BANKRUPT  # a deposit does not revive it


# Regression test for a defect found while writing this file. With the ledger as first read, the
# last price update below raised LedgerInvariantError out of apply(): the fund realized -300 on
# the position it had taken over from alice (bought 10 at 90, sold 10 at 60 when dave's short was
# closed), and check_entry refused an ACTIVE account with negative collateral, so an ordinary,
# valid oracle price halted every replica with the state half-applied. The ledger now lets the
# fund (and only the fund) run a deficit, and a fund in deficit pays nothing towards losses.
def test_fund_can_run_a_deficit_and_then_pays_nothing():
    ledger = Ledger()
    ledger.mark(100)
    ledger.ok(Deposit("a", "alice", 100), Deposit("b", "bob", 1_000), Deposit("c", "carol", 1_000),
              Deposit("d", "dave", 100))
    ledger.ok(SettleTrade("t1", "BTC", "alice", "bob", 100, 10))
    ledger.mark(90)  # alice: equity 0 < MM 45 -> the fund is long 10 at cost 900
    assert ledger.events == [("alice", "BTC", 10, 90, 0, 0, 0)]
    assert ledger.pos(FUND) == (10, 900)
    ledger.mark(50)
    ledger.ok(SettleTrade("t2", "BTC", "carol", "dave", 50, 10))  # dave short 10 at 50, equity 100
    # erin opens long 10 at 50 at exactly initial margin (50), before the fund is in deficit.
    ledger.ok(Deposit("e", "erin", 50), SettleTrade("t3", "BTC", "erin", "bob", 50, 10))
    # At 60 dave (equity 0 < MM 30) is liquidated: his -100 uses up his collateral, so no fee;
    # the fund buys his short back, which closes its own long: 10*60 - 900 = -300 realized.
    ledger.mark(60)  # used to raise LedgerInvariantError here
    assert ledger.events[1:] == [("dave", "BTC", -10, 60, 0, 0, 0)]
    assert (ledger.coll("dave"), ledger.state.accounts["dave"].status) == (0, ACTIVE)
    assert (ledger.coll(FUND), ledger.pos(FUND)) == (-300, (0, 0))

    # erin loses 100 at 40 against 50 of collateral: the fund, in deficit, covers none of the 50
    # she lacks, so she is BANKRUPT with -50, and the fund takes her long over at 40.
    ledger.mark(40)
    assert ledger.events[2:] == [("erin", "BTC", 10, 40, 0, 0, 50)]
    assert (ledger.coll("erin"), ledger.state.accounts["erin"].status) == (-50, BANKRUPT)
    assert (ledger.coll(FUND), ledger.pos(FUND)) == (-300, (10, 400))

    # A fund below its floor (0) makes the venue reduce-only: no new exposure until it is topped up.
    assert ledger.state.global_mode == GlobalMode.REDUCE_ONLY
    ledger.index += 1
    (refused,) = apply(ledger.state, LogEntry(ledger.index, 1_000 * ledger.index, (SettleTrade("t4", "BTC", "carol", "bob", 40, 1),))).results
    assert refused.code == ResultCode.REDUCE_ONLY
    ledger.ok(Deposit("top-up", FUND, 1_000))
    assert ledger.state.global_mode == GlobalMode.NORMAL
    ledger.ok(SettleTrade("t5", "BTC", "carol", "bob", 40, 1))
