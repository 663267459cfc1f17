"""The ledger's stored records and their canonical byte encoding.

One encoding serves three purposes, so they can never drift apart: the state hash is computed
over these bytes, the LMDB store writes them as values, and snapshots carry them. Each value
starts with a version byte; integers are fixed-width big-endian (int64, or 128-bit for running
totals that may outgrow int64 over the life of a ledger). No pickle, no repr, no floats.
"""

from __future__ import annotations

import enum
import json
import struct
from dataclasses import dataclass, replace

from .commands import MarketKind, OptionType

record_version = 2  # 2: the guards (market oracle and liquidation fields, oracle sources)

# Table tags: the sub-database names in LMDB and the domain separators in the state hash.
TABLE_ACCOUNT = b"account"
TABLE_POSITION = b"position"
TABLE_MARKET = b"market"
TABLE_OPEN_INTEREST = b"open_interest"
TABLE_DEDUP = b"dedup"
TABLE_META = b"meta"
TABLE_WITHDRAWAL_WINDOW = b"withdrawal_window"
TABLE_ORACLE_SOURCE = b"oracle_source"
# The signer set, its policy, used action nonces, timelocked changes, checkpoint votes and the
# certified checkpoint: rare, small records, stored as canonical JSON (see governance.py).
TABLE_GOVERNANCE = b"governance"
# Each market's insurance fund unwinding: its auction parameters and state (fund_unwinding.py).
TABLE_FUND_UNWIND = b"fund_unwind"
# Perpetual economics (issue 17): each market's fee, funding and margin-call terms, its funding
# state, and the accounts under a margin call.
TABLE_MARKET_TERMS = b"market_terms"
TABLE_FUNDING = b"funding"
TABLE_MARGIN_CALL = b"margin_call"
TABLES = (
    TABLE_ACCOUNT, TABLE_POSITION, TABLE_MARKET, TABLE_OPEN_INTEREST, TABLE_DEDUP, TABLE_META,
    TABLE_WITHDRAWAL_WINDOW, TABLE_ORACLE_SOURCE, TABLE_GOVERNANCE,
    TABLE_FUND_UNWIND, TABLE_MARKET_TERMS, TABLE_FUNDING, TABLE_MARGIN_CALL,
)

# Position keys join account and market with a byte that the id charset cannot contain.
position_key_separator = "/"


class AccountStatus(enum.IntEnum):
    ACTIVE = 1
    LIQUIDATING = 2
    BANKRUPT = 3
    FROZEN = 4


class MarketStatus(enum.IntEnum):
    ACTIVE = 1
    REDUCE_ONLY = 2
    HALTED = 3
    SETTLED = 4
    SETTLING = 5  # expired without a reliable settlement price: frozen until it has one (settlement_window.py)


class GlobalMode(enum.IntEnum):
    """The whole venue's trading mode (numbers as settlement.v1.Guards.Mode)."""

    NORMAL = 1
    REDUCE_ONLY = 2
    HALTED = 3


class GlobalReason(enum.IntEnum):
    NONE = 0
    FUND_BELOW_FLOOR = 1  # the insurance fund fell below its floor: REDUCE_ONLY until it recovers
    GUARDIAN_HALT = 2  # a quorum-signed GLOBAL_HALT: HALTED until a quorum-signed GLOBAL_RESUME


class StatusReason(enum.IntEnum):
    """Why a market is in its current status (kept with the time it got there)."""

    NONE = 0
    PRICE_BAND = 1  # the price-band breaker tripped: HALTED for the cooldown
    BREAKER_GRACE = 2  # after a breaker's cooldown: REDUCE_ONLY for another cooldown
    EXPIRED = 3  # a future settled at the mark at expiry
    CASCADE = 4  # liquidations in a window beyond a share of open interest: REDUCE_ONLY for the cooldown
    ORACLE_STALE = 5  # fewer fresh oracle sources than min_sources: REDUCE_ONLY until they return
    GUARDIAN_HALT = 6  # a quorum-signed HALT_MARKET: HALTED until a quorum-signed RESUME_MARKET
    EMERGENCY_SETTLED = 7  # a quorum-signed EMERGENCY_SETTLE closed every position at its price
    SETTLEMENT_PRICE_UNRELIABLE = 8  # expired with too little VALID time in the window, or not VALID at expiry: SETTLING


