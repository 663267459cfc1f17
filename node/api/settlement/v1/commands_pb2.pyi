from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MarketKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MARKET_KIND_UNSPECIFIED: _ClassVar[MarketKind]
    PERPETUAL: _ClassVar[MarketKind]
    FUTURE: _ClassVar[MarketKind]
    OPTION: _ClassVar[MarketKind]

class OptionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NONE: _ClassVar[OptionType]
    CALL: _ClassVar[OptionType]
    PUT: _ClassVar[OptionType]

class ActionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_KIND_UNSPECIFIED: _ClassVar[ActionKind]
    HALT_MARKET: _ClassVar[ActionKind]
    RESUME_MARKET: _ClassVar[ActionKind]
    GLOBAL_HALT: _ClassVar[ActionKind]
    GLOBAL_RESUME: _ClassVar[ActionKind]
    SET_MARKET_PARAMS: _ClassVar[ActionKind]
    EMERGENCY_SETTLE: _ClassVar[ActionKind]
    SET_SIGNERS: _ClassVar[ActionKind]
    REGISTER_BACKSTOP: _ClassVar[ActionKind]
    UNREGISTER_BACKSTOP: _ClassVar[ActionKind]
    WITHDRAW_FEES: _ClassVar[ActionKind]
    CANCEL_PENDING: _ClassVar[ActionKind]
    SET_POLICY_PARAMS: _ClassVar[ActionKind]
    CUSTODY_WITHDRAW: _ClassVar[ActionKind]

