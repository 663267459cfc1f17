from node.api.settlement.v1 import commands_pb2 as _commands_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Position(_message.Message):
    __slots__ = ("market", "size", "cost_basis", "realized_pnl", "funding_index", "funding_index_exact", "funding_owed")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    COST_BASIS_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    FUNDING_INDEX_FIELD_NUMBER: _ClassVar[int]
    FUNDING_INDEX_EXACT_FIELD_NUMBER: _ClassVar[int]
    FUNDING_OWED_FIELD_NUMBER: _ClassVar[int]
    market: str
    size: int
    cost_basis: int
    realized_pnl: int
    funding_index: int
    funding_index_exact: str
    funding_owed: int
    def __init__(self, market: _Optional[str] = ..., size: _Optional[int] = ..., cost_basis: _Optional[int] = ..., realized_pnl: _Optional[int] = ..., funding_index: _Optional[int] = ..., funding_index_exact: _Optional[str] = ..., funding_owed: _Optional[int] = ...) -> None: ...

class MarginCall(_message.Message):
    __slots__ = ("since_ms", "equity", "level")
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    since_ms: int
    equity: int
    level: int
    def __init__(self, since_ms: _Optional[int] = ..., equity: _Optional[int] = ..., level: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("id", "collateral", "status", "positions", "applied_index", "margin_call", "option_risk")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[Account.Status]
        ACTIVE: _ClassVar[Account.Status]
        LIQUIDATING: _ClassVar[Account.Status]
        BANKRUPT: _ClassVar[Account.Status]
        FROZEN: _ClassVar[Account.Status]
    STATUS_UNSPECIFIED: Account.Status
    ACTIVE: Account.Status
    LIQUIDATING: Account.Status
    BANKRUPT: Account.Status
    FROZEN: Account.Status
    ID_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    MARGIN_CALL_FIELD_NUMBER: _ClassVar[int]
    OPTION_RISK_FIELD_NUMBER: _ClassVar[int]
    id: str
    collateral: int
    status: Account.Status
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    applied_index: int
    margin_call: MarginCall
    option_risk: _containers.RepeatedCompositeFieldContainer[OptionRisk]
    def __init__(self, id: _Optional[str] = ..., collateral: _Optional[int] = ..., status: _Optional[_Union[Account.Status, str]] = ..., positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ..., applied_index: _Optional[int] = ..., margin_call: _Optional[_Union[MarginCall, _Mapping]] = ..., option_risk: _Optional[_Iterable[_Union[OptionRisk, _Mapping]]] = ...) -> None: ...

class Breaker(_message.Message):
    __slots__ = ("market", "tripped_at_ms", "until_ms", "reason")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    TRIPPED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    market: str
    tripped_at_ms: int
    until_ms: int
    reason: str
    def __init__(self, market: _Optional[str] = ..., tripped_at_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Market(_message.Message):
    __slots__ = ("params", "status", "status_reason", "mark_price", "mark_time_ms", "open_interest", "breaker", "applied_index", "status_since_ms", "oracle_verdict", "fresh_until_ms", "twap", "twap_time_ms", "fund", "sources", "liquidated_in_window", "liquidation_window_start_ms", "funding_rate", "next_funding_ms", "funding_index", "funding_premium", "funding_pool", "volatility_ppm", "volatility_time_ms", "effective_band_bps", "effective_initial_margin_bps", "settlement_valid_ms", "settlement_running_twap", "settlement_valid_ms_needed", "settlement_counting_price", "settlement_price", "mark_volatility_ppm", "greeks", "premium_time_ms")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[Market.Status]
        ACTIVE: _ClassVar[Market.Status]
        REDUCE_ONLY: _ClassVar[Market.Status]
        HALTED: _ClassVar[Market.Status]
        SETTLED: _ClassVar[Market.Status]
        SETTLING: _ClassVar[Market.Status]
    STATUS_UNSPECIFIED: Market.Status
    ACTIVE: Market.Status
    REDUCE_ONLY: Market.Status
    HALTED: Market.Status
    SETTLED: Market.Status
    SETTLING: Market.Status
    class OracleVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ORACLE_VERDICT_UNSPECIFIED: _ClassVar[Market.OracleVerdict]
        VALID: _ClassVar[Market.OracleVerdict]
        STALE: _ClassVar[Market.OracleVerdict]
        TOO_VOLATILE: _ClassVar[Market.OracleVerdict]
        INVALID: _ClassVar[Market.OracleVerdict]
    ORACLE_VERDICT_UNSPECIFIED: Market.OracleVerdict
    VALID: Market.OracleVerdict
    STALE: Market.OracleVerdict
    TOO_VOLATILE: Market.OracleVerdict
    INVALID: Market.OracleVerdict
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    MARK_PRICE_FIELD_NUMBER: _ClassVar[int]
    MARK_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    OPEN_INTEREST_FIELD_NUMBER: _ClassVar[int]
    BREAKER_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATUS_SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    ORACLE_VERDICT_FIELD_NUMBER: _ClassVar[int]
    FRESH_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    TWAP_FIELD_NUMBER: _ClassVar[int]
    TWAP_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    FUND_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATED_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_WINDOW_START_MS_FIELD_NUMBER: _ClassVar[int]
    FUNDING_RATE_FIELD_NUMBER: _ClassVar[int]
    NEXT_FUNDING_MS_FIELD_NUMBER: _ClassVar[int]
    FUNDING_INDEX_FIELD_NUMBER: _ClassVar[int]
    FUNDING_PREMIUM_FIELD_NUMBER: _ClassVar[int]
    FUNDING_POOL_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_PPM_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_BAND_BPS_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_INITIAL_MARGIN_BPS_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_VALID_MS_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_RUNNING_TWAP_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_VALID_MS_NEEDED_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_COUNTING_PRICE_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    MARK_VOLATILITY_PPM_FIELD_NUMBER: _ClassVar[int]
    GREEKS_FIELD_NUMBER: _ClassVar[int]
    PREMIUM_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    params: _commands_pb2.CreateMarket
    status: Market.Status
    status_reason: str
    mark_price: int
    mark_time_ms: int
    open_interest: int
    breaker: Breaker
    applied_index: int
    status_since_ms: int
    oracle_verdict: Market.OracleVerdict
    fresh_until_ms: int
    twap: int
    twap_time_ms: int
    fund: int
    sources: _containers.RepeatedCompositeFieldContainer[SourcePrice]
    liquidated_in_window: int
    liquidation_window_start_ms: int
    funding_rate: int
    next_funding_ms: int
    funding_index: str
    funding_premium: int
    funding_pool: int
    volatility_ppm: int
    volatility_time_ms: int
    effective_band_bps: int
    effective_initial_margin_bps: int
    settlement_valid_ms: int
    settlement_running_twap: int
    settlement_valid_ms_needed: int
    settlement_counting_price: int
    settlement_price: int
    mark_volatility_ppm: int
    greeks: OptionGreeks
    premium_time_ms: int
    def __init__(self, params: _Optional[_Union[_commands_pb2.CreateMarket, _Mapping]] = ..., status: _Optional[_Union[Market.Status, str]] = ..., status_reason: _Optional[str] = ..., mark_price: _Optional[int] = ..., mark_time_ms: _Optional[int] = ..., open_interest: _Optional[int] = ..., breaker: _Optional[_Union[Breaker, _Mapping]] = ..., applied_index: _Optional[int] = ..., status_since_ms: _Optional[int] = ..., oracle_verdict: _Optional[_Union[Market.OracleVerdict, str]] = ..., fresh_until_ms: _Optional[int] = ..., twap: _Optional[int] = ..., twap_time_ms: _Optional[int] = ..., fund: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[SourcePrice, _Mapping]]] = ..., liquidated_in_window: _Optional[int] = ..., liquidation_window_start_ms: _Optional[int] = ..., funding_rate: _Optional[int] = ..., next_funding_ms: _Optional[int] = ..., funding_index: _Optional[str] = ..., funding_premium: _Optional[int] = ..., funding_pool: _Optional[int] = ..., volatility_ppm: _Optional[int] = ..., volatility_time_ms: _Optional[int] = ..., effective_band_bps: _Optional[int] = ..., effective_initial_margin_bps: _Optional[int] = ..., settlement_valid_ms: _Optional[int] = ..., settlement_running_twap: _Optional[int] = ..., settlement_valid_ms_needed: _Optional[int] = ..., settlement_counting_price: _Optional[int] = ..., settlement_price: _Optional[int] = ..., mark_volatility_ppm: _Optional[int] = ..., greeks: _Optional[_Union[OptionGreeks, _Mapping]] = ..., premium_time_ms: _Optional[int] = ...) -> None: ...