class SettlementMethod(enum.IntEnum):
    """How a market's settlement price was formed (numbers as settlement.v1.MarketSettled.Method)."""

    TWAP = 1  # the time-weighted average of its VALID marks (settlement_window.py)
    GUARDIAN = 2  # a guardian quorum's EMERGENCY_SETTLE
    PAYOFF = 3  # an OPTION: its payoff against its underlying's price (option_expiry.py)


class OracleVerdict(enum.IntEnum):
    """The oracle's judgement of a market's mark (numbers as settlement.v1.OracleVerdict).

    VALID: trade and liquidate at the mark. STALE: fewer than min_sources fresh sources; the mark
    is kept but the market is REDUCE_ONLY and nobody is liquidated. TOO_VOLATILE: the mark moved
    beyond volatility_bps from its time-weighted average; trading goes on, liquidations wait.
    INVALID is a verdict on one update (a non-positive price): that update is refused and never
    becomes the market's verdict. (An OUTLIER or CLAMPED print is a judgement of its source,
    SourceExclusion, not a verdict.)
    """

    VALID = 1
    STALE = 2
    TOO_VOLATILE = 3
    INVALID = 4


@dataclass(frozen=True, slots=True)
class Account:
    collateral: int
    status: AccountStatus = AccountStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Position:
    """An open position. cost_basis is the exact signed sum of quantity x price of the open part.

    Profit or loss becomes collateral (is realized) only when the position goes flat or flips
    side; a partial reduction keeps its gain or loss inside cost_basis. That keeps every number an
    exact integer with no rounding between buyer and seller, and is conservative: a partial
    close's profit is not withdrawable until the position is closed.
    """

    size: int
    cost_basis: int
    realized_pnl: int = 0
    funding_index: int = 0  # the market's funding index when funding was last settled (funding.py)