class MakerSide(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MAKER_SIDE_NONE: _ClassVar[MakerSide]
    BUYER: _ClassVar[MakerSide]
    SELLER: _ClassVar[MakerSide]
MARKET_KIND_UNSPECIFIED: MarketKind
PERPETUAL: MarketKind
FUTURE: MarketKind
OPTION: MarketKind
NONE: OptionType
CALL: OptionType
PUT: OptionType
ACTION_KIND_UNSPECIFIED: ActionKind
HALT_MARKET: ActionKind
RESUME_MARKET: ActionKind
GLOBAL_HALT: ActionKind
GLOBAL_RESUME: ActionKind
SET_MARKET_PARAMS: ActionKind
EMERGENCY_SETTLE: ActionKind
SET_SIGNERS: ActionKind
REGISTER_BACKSTOP: ActionKind
UNREGISTER_BACKSTOP: ActionKind
WITHDRAW_FEES: ActionKind
CANCEL_PENDING: ActionKind
SET_POLICY_PARAMS: ActionKind
CUSTODY_WITHDRAW: ActionKind
MAKER_SIDE_NONE: MakerSide
BUYER: MakerSide
SELLER: MakerSide

class CreateMarket(_message.Message):
    __slots__ = ("market", "kind", "tick_size", "lot_size", "initial_margin_bps", "maintenance_margin_bps", "liquidation_fee_bps", "open_interest_cap", "trade_band_bps", "band_bps", "band_window_ms", "cooldown_ms", "expiry_ms", "strike_price", "option_type", "open_interest_soft_cap", "position_cap", "cascade_window_ms", "cascade_bps", "sources", "min_sources", "stale_after_ms", "volatility_bps", "twap_window_ms", "liquidation_slice_bps", "liquidation_window_ms", "liquidation_cap_notional", "fund_position_cap", "unwind_start_bps", "unwind_slope_bps_per_minute", "unwind_discount_max_bps", "unwind_slice_contracts", "unwind_window_ms", "unwind_deadline_ms", "maker_fee_bps", "taker_fee_bps", "fee_fund_share_bps", "funding_interval_ms", "funding_rate_cap_bps", "margin_call_bps", "volatility_half_life_ms", "band_volatility_pct", "band_floor_bps", "band_ceiling_bps", "initial_margin_ceiling_bps", "outlier_bps", "clamp_after_ms", "settlement_window_ms", "underlying")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TICK_SIZE_FIELD_NUMBER: _ClassVar[int]
    LOT_SIZE_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_BPS_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_BPS_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_FEE_BPS_FIELD_NUMBER: _ClassVar[int]
    OPEN_INTEREST_CAP_FIELD_NUMBER: _ClassVar[int]
    TRADE_BAND_BPS_FIELD_NUMBER: _ClassVar[int]
    BAND_BPS_FIELD_NUMBER: _ClassVar[int]
    BAND_WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MS_FIELD_NUMBER: _ClassVar[int]
    STRIKE_PRICE_FIELD_NUMBER: _ClassVar[int]
    OPTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    OPEN_INTEREST_SOFT_CAP_FIELD_NUMBER: _ClassVar[int]
    POSITION_CAP_FIELD_NUMBER: _ClassVar[int]
    CASCADE_WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    CASCADE_BPS_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    MIN_SOURCES_FIELD_NUMBER: _ClassVar[int]
    STALE_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_BPS_FIELD_NUMBER: _ClassVar[int]
    TWAP_WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_SLICE_BPS_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_CAP_NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    FUND_POSITION_CAP_FIELD_NUMBER: _ClassVar[int]
    UNWIND_START_BPS_FIELD_NUMBER: _ClassVar[int]
    UNWIND_SLOPE_BPS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    UNWIND_DISCOUNT_MAX_BPS_FIELD_NUMBER: _ClassVar[int]
    UNWIND_SLICE_CONTRACTS_FIELD_NUMBER: _ClassVar[int]
    UNWIND_WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    UNWIND_DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    MAKER_FEE_BPS_FIELD_NUMBER: _ClassVar[int]
    TAKER_FEE_BPS_FIELD_NUMBER: _ClassVar[int]
    FEE_FUND_SHARE_BPS_FIELD_NUMBER: _ClassVar[int]
    FUNDING_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    FUNDING_RATE_CAP_BPS_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_BPS_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_HALF_LIFE_MS_FIELD_NUMBER: _ClassVar[int]
    BAND_VOLATILITY_PCT_FIELD_NUMBER: _ClassVar[int]
    BAND_FLOOR_BPS_FIELD_NUMBER: _ClassVar[int]
    BAND_CEILING_BPS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_CEILING_BPS_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_BPS_FIELD_NUMBER: _ClassVar[int]
    CLAMP_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    UNDERLYING_FIELD_NUMBER: _ClassVar[int]
    market: str
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
    open_interest_soft_cap: int
    position_cap: int
    cascade_window_ms: int
    cascade_bps: int
    sources: _containers.RepeatedCompositeFieldContainer[OracleSource]
    min_sources: int
    stale_after_ms: int
    volatility_bps: int
    twap_window_ms: int
    liquidation_slice_bps: int
    liquidation_window_ms: int
    liquidation_cap_notional: int
    fund_position_cap: int
    unwind_start_bps: int
    unwind_slope_bps_per_minute: int
    unwind_discount_max_bps: int
    unwind_slice_contracts: int
    unwind_window_ms: int
    unwind_deadline_ms: int
    maker_fee_bps: int
    taker_fee_bps: int
    fee_fund_share_bps: int
    funding_interval_ms: int
    funding_rate_cap_bps: int
    margin_call_bps: int
    volatility_half_life_ms: int
    band_volatility_pct: int
    band_floor_bps: int
    band_ceiling_bps: int
    initial_margin_ceiling_bps: int
    outlier_bps: int
    clamp_after_ms: int
    settlement_window_ms: int
    underlying: str
    def __init__(self, market: _Optional[str] = ..., kind: _Optional[_Union[MarketKind, str]] = ..., tick_size: _Optional[int] = ..., lot_size: _Optional[int] = ..., initial_margin_bps: _Optional[int] = ..., maintenance_margin_bps: _Optional[int] = ..., liquidation_fee_bps: _Optional[int] = ..., open_interest_cap: _Optional[int] = ..., trade_band_bps: _Optional[int] = ..., band_bps: _Optional[int] = ..., band_window_ms: _Optional[int] = ..., cooldown_ms: _Optional[int] = ..., expiry_ms: _Optional[int] = ..., strike_price: _Optional[int] = ..., option_type: _Optional[_Union[OptionType, str]] = ..., open_interest_soft_cap: _Optional[int] = ..., position_cap: _Optional[int] = ..., cascade_window_ms: _Optional[int] = ..., cascade_bps: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[OracleSource, _Mapping]]] = ..., min_sources: _Optional[int] = ..., stale_after_ms: _Optional[int] = ..., volatility_bps: _Optional[int] = ..., twap_window_ms: _Optional[int] = ..., liquidation_slice_bps: _Optional[int] = ..., liquidation_window_ms: _Optional[int] = ..., liquidation_cap_notional: _Optional[int] = ..., fund_position_cap: _Optional[int] = ..., unwind_start_bps: _Optional[int] = ..., unwind_slope_bps_per_minute: _Optional[int] = ..., unwind_discount_max_bps: _Optional[int] = ..., unwind_slice_contracts: _Optional[int] = ..., unwind_window_ms: _Optional[int] = ..., unwind_deadline_ms: _Optional[int] = ..., maker_fee_bps: _Optional[int] = ..., taker_fee_bps: _Optional[int] = ..., fee_fund_share_bps: _Optional[int] = ..., funding_interval_ms: _Optional[int] = ..., funding_rate_cap_bps: _Optional[int] = ..., margin_call_bps: _Optional[int] = ..., volatility_half_life_ms: _Optional[int] = ..., band_volatility_pct: _Optional[int] = ..., band_floor_bps: _Optional[int] = ..., band_ceiling_bps: _Optional[int] = ..., initial_margin_ceiling_bps: _Optional[int] = ..., outlier_bps: _Optional[int] = ..., clamp_after_ms: _Optional[int] = ..., settlement_window_ms: _Optional[int] = ..., underlying: _Optional[str] = ...) -> None: ...

