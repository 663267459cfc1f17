from node.api.settlement.v1 import commands_pb2 as _commands_pb2
from node.api.settlement.v1 import state_pb2 as _state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    LIQUIDATION: _ClassVar[EventKind]
    BREAKER_TRIPPED: _ClassVar[EventKind]
    MARKET_STATUS_CHANGED: _ClassVar[EventKind]
    GLOBAL_MODE_CHANGED: _ClassVar[EventKind]
    CHECKPOINT_CERTIFIED: _ClassVar[EventKind]
    DELEVERAGED: _ClassVar[EventKind]
    ORACLE_VERDICT_CHANGED: _ClassVar[EventKind]
    ACTION_TAKEN: _ClassVar[EventKind]
    CHECKPOINT_DUE: _ClassVar[EventKind]
    FUND_AUCTION_STARTED: _ClassVar[EventKind]
    FUND_SLICE_SOLD: _ClassVar[EventKind]
    FUND_DEADLINE_DELEVERAGED: _ClassVar[EventKind]
    FUND_AUCTION_ENDED: _ClassVar[EventKind]
    FUNDING_PAID: _ClassVar[EventKind]
    MARGIN_CALL: _ClassVar[EventKind]
    MARGIN_CALL_LIFTED: _ClassVar[EventKind]
    BAND_CHANGED: _ClassVar[EventKind]
    SOURCE_OUTLIER: _ClassVar[EventKind]
    SOURCE_CLAMPED: _ClassVar[EventKind]
    MARKET_SETTLED: _ClassVar[EventKind]
EVENT_KIND_UNSPECIFIED: EventKind
LIQUIDATION: EventKind
BREAKER_TRIPPED: EventKind
MARKET_STATUS_CHANGED: EventKind
GLOBAL_MODE_CHANGED: EventKind
CHECKPOINT_CERTIFIED: EventKind
DELEVERAGED: EventKind
ORACLE_VERDICT_CHANGED: EventKind
ACTION_TAKEN: EventKind
CHECKPOINT_DUE: EventKind
FUND_AUCTION_STARTED: EventKind
FUND_SLICE_SOLD: EventKind
FUND_DEADLINE_DELEVERAGED: EventKind
FUND_AUCTION_ENDED: EventKind
FUNDING_PAID: EventKind
MARGIN_CALL: EventKind
MARGIN_CALL_LIFTED: EventKind
BAND_CHANGED: EventKind
SOURCE_OUTLIER: EventKind
SOURCE_CLAMPED: EventKind
MARKET_SETTLED: EventKind

class Liquidation(_message.Message):
    __slots__ = ("account", "market", "size", "price", "fee", "fund_paid", "uncovered", "fund_size", "deleveraged_size", "remaining")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    FUND_PAID_FIELD_NUMBER: _ClassVar[int]
    UNCOVERED_FIELD_NUMBER: _ClassVar[int]
    FUND_SIZE_FIELD_NUMBER: _ClassVar[int]
    DELEVERAGED_SIZE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    account: str
    market: str
    size: int
    price: int
    fee: int
    fund_paid: int
    uncovered: int
    fund_size: int
    deleveraged_size: int
    remaining: int
    def __init__(self, account: _Optional[str] = ..., market: _Optional[str] = ..., size: _Optional[int] = ..., price: _Optional[int] = ..., fee: _Optional[int] = ..., fund_paid: _Optional[int] = ..., uncovered: _Optional[int] = ..., fund_size: _Optional[int] = ..., deleveraged_size: _Optional[int] = ..., remaining: _Optional[int] = ...) -> None: ...

class Deleveraged(_message.Message):
    __slots__ = ("account", "against", "market", "size", "price")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AGAINST_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    account: str
    against: str
    market: str
    size: int
    price: int
    def __init__(self, account: _Optional[str] = ..., against: _Optional[str] = ..., market: _Optional[str] = ..., size: _Optional[int] = ..., price: _Optional[int] = ...) -> None: ...

