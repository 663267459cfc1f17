from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResultCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OK: _ClassVar[ResultCode]
    DUPLICATE: _ClassVar[ResultCode]
    INVALID_ID: _ClassVar[ResultCode]
    INVALID_ACCOUNT: _ClassVar[ResultCode]
    INVALID_MARKET: _ClassVar[ResultCode]
    INVALID_AMOUNT: _ClassVar[ResultCode]
    INVALID_PRICE: _ClassVar[ResultCode]
    INVALID_QUANTITY: _ClassVar[ResultCode]
    INVALID_FEE: _ClassVar[ResultCode]
    INVALID_MARKET_PARAMS: _ClassVar[ResultCode]
    MARKET_EXISTS: _ClassVar[ResultCode]
    UNKNOWN_MARKET: _ClassVar[ResultCode]
    UNKNOWN_ACCOUNT: _ClassVar[ResultCode]
    SELF_TRADE: _ClassVar[ResultCode]
    MARKET_NOT_ACTIVE: _ClassVar[ResultCode]
    MARKET_EXPIRED: _ClassVar[ResultCode]
    NO_MARK_PRICE: _ClassVar[ResultCode]
    INSUFFICIENT_COLLATERAL: _ClassVar[ResultCode]
    INSUFFICIENT_MARGIN: _ClassVar[ResultCode]
    OPEN_INTEREST_CAP: _ClassVar[ResultCode]
    ACCOUNT_NOT_ACTIVE: _ClassVar[ResultCode]
    STALE_PRICE: _ClassVar[ResultCode]
    INVALID_SOURCE: _ClassVar[ResultCode]
    INVALID_ACTION: _ClassVar[ResultCode]
    NO_SIGNER_SET: _ClassVar[ResultCode]
    INVALID_CHECKPOINT_VOTE: _ClassVar[ResultCode]
    LIMIT_EXCEEDED: _ClassVar[ResultCode]
    PRICE_OUTSIDE_BAND: _ClassVar[ResultCode]
    REDUCE_ONLY: _ClassVar[ResultCode]
    POSITION_CAP: _ClassVar[ResultCode]
    WITHDRAWALS_GATED: _ClassVar[ResultCode]
    WITHDRAWAL_LIMIT: _ClassVar[ResultCode]
    INVALID_SIGNATURE: _ClassVar[ResultCode]
    PRICE_CLAMPED: _ClassVar[ResultCode]
    UNKNOWN_SIGNER: _ClassVar[ResultCode]
    WRONG_ROLE: _ClassVar[ResultCode]
    BELOW_THRESHOLD: _ClassVar[ResultCode]
    NONCE_REUSED: _ClassVar[ResultCode]
    ACTION_EXPIRED: _ClassVar[ResultCode]
    STALE_EPOCH: _ClassVar[ResultCode]
    UNSIGNED_BATCH: _ClassVar[ResultCode]
    SEQUENCE_REPLAYED: _ClassVar[ResultCode]
    SEQUENCE_TOO_OLD: _ClassVar[ResultCode]
    BATCH_EXPIRED: _ClassVar[ResultCode]
    BATCH_SIGNED_AHEAD: _ClassVar[ResultCode]
    FUND_FILL_NOT_REDUCING: _ClassVar[ResultCode]
OK: ResultCode
DUPLICATE: ResultCode
INVALID_ID: ResultCode
INVALID_ACCOUNT: ResultCode
INVALID_MARKET: ResultCode
INVALID_AMOUNT: ResultCode
INVALID_PRICE: ResultCode
INVALID_QUANTITY: ResultCode
INVALID_FEE: ResultCode
INVALID_MARKET_PARAMS: ResultCode
MARKET_EXISTS: ResultCode
UNKNOWN_MARKET: ResultCode
UNKNOWN_ACCOUNT: ResultCode
SELF_TRADE: ResultCode
MARKET_NOT_ACTIVE: ResultCode
MARKET_EXPIRED: ResultCode
NO_MARK_PRICE: ResultCode
INSUFFICIENT_COLLATERAL: ResultCode
INSUFFICIENT_MARGIN: ResultCode
OPEN_INTEREST_CAP: ResultCode
ACCOUNT_NOT_ACTIVE: ResultCode
STALE_PRICE: ResultCode
INVALID_SOURCE: ResultCode
INVALID_ACTION: ResultCode
NO_SIGNER_SET: ResultCode
INVALID_CHECKPOINT_VOTE: ResultCode
LIMIT_EXCEEDED: ResultCode
PRICE_OUTSIDE_BAND: ResultCode
REDUCE_ONLY: ResultCode
POSITION_CAP: ResultCode
WITHDRAWALS_GATED: ResultCode
WITHDRAWAL_LIMIT: ResultCode
INVALID_SIGNATURE: ResultCode
PRICE_CLAMPED: ResultCode
UNKNOWN_SIGNER: ResultCode
WRONG_ROLE: ResultCode
BELOW_THRESHOLD: ResultCode
NONCE_REUSED: ResultCode
ACTION_EXPIRED: ResultCode
STALE_EPOCH: ResultCode
UNSIGNED_BATCH: ResultCode
SEQUENCE_REPLAYED: ResultCode
SEQUENCE_TOO_OLD: ResultCode
BATCH_EXPIRED: ResultCode
BATCH_SIGNED_AHEAD: ResultCode
FUND_FILL_NOT_REDUCING: ResultCode

class Result(_message.Message):
    __slots__ = ("id", "code", "message", "collateral", "counterparty_collateral", "original_code")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    COLLATERAL_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_COLLATERAL_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_CODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: ResultCode
    message: str
    collateral: int
    counterparty_collateral: int
    original_code: ResultCode
    def __init__(self, id: _Optional[str] = ..., code: _Optional[_Union[ResultCode, str]] = ..., message: _Optional[str] = ..., collateral: _Optional[int] = ..., counterparty_collateral: _Optional[int] = ..., original_code: _Optional[_Union[ResultCode, str]] = ...) -> None: ...
