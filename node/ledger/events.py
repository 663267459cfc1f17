"""Events the ledger emits while applying an entry (streamed by WatchEvents, printed by replay)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Liquidation:
    """One liquidation slice of one account in one market."""

    account: str
    market: str
    size: int  # the part of the position closed, signed as it was held
    price: int  # the price it was closed at: the mark, or the bankruptcy price when deleveraged
    fee: int  # liquidation fee paid to the market's insurance fund
    fund_paid: int  # loss beyond the account's collateral that the insurance funds covered
    uncovered: int  # loss nobody could pay (account BANKRUPT); 0 when deleveraging covered it
    fund_size: int = 0  # contracts of `size` the market's fund took over
    deleveraged_size: int = 0  # contracts of `size` closed against opposite positions (ADL)
    remaining: int = 0  # the position left after this slice


@dataclass(frozen=True, slots=True)
class Deleveraged:
    """Auto-deleveraging: `account`'s opposite position was reduced against `against`."""

    account: str
    against: str  # the liquidated account
    market: str
    size: int  # the part of `account`'s position closed, signed as it was held
    price: int


@dataclass(frozen=True, slots=True)
class BreakerTripped:
    market: str
    price: int  # the mark that tripped it
    reference: int  # the window's low or high it moved away from
    until_ms: int  # ledger time the HALTED cooldown ends


@dataclass(frozen=True, slots=True)
class MarketStatusChanged:
    market: str
    status: int  # records.MarketStatus
    reason: int  # records.StatusReason
    at_ms: int = 0  # ledger time of the transition


@dataclass(frozen=True, slots=True)
class OracleVerdictChanged:
    market: str
    verdict: int  # records.OracleVerdict
    fresh_sources: int
    mark: int  # the mark as it stands after the verdict


@dataclass(frozen=True, slots=True)
class GlobalModeChanged:
    mode: int  # records.GlobalMode
    reason: int  # records.GlobalReason




@dataclass(frozen=True, slots=True)
class ActionTaken:
    """A quorum-signed action applied now, scheduled behind its timelock, or cancelled by a halt."""

    kind: int  # commands.ActionKind
    nonce: int
    market: str  # "" for venue-wide actions
    outcome: str  # "applied", "scheduled" or "cancelled"
    effective_at_ms: int  # ledger time it takes (took) effect


@dataclass(frozen=True, slots=True)
class CheckpointDue:
    """Nodes should sign and vote the state hash as it stands after this entry."""

    index: int


@dataclass(frozen=True, slots=True)
class CheckpointCertified:
    index: int
    state_hash: bytes
    epoch: int  # the new epoch actions must bind
    signers: tuple[str, ...]  # the node keys whose matching votes certified it


# -- insurance fund unwinding (fund_unwinding.py) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class FundAuctionStarted:
    """A market's fund holds a position it inherited: the auction offering it starts."""

    market: str
    size: int  # the fund's position, contracts
    mark: int
    deadline_ms: int  # ledger time what is left is auto-deleveraged


@dataclass(frozen=True, slots=True)
class FundSliceSold:
    """A registered backstop took a slice of the fund's position at the auction's price."""

    market: str
    backstop: str
    size: int  # contracts of the fund's position closed, signed as the fund held them
    price: int
    discount_bps: int  # the auction's discount from the mark at that time


@dataclass(frozen=True, slots=True)
class FundDeadlineDeleveraged:
    """The auction's deadline passed: the fund's remaining position was auto-deleveraged at the mark
    (the Deleveraged events beside it name the accounts closed against it)."""

    market: str
    size: int  # contracts, signed as the fund held them
    price: int


@dataclass(frozen=True, slots=True)
class FundAuctionEnded:
    """The market's fund is flat again."""

    market: str
@dataclass(frozen=True, slots=True)
class FundingPaid:
    """A perpetual's funding for `intervals` consecutive intervals at one rate (funding.py)."""

    market: str
    rate: int  # billionths of the mark per interval; positive: longs pay shorts
    mark: int  # the mark it was paid at
    intervals: int  # 1, or the quiet intervals after it that all had the same premium
    index: int  # the market's funding index after it (billionths of a unit per contract)
    at_ms: int  # ledger time the last of these intervals ended


@dataclass(frozen=True, slots=True)
class MarginCall:
    """An account fell below its margin-call level: reduce-only until back at initial margin."""

    account: str
    equity: int
    level: int  # the call level it fell below (quote minor units)
    at_ms: int


@dataclass(frozen=True, slots=True)
class MarginCallLifted:
    """A called account is back at or above initial margin."""

    account: str
    equity: int
    initial: int  # its initial margin requirement then
    at_ms: int


@dataclass(frozen=True, slots=True)
class BandChanged:
    """A market's adaptive price band moved at least band_changed_step_bps from the one last
    announced (the first recorded mark announces it): the band the next mark is judged by."""

    market: str
    band_bps: int
    volatility_ppm: int  # the mark's volatility that sets it
    at_ms: int
# -- sources judged against the others (oracle.py) --------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceOutlier:
    """A source's print was more than outlier_bps from the median of the other fresh sources:
    recorded, not counted (one event per such print)."""

    market: str
    source: str
    price: int
    reference: int  # the others' median it was judged against (the nearer middle price for an even count)
    outlier_prints: int  # the source's outlier prints so far, this one included


@dataclass(frozen=True, slots=True)
class SourceClamped:
    """A source repeated one price for clamp_after_ms while another fresh source moved: it stops
    counting until it reports a different price (one event when it becomes clamped)."""

    market: str
    source: str
    price: int
    since_ms: int  # the source time it first reported that price


@dataclass(frozen=True, slots=True)
class MarketSettled:
    """Every position of the market closed at `price`, and how that price was formed
    (docs/design.md#settlement-price): the TWAP of the VALID marks over the settlement window (or,
    after SETTLING, over the VALID time since expiry), or a guardian quorum's signed price."""

    market: str
    price: int
    method: int  # records.SettlementMethod
    valid_ms: int  # VALID time the average covers (for a guardian price: what had been collected)
    window_ms: int  # the settlement window (0: a market without one, a perpetual settled by guardians)
    at_ms: int  # ledger time of the settlement


Event = (
    Liquidation | Deleveraged | BreakerTripped | MarketStatusChanged | OracleVerdictChanged | GlobalModeChanged
    | ActionTaken | CheckpointDue | CheckpointCertified
    | FundAuctionStarted | FundSliceSold | FundDeadlineDeleveraged | FundAuctionEnded
    | FundingPaid | MarginCall | MarginCallLifted
    | BandChanged
    | SourceOutlier | SourceClamped
    | MarketSettled
)