@dataclass(frozen=True, slots=True)
class Market:
    kind: MarketKind
    tick_size: int
    lot_size: int
    initial_margin_bps: int
    maintenance_margin_bps: int
    liquidation_fee_bps: int
    open_interest_cap: int
    trade_band_bps: int
    band_bps: int
    band_window_ms: int
    cooldown_ms: int
    expiry_ms: int
    strike_price: int
    option_type: OptionType
    status: MarketStatus = MarketStatus.ACTIVE
    status_since_ms: int = 0
    mark_price: int = 0  # 0: no mark yet
    mark_time_ms: int = 0  # source time of the mark
    status_reason: StatusReason = StatusReason.NONE
    breaker_tripped_at_ms: int = 0  # ledger time of the last trip
    status_until_ms: int = 0  # ledger time a breaker's HALTED or grace REDUCE_ONLY ends; 0: none
    # The price-band window: lowest and highest mark seen since band_window_start_ms.
    band_window_start_ms: int = 0
    band_window_low: int = 0
    band_window_high: int = 0
    open_interest_soft_cap: int = 0
    position_cap: int = 0
    cascade_window_ms: int = 0
    cascade_bps: int = 0
    # The cascade breaker's window: liquidated notional since cascade_window_start_ms.
    cascade_window_start_ms: int = 0
    cascade_notional: int = 0
    # Oracle and liquidation parameters (CreateMarket's, kept with the market).
    min_sources: int = 1
    stale_after_ms: int = 60_000
    volatility_bps: int = 0
    twap_window_ms: int = 0
    liquidation_slice_bps: int = 10_000
    liquidation_window_ms: int = 0
    liquidation_cap_notional: int = 0
    fund_position_cap: int = 0
    # Oracle guard state: the verdict, the ledger time the market goes stale unless fresh prices
    # arrive (0: already stale or never priced), and the mark's time-weighted average.
    oracle_verdict: OracleVerdict = OracleVerdict.STALE
    fresh_until_ms: int = 0
    twap: int = 0
    twap_time_ms: int = 0
    # The liquidation window: notional liquidated since liquidation_window_start_ms.
    liquidation_window_start_ms: int = 0
    liquidated_in_window: int = 0
    # Adaptive thresholds (volatility.py): CreateMarket's parameters, then the mark's exponentially
    # weighted variance (ppm^2, volatility.variance_scale) as of the ledger time of the last mark.
    volatility_half_life_ms: int = 0  # 0: no volatility kept
    band_volatility_pct: int = 0  # 0: the band is band_bps (static)
    band_floor_bps: int = 0
    band_ceiling_bps: int = 0
    initial_margin_ceiling_bps: int = 0  # 0: the initial margin is static
    volatility_variance: int = 0
    volatility_time_ms: int = 0
    announced_band_bps: int = 0  # the adaptive band the last BandChanged event announced (0: none yet)
    # Sources judged against the others (CreateMarket's, oracle.py): 0 = off.
    outlier_bps: int = 0
    clamp_after_ms: int = 0
    # -- settlement price (settlement_window.py, docs/design.md#settlement-price) -----------------
    # The window before expiry (CreateMarket's, resolved at listing; 0: the market never expires),
    # the sums of the VALID marks it has seen: price x ms (128-bit) and ms, and the sample running
    # now: the price counting since since_ms, valid until until_ms (0: no price counts now). While
    # SETTLING the sums count from expiry. settlement_price: the price it settled at (0: not yet).
    settlement_window_ms: int = 0
    settlement_price_ms: int = 0
    settlement_valid_ms: int = 0
    settlement_sample_price: int = 0
    settlement_sample_since_ms: int = 0
    settlement_sample_until_ms: int = 0
    settlement_price: int = 0
    # -- options (issue 19, docs/design.md#options): an OPTION market only ----------------------
    # Its underlying (a PERPETUAL or FUTURE market id), the oracle's median implied volatility
    # (ppm) and the ledger time the mark premium (mark_price, from option_pricing) was last made.
    # Encoded after the fixed fields, for OPTION markets only (`_MARKET_OPTION`), so every other
    # market keeps its bytes.
    underlying: str = ""
    mark_volatility_ppm: int = 0
    premium_time_ms: int = 0


class SourceExclusion(enum.IntEnum):
    """Why a source's last price does not enter the median (numbers as settlement.v1.SourcePrice.Exclusion)."""

    NONE = 0
    OUTLIER = 1  # its last print was more than outlier_bps from the median of the other fresh sources
    CLAMPED = 2  # it repeats one price for clamp_after_ms while another source moved: until it moves


@dataclass(frozen=True, slots=True)
class OracleSourceState:
    """One registered source of one market: its key and the last price it signed.

    `price_since_ms` is the source time the current price value was first reported (a price
    unchanged for clamp_after_ms while another source moved is a clamp, LUNA 2022); `exclusion`
    says why that price may not enter the median; `outlier_prints` counts the source's prints
    judged OUTLIER since the market was listed.
    """

    public_key: bytes
    price: int = 0
    source_time_ms: int = 0
    price_since_ms: int = 0
    exclusion: SourceExclusion = SourceExclusion.NONE
    outlier_prints: int = 0

    @property
    def counted(self) -> bool:
        """Its price may enter the median (while fresh): it has one, and it is not excluded."""
        return self.price > 0 and self.exclusion == SourceExclusion.NONE


@dataclass(frozen=True, slots=True)
class WithdrawalWindow:
    """What one account withdrew since start_ms (a tumbling window of withdrawal_window_ms)."""

    start_ms: int
    withdrawn: int


@dataclass(frozen=True, slots=True)
class DedupRecord:
    """The first outcome of a command id, returned to every retry of that id. Stored packed, one
    record per entry (keyed by its index) for every command id the entry applied: one record to
    hash and write per entry instead of one per command."""

    code: int
    collateral: int
    counterparty_collateral: int