class OptionGreeks(_message.Message):
    __slots__ = ("delta", "gamma", "vega")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    GAMMA_FIELD_NUMBER: _ClassVar[int]
    VEGA_FIELD_NUMBER: _ClassVar[int]
    delta: int
    gamma: int
    vega: int
    def __init__(self, delta: _Optional[int] = ..., gamma: _Optional[int] = ..., vega: _Optional[int] = ...) -> None: ...

class OptionRisk(_message.Message):
    __slots__ = ("underlying", "greeks", "initial_margin", "maintenance_margin", "worst_scenario", "worst_loss", "short_option_minimum", "net_option_value")
    UNDERLYING_FIELD_NUMBER: _ClassVar[int]
    GREEKS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    WORST_SCENARIO_FIELD_NUMBER: _ClassVar[int]
    WORST_LOSS_FIELD_NUMBER: _ClassVar[int]
    SHORT_OPTION_MINIMUM_FIELD_NUMBER: _ClassVar[int]
    NET_OPTION_VALUE_FIELD_NUMBER: _ClassVar[int]
    underlying: str
    greeks: OptionGreeks
    initial_margin: int
    maintenance_margin: int
    worst_scenario: str
    worst_loss: int
    short_option_minimum: int
    net_option_value: int
    def __init__(self, underlying: _Optional[str] = ..., greeks: _Optional[_Union[OptionGreeks, _Mapping]] = ..., initial_margin: _Optional[int] = ..., maintenance_margin: _Optional[int] = ..., worst_scenario: _Optional[str] = ..., worst_loss: _Optional[int] = ..., short_option_minimum: _Optional[int] = ..., net_option_value: _Optional[int] = ...) -> None: ...