class OracleVerdictChanged(_message.Message):
    __slots__ = ("market", "verdict", "fresh_sources", "mark")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    FRESH_SOURCES_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    market: str
    verdict: _state_pb2.Market.OracleVerdict
    fresh_sources: int
    mark: int
    def __init__(self, market: _Optional[str] = ..., verdict: _Optional[_Union[_state_pb2.Market.OracleVerdict, str]] = ..., fresh_sources: _Optional[int] = ..., mark: _Optional[int] = ...) -> None: ...

class BreakerTripped(_message.Message):
    __slots__ = ("market", "reason", "until_ms")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    market: str
    reason: str
    until_ms: int
    def __init__(self, market: _Optional[str] = ..., reason: _Optional[str] = ..., until_ms: _Optional[int] = ...) -> None: ...

class MarketStatusChanged(_message.Message):
    __slots__ = ("market", "status", "reason", "at_ms")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    market: str
    status: _state_pb2.Market.Status
    reason: str
    at_ms: int
    def __init__(self, market: _Optional[str] = ..., status: _Optional[_Union[_state_pb2.Market.Status, str]] = ..., reason: _Optional[str] = ..., at_ms: _Optional[int] = ...) -> None: ...

class GlobalModeChanged(_message.Message):
    __slots__ = ("mode", "reason")
    MODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    mode: _state_pb2.Guards.Mode
    reason: str
    def __init__(self, mode: _Optional[_Union[_state_pb2.Guards.Mode, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class CheckpointCertified(_message.Message):
    __slots__ = ("index", "state_hash", "epoch", "signers")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SIGNERS_FIELD_NUMBER: _ClassVar[int]
    index: int
    state_hash: bytes
    epoch: int
    signers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, index: _Optional[int] = ..., state_hash: _Optional[bytes] = ..., epoch: _Optional[int] = ..., signers: _Optional[_Iterable[str]] = ...) -> None: ...

class ActionTaken(_message.Message):
    __slots__ = ("kind", "nonce", "market", "outcome", "effective_at_ms")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    kind: _commands_pb2.ActionKind
    nonce: int
    market: str
    outcome: str
    effective_at_ms: int
    def __init__(self, kind: _Optional[_Union[_commands_pb2.ActionKind, str]] = ..., nonce: _Optional[int] = ..., market: _Optional[str] = ..., outcome: _Optional[str] = ..., effective_at_ms: _Optional[int] = ...) -> None: ...

class CheckpointDue(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class FundAuctionStarted(_message.Message):
    __slots__ = ("market", "size", "mark", "deadline_ms")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    market: str
    size: int
    mark: int
    deadline_ms: int
    def __init__(self, market: _Optional[str] = ..., size: _Optional[int] = ..., mark: _Optional[int] = ..., deadline_ms: _Optional[int] = ...) -> None: ...

class FundSliceSold(_message.Message):
    __slots__ = ("market", "backstop", "size", "price", "discount_bps")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    BACKSTOP_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_BPS_FIELD_NUMBER: _ClassVar[int]
    market: str
    backstop: str
    size: int
    price: int
    discount_bps: int
    def __init__(self, market: _Optional[str] = ..., backstop: _Optional[str] = ..., size: _Optional[int] = ..., price: _Optional[int] = ..., discount_bps: _Optional[int] = ...) -> None: ...

class FundDeadlineDeleveraged(_message.Message):
    __slots__ = ("market", "size", "price")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    market: str
    size: int
    price: int
    def __init__(self, market: _Optional[str] = ..., size: _Optional[int] = ..., price: _Optional[int] = ...) -> None: ...

class FundAuctionEnded(_message.Message):
    __slots__ = ("market",)
    MARKET_FIELD_NUMBER: _ClassVar[int]
    market: str
    def __init__(self, market: _Optional[str] = ...) -> None: ...

class FundingPaid(_message.Message):
    __slots__ = ("market", "rate", "mark", "intervals", "index", "at_ms")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    MARK_FIELD_NUMBER: _ClassVar[int]
    INTERVALS_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    market: str
    rate: int
    mark: int
    intervals: int
    index: str
    at_ms: int
    def __init__(self, market: _Optional[str] = ..., rate: _Optional[int] = ..., mark: _Optional[int] = ..., intervals: _Optional[int] = ..., index: _Optional[str] = ..., at_ms: _Optional[int] = ...) -> None: ...

class MarginCallEvent(_message.Message):
    __slots__ = ("account", "equity", "level", "at_ms")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    account: str
    equity: int
    level: int
    at_ms: int
    def __init__(self, account: _Optional[str] = ..., equity: _Optional[int] = ..., level: _Optional[int] = ..., at_ms: _Optional[int] = ...) -> None: ...

class MarginCallLifted(_message.Message):
    __slots__ = ("account", "equity", "initial", "at_ms")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    INITIAL_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    account: str
    equity: int
    initial: int
    at_ms: int
    def __init__(self, account: _Optional[str] = ..., equity: _Optional[int] = ..., initial: _Optional[int] = ..., at_ms: _Optional[int] = ...) -> None: ...

class BandChanged(_message.Message):
    __slots__ = ("market", "band_bps", "volatility_ppm", "at_ms")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    BAND_BPS_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_PPM_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    market: str
    band_bps: int
    volatility_ppm: int
    at_ms: int
    def __init__(self, market: _Optional[str] = ..., band_bps: _Optional[int] = ..., volatility_ppm: _Optional[int] = ..., at_ms: _Optional[int] = ...) -> None: ...

class SourceOutlier(_message.Message):
    __slots__ = ("market", "source", "price", "reference", "outlier_prints")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_PRINTS_FIELD_NUMBER: _ClassVar[int]
    market: str
    source: str
    price: int
    reference: int
    outlier_prints: int
    def __init__(self, market: _Optional[str] = ..., source: _Optional[str] = ..., price: _Optional[int] = ..., reference: _Optional[int] = ..., outlier_prints: _Optional[int] = ...) -> None: ...

class SourceClamped(_message.Message):
    __slots__ = ("market", "source", "price", "since_ms")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    market: str
    source: str
    price: int
    since_ms: int
    def __init__(self, market: _Optional[str] = ..., source: _Optional[str] = ..., price: _Optional[int] = ..., since_ms: _Optional[int] = ...) -> None: ...

class MarketSettled(_message.Message):
    __slots__ = ("market", "price", "method", "valid_ms", "window_ms", "at_ms")
    class Method(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        METHOD_UNSPECIFIED: _ClassVar[MarketSettled.Method]
        TWAP: _ClassVar[MarketSettled.Method]
        GUARDIAN: _ClassVar[MarketSettled.Method]
        PAYOFF: _ClassVar[MarketSettled.Method]
    METHOD_UNSPECIFIED: MarketSettled.Method
    TWAP: MarketSettled.Method
    GUARDIAN: MarketSettled.Method
    PAYOFF: MarketSettled.Method
    MARKET_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    VALID_MS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    market: str
    price: int
    method: MarketSettled.Method
    valid_ms: int
    window_ms: int
    at_ms: int
    def __init__(self, market: _Optional[str] = ..., price: _Optional[int] = ..., method: _Optional[_Union[MarketSettled.Method, str]] = ..., valid_ms: _Optional[int] = ..., window_ms: _Optional[int] = ..., at_ms: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("applied_index", "time_ms", "position", "liquidation", "breaker_tripped", "market_status_changed", "global_mode_changed", "checkpoint_certified", "deleveraged", "oracle_verdict_changed", "action_taken", "checkpoint_due", "fund_auction_started", "fund_slice_sold", "fund_deadline_deleveraged", "fund_auction_ended", "funding_paid", "margin_call", "margin_call_lifted", "band_changed", "source_outlier", "source_clamped", "market_settled")
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_FIELD_NUMBER: _ClassVar[int]
    BREAKER_TRIPPED_FIELD_NUMBER: _ClassVar[int]
    MARKET_STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    GLOBAL_MODE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_CERTIFIED_FIELD_NUMBER: _ClassVar[int]
    DELEVERAGED_FIELD_NUMBER: _ClassVar[int]
    ORACLE_VERDICT_CHANGED_FIELD_NUMBER: _ClassVar[int]
    ACTION_TAKEN_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_DUE_FIELD_NUMBER: _ClassVar[int]
    FUND_AUCTION_STARTED_FIELD_NUMBER: _ClassVar[int]
    FUND_SLICE_SOLD_FIELD_NUMBER: _ClassVar[int]
    FUND_DEADLINE_DELEVERAGED_FIELD_NUMBER: _ClassVar[int]
    FUND_AUCTION_ENDED_FIELD_NUMBER: _ClassVar[int]
    FUNDING_PAID_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_LIFTED_FIELD_NUMBER: _ClassVar[int]
    BAND_CHANGED_FIELD_NUMBER: _ClassVar[int]
    SOURCE_OUTLIER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CLAMPED_FIELD_NUMBER: _ClassVar[int]
    MARKET_SETTLED_FIELD_NUMBER: _ClassVar[int]
    applied_index: int
    time_ms: int
    position: int
    liquidation: Liquidation
    breaker_tripped: BreakerTripped
    market_status_changed: MarketStatusChanged
    global_mode_changed: GlobalModeChanged
    checkpoint_certified: CheckpointCertified
    deleveraged: Deleveraged
    oracle_verdict_changed: OracleVerdictChanged
    action_taken: ActionTaken
    checkpoint_due: CheckpointDue
    fund_auction_started: FundAuctionStarted
    fund_slice_sold: FundSliceSold
    fund_deadline_deleveraged: FundDeadlineDeleveraged
    fund_auction_ended: FundAuctionEnded
    funding_paid: FundingPaid
    margin_call: MarginCallEvent
    margin_call_lifted: MarginCallLifted
    band_changed: BandChanged
    source_outlier: SourceOutlier
    source_clamped: SourceClamped
    market_settled: MarketSettled
    def __init__(self, applied_index: _Optional[int] = ..., time_ms: _Optional[int] = ..., position: _Optional[int] = ..., liquidation: _Optional[_Union[Liquidation, _Mapping]] = ..., breaker_tripped: _Optional[_Union[BreakerTripped, _Mapping]] = ..., market_status_changed: _Optional[_Union[MarketStatusChanged, _Mapping]] = ..., global_mode_changed: _Optional[_Union[GlobalModeChanged, _Mapping]] = ..., checkpoint_certified: _Optional[_Union[CheckpointCertified, _Mapping]] = ..., deleveraged: _Optional[_Union[Deleveraged, _Mapping]] = ..., oracle_verdict_changed: _Optional[_Union[OracleVerdictChanged, _Mapping]] = ..., action_taken: _Optional[_Union[ActionTaken, _Mapping]] = ..., checkpoint_due: _Optional[_Union[CheckpointDue, _Mapping]] = ..., fund_auction_started: _Optional[_Union[FundAuctionStarted, _Mapping]] = ..., fund_slice_sold: _Optional[_Union[FundSliceSold, _Mapping]] = ..., fund_deadline_deleveraged: _Optional[_Union[FundDeadlineDeleveraged, _Mapping]] = ..., fund_auction_ended: _Optional[_Union[FundAuctionEnded, _Mapping]] = ..., funding_paid: _Optional[_Union[FundingPaid, _Mapping]] = ..., margin_call: _Optional[_Union[MarginCallEvent, _Mapping]] = ..., margin_call_lifted: _Optional[_Union[MarginCallLifted, _Mapping]] = ..., band_changed: _Optional[_Union[BandChanged, _Mapping]] = ..., source_outlier: _Optional[_Union[SourceOutlier, _Mapping]] = ..., source_clamped: _Optional[_Union[SourceClamped, _Mapping]] = ..., market_settled: _Optional[_Union[MarketSettled, _Mapping]] = ...) -> None: ...