_ACCOUNT = struct.Struct(">BqB")
# The funding index is 128-bit (two halves): it accumulates for the life of a market.
_POSITION = struct.Struct(">BqqqqQ")
_U64 = (1 << 64) - 1
# The last part is the settlement block: the window, the 128-bit sum of price x ms (two halves),
# the valid ms, the running sample (price, since, until) and the settlement price.
_MARKET = struct.Struct(">BB" + "q" * 12 + "B" + "BqQq" + "B" + "q" * 11 + "q" * 8 + "B" + "q" * 5 + "q" * 8 + "qq" + "qqQ" + "q" * 5)
# The option block, after the fixed fields of an OPTION market: mark volatility, premium time,
# the underlying id's length, then its bytes.
_MARKET_OPTION = struct.Struct(">qqB")
_OPEN_INTEREST = struct.Struct(">Bq")
_TOTAL_BYTES = 16


def encode_account(a: Account) -> bytes:
    return _ACCOUNT.pack(record_version, a.collateral, a.status)


_ACCOUNT_STATUSES = {status.value: status for status in AccountStatus}  # KeyError: not a status


def decode_account(b: bytes) -> Account:
    v, collateral, status = _ACCOUNT.unpack(b)
    assert v == record_version, v
    return Account(collateral, _ACCOUNT_STATUSES[status])


def encode_position(p: Position) -> bytes:
    index = p.funding_index
    return _POSITION.pack(record_version, p.size, p.cost_basis, p.realized_pnl, index >> 64, index & _U64)


def decode_position(b: bytes) -> Position:
    v, size, cost_basis, realized_pnl, index_high, index_low = _POSITION.unpack(b)
    assert v == record_version, v
    return Position(size, cost_basis, realized_pnl, (index_high << 64) | index_low)


def encode_market(m: Market) -> bytes:
    fixed = _encode_market_fixed(m)
    if m.kind != MarketKind.OPTION:
        assert not (m.underlying or m.mark_volatility_ppm or m.premium_time_ms), m
        return fixed
    underlying = m.underlying.encode()
    return fixed + _MARKET_OPTION.pack(m.mark_volatility_ppm, m.premium_time_ms, len(underlying)) + underlying


def _encode_market_fixed(m: Market) -> bytes:
    return _MARKET.pack(
        record_version,
        m.kind,
        m.tick_size,
        m.lot_size,
        m.initial_margin_bps,
        m.maintenance_margin_bps,
        m.liquidation_fee_bps,
        m.open_interest_cap,
        m.trade_band_bps,
        m.band_bps,
        m.band_window_ms,
        m.cooldown_ms,
        m.expiry_ms,
        m.strike_price,
        m.option_type,
        m.status,
        m.status_since_ms,
        m.mark_price,
        m.mark_time_ms,
        m.status_reason,
        m.breaker_tripped_at_ms,
        m.status_until_ms,
        m.band_window_start_ms,
        m.band_window_low,
        m.band_window_high,
        m.open_interest_soft_cap,
        m.position_cap,
        m.cascade_window_ms,
        m.cascade_bps,
        m.cascade_window_start_ms,
        m.cascade_notional,
        m.min_sources,
        m.stale_after_ms,
        m.volatility_bps,
        m.twap_window_ms,
        m.liquidation_slice_bps,
        m.liquidation_window_ms,
        m.liquidation_cap_notional,
        m.fund_position_cap,
        m.oracle_verdict,
        m.fresh_until_ms,
        m.twap,
        m.twap_time_ms,
        m.liquidation_window_start_ms,
        m.liquidated_in_window,
        m.volatility_half_life_ms,
        m.band_volatility_pct,
        m.band_floor_bps,
        m.band_ceiling_bps,
        m.initial_margin_ceiling_bps,
        m.volatility_variance,
        m.volatility_time_ms,
        m.announced_band_bps,
        m.outlier_bps,
        m.clamp_after_ms,
        m.settlement_window_ms,
        m.settlement_price_ms >> 64,
        m.settlement_price_ms & _U64,
        m.settlement_valid_ms,
        m.settlement_sample_price,
        m.settlement_sample_since_ms,
        m.settlement_sample_until_ms,
        m.settlement_price,
    )