class SourcePrice(_message.Message):
    __slots__ = ("source", "price", "source_time_ms", "price_since_ms", "counted", "exclusion", "outlier_prints")
    class Exclusion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        EXCLUSION_NONE: _ClassVar[SourcePrice.Exclusion]
        OUTLIER: _ClassVar[SourcePrice.Exclusion]
        CLAMPED: _ClassVar[SourcePrice.Exclusion]
    EXCLUSION_NONE: SourcePrice.Exclusion
    OUTLIER: SourcePrice.Exclusion
    CLAMPED: SourcePrice.Exclusion
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    PRICE_SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    EXCLUSION_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_PRINTS_FIELD_NUMBER: _ClassVar[int]
    source: str
    price: int
    source_time_ms: int
    price_since_ms: int
    counted: bool
    exclusion: SourcePrice.Exclusion
    outlier_prints: int
    def __init__(self, source: _Optional[str] = ..., price: _Optional[int] = ..., source_time_ms: _Optional[int] = ..., price_since_ms: _Optional[int] = ..., counted: _Optional[bool] = ..., exclusion: _Optional[_Union[SourcePrice.Exclusion, str]] = ..., outlier_prints: _Optional[int] = ...) -> None: ...

class Guards(_message.Message):
    __slots__ = ("mode", "insurance_fund", "breakers", "applied_index", "mode_reason", "signer_set", "checkpoint_epoch", "pending_changes", "ledger_time_ms", "funds", "funds_equity", "insurance_fund_floor", "fee_account", "fees_withdrawn", "policy_parameters")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[Guards.Mode]
        NORMAL: _ClassVar[Guards.Mode]
        REDUCE_ONLY: _ClassVar[Guards.Mode]
        HALTED: _ClassVar[Guards.Mode]
    MODE_UNSPECIFIED: Guards.Mode
    NORMAL: Guards.Mode
    REDUCE_ONLY: Guards.Mode
    HALTED: Guards.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    INSURANCE_FUND_FIELD_NUMBER: _ClassVar[int]
    BREAKERS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    MODE_REASON_FIELD_NUMBER: _ClassVar[int]
    SIGNER_SET_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EPOCH_FIELD_NUMBER: _ClassVar[int]
    PENDING_CHANGES_FIELD_NUMBER: _ClassVar[int]
    LEDGER_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    FUNDS_FIELD_NUMBER: _ClassVar[int]
    FUNDS_EQUITY_FIELD_NUMBER: _ClassVar[int]
    INSURANCE_FUND_FLOOR_FIELD_NUMBER: _ClassVar[int]
    FEE_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    FEES_WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    POLICY_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    mode: Guards.Mode
    insurance_fund: int
    breakers: _containers.RepeatedCompositeFieldContainer[Breaker]
    applied_index: int
    mode_reason: str
    signer_set: SignerSet
    checkpoint_epoch: int
    pending_changes: _containers.RepeatedCompositeFieldContainer[PendingChange]
    ledger_time_ms: int
    funds: _containers.RepeatedCompositeFieldContainer[Fund]
    funds_equity: int
    insurance_fund_floor: int
    fee_account: int
    fees_withdrawn: int
    policy_parameters: _containers.RepeatedCompositeFieldContainer[PolicyParameter]
    def __init__(self, mode: _Optional[_Union[Guards.Mode, str]] = ..., insurance_fund: _Optional[int] = ..., breakers: _Optional[_Iterable[_Union[Breaker, _Mapping]]] = ..., applied_index: _Optional[int] = ..., mode_reason: _Optional[str] = ..., signer_set: _Optional[_Union[SignerSet, _Mapping]] = ..., checkpoint_epoch: _Optional[int] = ..., pending_changes: _Optional[_Iterable[_Union[PendingChange, _Mapping]]] = ..., ledger_time_ms: _Optional[int] = ..., funds: _Optional[_Iterable[_Union[Fund, _Mapping]]] = ..., funds_equity: _Optional[int] = ..., insurance_fund_floor: _Optional[int] = ..., fee_account: _Optional[int] = ..., fees_withdrawn: _Optional[int] = ..., policy_parameters: _Optional[_Iterable[_Union[PolicyParameter, _Mapping]]] = ...) -> None: ...