class OracleSource(_message.Message):
    __slots__ = ("source", "public_key")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    source: str
    public_key: bytes
    def __init__(self, source: _Optional[str] = ..., public_key: _Optional[bytes] = ...) -> None: ...

class Deposit(_message.Message):
    __slots__ = ("account", "amount")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    amount: int
    def __init__(self, account: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class Withdraw(_message.Message):
    __slots__ = ("account", "amount")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    account: str
    amount: int
    def __init__(self, account: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class SettleTrade(_message.Message):
    __slots__ = ("market", "buyer", "seller", "price", "quantity", "buyer_fee", "seller_fee", "maker_side")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    BUYER_FIELD_NUMBER: _ClassVar[int]
    SELLER_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    BUYER_FEE_FIELD_NUMBER: _ClassVar[int]
    SELLER_FEE_FIELD_NUMBER: _ClassVar[int]
    MAKER_SIDE_FIELD_NUMBER: _ClassVar[int]
    market: str
    buyer: str
    seller: str
    price: int
    quantity: int
    buyer_fee: int
    seller_fee: int
    maker_side: MakerSide
    def __init__(self, market: _Optional[str] = ..., buyer: _Optional[str] = ..., seller: _Optional[str] = ..., price: _Optional[int] = ..., quantity: _Optional[int] = ..., buyer_fee: _Optional[int] = ..., seller_fee: _Optional[int] = ..., maker_side: _Optional[_Union[MakerSide, str]] = ...) -> None: ...

class PriceUpdate(_message.Message):
    __slots__ = ("market", "source", "price", "source_time_ms", "signature")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    market: str
    source: str
    price: int
    source_time_ms: int
    signature: bytes
    def __init__(self, market: _Optional[str] = ..., source: _Optional[str] = ..., price: _Optional[int] = ..., source_time_ms: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("key_id", "signature")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    signature: bytes
    def __init__(self, key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class EmergencyAction(_message.Message):
    __slots__ = ("kind", "canonical_bytes", "nonce", "not_after_ms", "signatures", "market", "price")
    KIND_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    kind: ActionKind
    canonical_bytes: bytes
    nonce: int
    not_after_ms: int
    signatures: _containers.RepeatedCompositeFieldContainer[Signature]
    market: str
    price: int
    def __init__(self, kind: _Optional[_Union[ActionKind, str]] = ..., canonical_bytes: _Optional[bytes] = ..., nonce: _Optional[int] = ..., not_after_ms: _Optional[int] = ..., signatures: _Optional[_Iterable[_Union[Signature, _Mapping]]] = ..., market: _Optional[str] = ..., price: _Optional[int] = ...) -> None: ...

class CheckpointVote(_message.Message):
    __slots__ = ("node", "index", "state_hash", "signature")
    NODE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    node: str
    index: int
    state_hash: bytes
    signature: bytes
    def __init__(self, node: _Optional[str] = ..., index: _Optional[int] = ..., state_hash: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ("id", "create_market", "deposit", "withdraw", "settle_trade", "price_update", "emergency_action", "checkpoint_vote")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_MARKET_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAW_FIELD_NUMBER: _ClassVar[int]
    SETTLE_TRADE_FIELD_NUMBER: _ClassVar[int]
    PRICE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_ACTION_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_VOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    create_market: CreateMarket
    deposit: Deposit
    withdraw: Withdraw
    settle_trade: SettleTrade
    price_update: PriceUpdate
    emergency_action: EmergencyAction
    checkpoint_vote: CheckpointVote
    def __init__(self, id: _Optional[str] = ..., create_market: _Optional[_Union[CreateMarket, _Mapping]] = ..., deposit: _Optional[_Union[Deposit, _Mapping]] = ..., withdraw: _Optional[_Union[Withdraw, _Mapping]] = ..., settle_trade: _Optional[_Union[SettleTrade, _Mapping]] = ..., price_update: _Optional[_Union[PriceUpdate, _Mapping]] = ..., emergency_action: _Optional[_Union[EmergencyAction, _Mapping]] = ..., checkpoint_vote: _Optional[_Union[CheckpointVote, _Mapping]] = ...) -> None: ...