def decode_market(b: bytes) -> Market:
    market = _decode_market_fixed(b[:_MARKET.size])
    if market.kind != MarketKind.OPTION:
        assert len(b) == _MARKET.size, len(b)
        return market
    volatility_ppm, premium_time_ms, length = _MARKET_OPTION.unpack_from(b, _MARKET.size)
    start = _MARKET.size + _MARKET_OPTION.size
    assert len(b) == start + length, (len(b), start, length)
    return replace(market, underlying=b[start:].decode(), mark_volatility_ppm=volatility_ppm, premium_time_ms=premium_time_ms)


def _decode_market_fixed(b: bytes) -> Market:
    fields = _MARKET.unpack(b)
    v, kind, ints, option_type, status = fields[0], fields[1], fields[2:14], fields[14], fields[15]
    status_since_ms, mark_price, mark_time_ms, reason = fields[16:20]
    guard, oracle_params, verdict, oracle_state = fields[20:31], fields[31:39], fields[39], fields[40:46]
    adaptive = fields[46:55]
    settlement_window_ms, price_ms_high, price_ms_low, *settlement_state = fields[55:]
    assert v == record_version, v
    return Market(
        MarketKind(kind),
        *ints,
        OptionType(option_type),
        MarketStatus(status),
        status_since_ms,
        mark_price,
        mark_time_ms,
        StatusReason(reason),
        *guard,
        *oracle_params,
        OracleVerdict(verdict),
        *oracle_state,
        *adaptive,
        settlement_window_ms,
        (price_ms_high << 64) | price_ms_low,
        *settlement_state,
    )


def encode_open_interest(contracts: int) -> bytes:
    return _OPEN_INTEREST.pack(record_version, contracts)


def decode_open_interest(b: bytes) -> int:
    v, contracts = _OPEN_INTEREST.unpack(b)
    assert v == record_version, v
    return contracts


# A dedup batch: the dedup records of one entry, with the time they are retained from: the later
# of the entry's ledger time and the newest signed clock of a batch it accepted (retention.py
# prunes whole batches, oldest first, by that time). Version 3: the time was added.
dedup_batch_version = 3
_DEDUP_BATCH_HEADER = struct.Struct(">BIq")  # version, count, retained since (ms)
_DEDUP_ITEM = struct.Struct(">BHqq")  # id length, code, collateral, counterparty collateral


def encode_dedup_batch(items: list[tuple[str, DedupRecord]], retained_since_ms: int) -> bytes:
    parts = [_DEDUP_BATCH_HEADER.pack(dedup_batch_version, len(items), retained_since_ms)]
    pack = _DEDUP_ITEM.pack
    for command_id, d in items:
        key = command_id.encode()
        parts.append(pack(len(key), d.code, d.collateral, d.counterparty_collateral))
        parts.append(key)
    return b"".join(parts)


def dedup_batch_retained_since_ms(b: bytes) -> int:
    v, _, retained_since_ms = _DEDUP_BATCH_HEADER.unpack_from(b, 0)
    assert v == dedup_batch_version, v
    return retained_since_ms


def decode_dedup_batch(b: bytes) -> list[tuple[str, DedupRecord]]:
    v, count, _ = _DEDUP_BATCH_HEADER.unpack_from(b, 0)
    assert v == dedup_batch_version, v
    offset = _DEDUP_BATCH_HEADER.size
    items = []
    for _ in range(count):
        length, code, collateral, counterparty = _DEDUP_ITEM.unpack_from(b, offset)
        offset += _DEDUP_ITEM.size
        items.append((b[offset:offset + length].decode(), DedupRecord(code, collateral, counterparty)))
        offset += length
    assert offset == len(b), (offset, len(b))
    return items


