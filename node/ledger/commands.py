"""The commands a log entry carries: small immutable records, one type per command kind.

Integers only: collateral in quote minor units (1e-6 USD), prices in quote minor units per
contract, quantities in whole contracts, ratios in basis points, times in milliseconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class MarketKind(enum.IntEnum):
    PERPETUAL = 1
    FUTURE = 2
    OPTION = 3


class OptionType(enum.IntEnum):
    NONE = 0
    CALL = 1
    PUT = 2


class ActionKind(enum.IntEnum):
    HALT_MARKET = 1
    RESUME_MARKET = 2
    GLOBAL_HALT = 3
    GLOBAL_RESUME = 4
    SET_MARKET_PARAMS = 5
    EMERGENCY_SETTLE = 6
    SET_SIGNERS = 7
    REGISTER_BACKSTOP = 8  # a backstop liquidity provider for a market's fund auction (backstop.py)
    UNREGISTER_BACKSTOP = 9
    WITHDRAW_FEES = 20  # pay collected trading fees out of the ledger's fee account
    # Bounded governance (docs/design.md#bounded-governance).
    CANCEL_PENDING = 21  # the halt quorum cancels one timelocked change, without halting
    SET_POLICY_PARAMS = 22  # governed policy parameters (policy_params.py)
    CUSTODY_WITHDRAW = 23  # a withdrawal above custody_quorum_threshold, signed by custodian keys


class MakerSide(enum.IntEnum):
    """Which side of a fill rested on the book. NONE: the fill carries its fees itself
    (buyer_fee / seller_fee), allowed only on a market without a fee schedule."""

    NONE = 0
    BUYER = 1
    SELLER = 2


@dataclass(frozen=True, slots=True)
class OracleSource:
    """A price source registered with a market: its id and its Ed25519 public key (32 bytes)."""

    source: str
    public_key: bytes


@dataclass(frozen=True, slots=True)
class CreateMarket:
    id: str
    market: str
    kind: MarketKind
    tick_size: int  # price must be a multiple of this
    lot_size: int  # quantity must be a multiple of this
    initial_margin_bps: int
    maintenance_margin_bps: int
    liquidation_fee_bps: int
    open_interest_cap: int  # contracts, one side; 0 = no new exposure allowed
    trade_band_bps: int  # fat-finger band around the mark
    band_bps: int  # price-band breaker: max mark move within band_window_ms
    band_window_ms: int
    cooldown_ms: int
    expiry_ms: int = 0  # FUTURE / OPTION only
    strike_price: int = 0  # OPTION only
    option_type: OptionType = OptionType.NONE
    open_interest_soft_cap: int = 0  # initial margin rises to 100% from here to the cap; 0 = off
    position_cap: int = 0  # contracts per account, either side; 0 = no cap
    cascade_window_ms: int = 0
    cascade_bps: int = 0  # liquidated notional in the window above this share of OI: REDUCE_ONLY; 0 = off
    # Oracle: the registered sources; the mark is the median of fresh ones (see oracle.py).
    sources: tuple[OracleSource, ...] = ()
    min_sources: int = 1  # fewer fresh sources than this: the market is STALE
    stale_after_ms: int = 60_000  # a source's price is fresh this long after its source time
    volatility_bps: int = 0  # mark this far from its time-weighted average: TOO_VOLATILE; 0 = off
    twap_window_ms: int = 0  # the time-weighted average's window
    # Liquidation: at most slice_bps of a position per entry, at most cap_notional per window.
    liquidation_slice_bps: int = 10_000
    liquidation_window_ms: int = 0
    liquidation_cap_notional: int = 0  # 0 = no cap
    fund_position_cap: int = 0  # contracts the market's insurance fund may take over; 0 = no cap
    # Insurance fund unwinding (fund_unwinding.py): the fund offers what it inherits to registered
    # backstops at mark -/+ (start + slope x minutes since it inherited, at most discount_max) bps,
    # at most unwind_slice_contracts per unwind_window_ms, and what is left after
    # unwind_deadline_ms is auto-deleveraged. Defaults in limits.py (unwind_*_default).
    unwind_start_bps: int = 50
    unwind_slope_bps_per_minute: int = 10
    unwind_discount_max_bps: int = 1_000
    unwind_slice_contracts: int = 0  # contracts per window; 0 = no cap
    unwind_window_ms: int = 60_000
    unwind_deadline_ms: int = 86_400_000
    # Fees (fees.py): bps of a fill's notional; a negative maker fee is a rebate, at most the
    # taker's fee. fee_fund_share_bps of every fee goes to the market's fund, the rest to sys:fees.
    maker_fee_bps: int = 0
    taker_fee_bps: int = 0
    fee_fund_share_bps: int = 0
    # Funding (funding.py), perpetuals only: 0 = no funding. The rate of one interval is the
    # time-weighted premium of traded prices over the mark, clamped to funding_rate_cap_bps.
    funding_interval_ms: int = 0
    funding_rate_cap_bps: int = 0
    # Margin calls (margin_calls.py): between maintenance and initial margin; 0 = no calls.
    margin_call_bps: int = 0
    # Adaptive thresholds (volatility.py): the mark's volatility decays with this half-life of
    # ledger time (0 = not kept); with band_volatility_pct > 0 the price band is that % of it,
    # within [band_floor_bps, band_ceiling_bps] (band_bps must then be 0), and with
    # initial_margin_ceiling_bps > 0 the initial margin rises with the band, up to that ceiling.
    volatility_half_life_ms: int = 0
    band_volatility_pct: int = 0
    band_floor_bps: int = 0
    band_ceiling_bps: int = 0
    initial_margin_ceiling_bps: int = 0
    # Sources judged against the others (oracle.py): a print more than outlier_bps from the
    # median of the other fresh sources is excluded (0 = off); a price unchanged for
    # clamp_after_ms while another source moved is a clamp, excluded until it moves (0 = off).
    outlier_bps: int = 1_000  # limits.outlier_bps_default
    clamp_after_ms: int = 0
    # Settlement price (settlement_window.py), expiring markets only: the window before expiry
    # whose time-weighted VALID marks set the settlement price; 0 = limits.settlement_window_ms_default.
    settlement_window_ms: int = 0
    # Options (option_listing.py, docs/design.md#options): the PERPETUAL or FUTURE market whose
    # mark is the option's index; strike_price, expiry_ms and option_type above complete its terms.
    underlying: str = ""


@dataclass(frozen=True, slots=True)
class Deposit:
    id: str
    account: str
    amount: int


@dataclass(frozen=True, slots=True)
class Withdraw:
    id: str
    account: str
    amount: int


@dataclass(frozen=True, slots=True)
class SettleTrade:
    id: str
    market: str
    buyer: str
    seller: str
    price: int
    quantity: int
    buyer_fee: int = 0
    seller_fee: int = 0
    maker_side: MakerSide = MakerSide.NONE  # set: the ledger charges the market's fee schedule


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    id: str
    market: str
    source: str
    price: int
    source_time_ms: int
    signature: bytes = b""


@dataclass(frozen=True, slots=True)
class Signature:
    key_id: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class EmergencyAction:
    id: str
    kind: ActionKind
    canonical_bytes: bytes  # what the signers signed: domain tag, cluster id, action, nonce, ...
    nonce: int
    not_after_ms: int
    signatures: tuple[Signature, ...] = ()
    market: str = ""
    price: int = 0  # EMERGENCY_SETTLE


@dataclass(frozen=True, slots=True)
class CheckpointVote:
    id: str
    node: str
    index: int
    state_hash: bytes
    signature: bytes


Command = CreateMarket | Deposit | Withdraw | SettleTrade | PriceUpdate | EmergencyAction | CheckpointVote

COMMAND_TYPES: tuple[type, ...] = (
    CreateMarket,
    Deposit,
    Withdraw,
    SettleTrade,
    PriceUpdate,
    EmergencyAction,
    CheckpointVote,
)


@dataclass(frozen=True, slots=True)
class BatchSignature:
    """Who submitted `size` consecutive commands of an entry, and their proof of intent: the
    submitter's Ed25519 signature over (cluster, key id, sequence, signed_at_ms, digest), where
    `commands_digest` is the SHA-256 each replica computes itself from the logged commands
    (node/codec), so a leader cannot swap the commands under a signature."""

    size: int
    key_id: str = ""
    sequence: int = 0
    signed_at_ms: int = 0
    signature: bytes = b""
    commands_digest: bytes = b""

    @property
    def signed(self) -> bool:
        return bool(self.key_id or self.signature)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One Raft entry: the leader's timestamp and its commands, applied in order. `batches`
    splits the commands by submitter (group commit); empty means one unsigned batch of all."""

    index: int
    timestamp_ms: int
    commands: tuple[Command, ...]
    batches: tuple[BatchSignature, ...] = ()