class PolicyParameter(_message.Message):
    __slots__ = ("name", "value", "default_value", "safer_when_higher")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    SAFER_WHEN_HIGHER_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: int
    default_value: int
    safer_when_higher: bool
    def __init__(self, name: _Optional[str] = ..., value: _Optional[int] = ..., default_value: _Optional[int] = ..., safer_when_higher: _Optional[bool] = ...) -> None: ...

class Fund(_message.Message):
    __slots__ = ("account", "market", "cash", "equity", "positions", "auction_started_ms", "auction_deadline_ms", "auction_discount_bps", "backstops")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    CASH_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    AUCTION_STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    AUCTION_DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    AUCTION_DISCOUNT_BPS_FIELD_NUMBER: _ClassVar[int]
    BACKSTOPS_FIELD_NUMBER: _ClassVar[int]
    account: str
    market: str
    cash: int
    equity: int
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    auction_started_ms: int
    auction_deadline_ms: int
    auction_discount_bps: int
    backstops: _containers.RepeatedCompositeFieldContainer[Backstop]
    def __init__(self, account: _Optional[str] = ..., market: _Optional[str] = ..., cash: _Optional[int] = ..., equity: _Optional[int] = ..., positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ..., auction_started_ms: _Optional[int] = ..., auction_deadline_ms: _Optional[int] = ..., auction_discount_bps: _Optional[int] = ..., backstops: _Optional[_Iterable[_Union[Backstop, _Mapping]]] = ...) -> None: ...