def decode_dedup_batch_into(b: bytes, shards: tuple[dict[str, DedupRecord], ...], shard_mask: int) -> int:
    """decode_dedup_batch's items, put straight into the shards of a sharded index (command id ->
    record; sharded_index.py, whose count the caller then updates); returns how many the batch
    holds. A restart decodes millions of them: no list and no method call in between. A command
    id some shard holds already is a damaged store (AssertionError)."""
    v, count, _ = _DEDUP_BATCH_HEADER.unpack_from(b, 0)
    assert v == dedup_batch_version, v
    offset = _DEDUP_BATCH_HEADER.size
    unpack_item = _DEDUP_ITEM.unpack_from
    item_bytes = _DEDUP_ITEM.size
    record = DedupRecord
    for _ in range(count):
        length, code, collateral, counterparty = unpack_item(b, offset)
        start = offset + item_bytes
        offset = start + length
        command_id = b[start:offset].decode()
        shard = shards[hash(command_id) & shard_mask]
        if command_id in shard:
            raise AssertionError(f"a dedup batch repeats a command id of another batch: {command_id}")
        shard[command_id] = record(code, collateral, counterparty)
    assert offset == len(b), (offset, len(b))
    return count


def dedup_batch_key(entry_index: int) -> str:
    return f"{entry_index:020d}"  # zero-padded: LMDB keeps the batches in log order


_WITHDRAWAL_WINDOW = struct.Struct(">Bqq")


def encode_withdrawal_window(w: WithdrawalWindow) -> bytes:
    return _WITHDRAWAL_WINDOW.pack(record_version, w.start_ms, w.withdrawn)


def decode_withdrawal_window(b: bytes) -> WithdrawalWindow:
    v, start_ms, withdrawn = _WITHDRAWAL_WINDOW.unpack(b)
    assert v == record_version, v
    return WithdrawalWindow(start_ms, withdrawn)


_ORACLE_SOURCE = struct.Struct(">B32sqqqBq")
_EXCLUSIONS = {exclusion.value: exclusion for exclusion in SourceExclusion}  # KeyError: not an exclusion


def encode_oracle_source(o: OracleSourceState) -> bytes:
    return _ORACLE_SOURCE.pack(
        record_version, o.public_key, o.price, o.source_time_ms, o.price_since_ms, o.exclusion, o.outlier_prints,
    )


def decode_oracle_source(b: bytes) -> OracleSourceState:
    v, public_key, price, source_time_ms, price_since_ms, exclusion, outlier_prints = _ORACLE_SOURCE.unpack(b)
    assert v == record_version, v
    return OracleSourceState(public_key, price, source_time_ms, price_since_ms, _EXCLUSIONS[exclusion], outlier_prints)


def encode_governance(value: dict) -> bytes:
    return bytes([record_version]) + canonical_json(value)


def decode_governance(b: bytes) -> dict:
    assert b[0] == record_version, b[0]
    return json.loads(b[1:])


def canonical_json(value: object) -> bytes:
    """The one byte encoding of a JSON value: sorted keys, no spaces, ASCII, integers only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def encode_total(value: int) -> bytes:
    return bytes([record_version]) + value.to_bytes(_TOTAL_BYTES, "big", signed=True)


def decode_total(b: bytes) -> int:
    assert b[0] == record_version, b[0]
    return int.from_bytes(b[1:], "big", signed=True)


def position_key(account: str, market: str) -> str:
    return account + position_key_separator + market


# -- insurance fund unwinding (fund_unwinding.py) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class FundUnwind:
    """How a market's fund gets out of the positions it inherits, and where its auction stands.

    The parameters come from CreateMarket (validated there); `started_ms` is the ledger time the
    fund's current position was first offered (0: the fund is flat, no auction), and the window
    counts the contracts the auction sold since `window_start_ms`.
    """

    start_bps: int  # the auction's discount from the mark when it starts
    slope_bps_per_minute: int  # how much the discount deepens per minute of ledger time
    discount_max_bps: int  # the deepest discount
    slice_contracts: int  # contracts the auction may sell per window; 0 = no cap
    window_ms: int
    deadline_ms: int  # what the fund still holds this long after the auction started is ADL'd
    started_ms: int = 0
    window_start_ms: int = 0
    sold_in_window: int = 0


_FUND_UNWIND = struct.Struct(">B" + "q" * 9)


def encode_fund_unwind(u: FundUnwind) -> bytes:
    return _FUND_UNWIND.pack(
        record_version, u.start_bps, u.slope_bps_per_minute, u.discount_max_bps, u.slice_contracts, u.window_ms,
        u.deadline_ms, u.started_ms, u.window_start_ms, u.sold_in_window,
    )


def decode_fund_unwind(b: bytes) -> FundUnwind:
    v, *fields = _FUND_UNWIND.unpack(b)
    assert v == record_version, v
    return FundUnwind(*fields)
# -- perpetual economics (issue 17): fees, funding, margin calls ------------------------------


@dataclass(frozen=True, slots=True)
class MarketTerms:
    """A market's fee, funding and margin-call parameters (CreateMarket's, kept beside the
    market record so that record's layout stays as it was)."""

    maker_fee_bps: int = 0
    taker_fee_bps: int = 0
    fee_fund_share_bps: int = 0
    funding_interval_ms: int = 0
    funding_rate_cap_bps: int = 0
    margin_call_bps: int = 0


@dataclass(frozen=True, slots=True)
class Funding:
    """A perpetual's funding state (funding.py). `index` is the cumulative funding per contract
    in funding_scale-ths of a quote minor unit; `rate` the last interval's rate in
    funding_scale-ths; the premium's time-weighted integral runs since `interval_start_ms`;
    `dust` is settled rounding (in funding_scale-ths of a unit) not yet a whole unit for the fund."""

    index: int = 0
    rate: int = 0
    interval_start_ms: int = 0
    next_funding_ms: int = 0  # 0: no funding
    premium: int = 0  # the premium sampled last, in funding_scale-ths of the mark
    premium_time_ms: int = 0
    premium_area: int = 0  # sum of premium x ms since interval_start_ms
    last_trade_price: int = 0  # 0: no trade yet (the premium is 0)
    dust: int = 0


@dataclass(frozen=True, slots=True)
class MarginCall:
    """An account under a margin call: since when, and its equity and call level then."""

    since_ms: int
    equity: int
    level: int


_MARKET_TERMS = struct.Struct(">Bqqqqqq")
_FUNDING = struct.Struct(">B" + "qQ" + "q" * 5 + "qQ" + "qq")
_MARGIN_CALL = struct.Struct(">Bqqq")


def encode_market_terms(t: MarketTerms) -> bytes:
    return _MARKET_TERMS.pack(
        record_version, t.maker_fee_bps, t.taker_fee_bps, t.fee_fund_share_bps, t.funding_interval_ms,
        t.funding_rate_cap_bps, t.margin_call_bps,
    )


def decode_market_terms(b: bytes) -> MarketTerms:
    v, *fields = _MARKET_TERMS.unpack(b)
    assert v == record_version, v
    return MarketTerms(*fields)


def encode_funding(f: Funding) -> bytes:
    return _FUNDING.pack(
        record_version, f.index >> 64, f.index & _U64, f.rate, f.interval_start_ms, f.next_funding_ms, f.premium,
        f.premium_time_ms, f.premium_area >> 64, f.premium_area & _U64, f.last_trade_price, f.dust,
    )


def decode_funding(b: bytes) -> Funding:
    (v, index_high, index_low, rate, start, next_ms, premium, premium_time,
     area_high, area_low, last_trade_price, dust) = _FUNDING.unpack(b)
    assert v == record_version, v
    return Funding(
        (index_high << 64) | index_low, rate, start, next_ms, premium, premium_time,
        (area_high << 64) | area_low, last_trade_price, dust,
    )


def encode_margin_call(c: MarginCall) -> bytes:
    return _MARGIN_CALL.pack(record_version, c.since_ms, c.equity, c.level)


def decode_margin_call(b: bytes) -> MarginCall:
    v, *fields = _MARGIN_CALL.unpack(b)
    assert v == record_version, v
    return MarginCall(*fields)