class Backstop(_message.Message):
    __slots__ = ("account", "discount_bps", "position_max")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_BPS_FIELD_NUMBER: _ClassVar[int]
    POSITION_MAX_FIELD_NUMBER: _ClassVar[int]
    account: str
    discount_bps: int
    position_max: int
    def __init__(self, account: _Optional[str] = ..., discount_bps: _Optional[int] = ..., position_max: _Optional[int] = ...) -> None: ...

class Signer(_message.Message):
    __slots__ = ("key_id", "role", "public_key", "accounts")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    role: str
    public_key: bytes
    accounts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key_id: _Optional[str] = ..., role: _Optional[str] = ..., public_key: _Optional[bytes] = ..., accounts: _Optional[_Iterable[str]] = ...) -> None: ...

class SignerSet(_message.Message):
    __slots__ = ("cluster", "signers", "halt_threshold", "resume_threshold", "checkpoint_threshold", "timelock_ms", "checkpoint_every_entries", "checkpoint_every_ms", "clock_lead_max_ms", "dedup_retention_ms")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SIGNERS_FIELD_NUMBER: _ClassVar[int]
    HALT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    RESUME_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TIMELOCK_MS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_EVERY_MS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_LEAD_MAX_MS_FIELD_NUMBER: _ClassVar[int]
    DEDUP_RETENTION_MS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    signers: _containers.RepeatedCompositeFieldContainer[Signer]
    halt_threshold: int
    resume_threshold: int
    checkpoint_threshold: int
    timelock_ms: int
    checkpoint_every_entries: int
    checkpoint_every_ms: int
    clock_lead_max_ms: int
    dedup_retention_ms: int
    def __init__(self, cluster: _Optional[str] = ..., signers: _Optional[_Iterable[_Union[Signer, _Mapping]]] = ..., halt_threshold: _Optional[int] = ..., resume_threshold: _Optional[int] = ..., checkpoint_threshold: _Optional[int] = ..., timelock_ms: _Optional[int] = ..., checkpoint_every_entries: _Optional[int] = ..., checkpoint_every_ms: _Optional[int] = ..., clock_lead_max_ms: _Optional[int] = ..., dedup_retention_ms: _Optional[int] = ...) -> None: ...

class PendingChange(_message.Message):
    __slots__ = ("nonce", "kind", "market", "effective_at_ms", "canonical_bytes")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CANONICAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    kind: str
    market: str
    effective_at_ms: int
    canonical_bytes: bytes
    def __init__(self, nonce: _Optional[int] = ..., kind: _Optional[str] = ..., market: _Optional[str] = ..., effective_at_ms: _Optional[int] = ..., canonical_bytes: _Optional[bytes] = ...) -> None: ...

class CheckpointSignature(_message.Message):
    __slots__ = ("node", "signature")
    NODE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    node: str
    signature: bytes
    def __init__(self, node: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("index", "state_hash", "signatures", "epoch", "applied_index")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    state_hash: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[CheckpointSignature]
    epoch: int
    applied_index: int
    def __init__(self, index: _Optional[int] = ..., state_hash: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[CheckpointSignature, _Mapping]]] = ..., epoch: _Optional[int] = ..., applied_index: _Optional[int] = ...) -> None: ...

class CheckpointDumpChunk(_message.Message):
    __slots__ = ("index", "data")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    data: bytes
    def __init__(self, index: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...
