from node.api.settlement.v1 import commands_pb2 as _commands_pb2
from node.api.settlement.v1 import events_pb2 as _events_pb2
from node.api.settlement.v1 import results_pb2 as _results_pb2
from node.api.settlement.v1 import state_pb2 as _state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Consistency(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSISTENCY_UNSPECIFIED: _ClassVar[Consistency]
    LINEARIZABLE: _ClassVar[Consistency]
    LOCAL: _ClassVar[Consistency]
CONSISTENCY_UNSPECIFIED: Consistency
LINEARIZABLE: Consistency
LOCAL: Consistency

class SubmitRequest(_message.Message):
    __slots__ = ("commands", "key_id", "sequence", "signature", "signed_at_ms")
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedCompositeFieldContainer[_commands_pb2.Command]
    key_id: str
    sequence: int
    signature: bytes
    signed_at_ms: int
    def __init__(self, commands: _Optional[_Iterable[_Union[_commands_pb2.Command, _Mapping]]] = ..., key_id: _Optional[str] = ..., sequence: _Optional[int] = ..., signature: _Optional[bytes] = ..., signed_at_ms: _Optional[int] = ...) -> None: ...

class SubmitResponse(_message.Message):
    __slots__ = ("results", "applied_index")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[_results_pb2.Result]
    applied_index: int
    def __init__(self, results: _Optional[_Iterable[_Union[_results_pb2.Result, _Mapping]]] = ..., applied_index: _Optional[int] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account", "consistency")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    account: str
    consistency: Consistency
    def __init__(self, account: _Optional[str] = ..., consistency: _Optional[_Union[Consistency, str]] = ...) -> None: ...

class GetMarketRequest(_message.Message):
    __slots__ = ("market", "consistency")
    MARKET_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    market: str
    consistency: Consistency
    def __init__(self, market: _Optional[str] = ..., consistency: _Optional[_Union[Consistency, str]] = ...) -> None: ...

class GetGuardsRequest(_message.Message):
    __slots__ = ("consistency",)
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    consistency: Consistency
    def __init__(self, consistency: _Optional[_Union[Consistency, str]] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class GetCheckpointDumpRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("from_index", "kinds")
    FROM_INDEX_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    from_index: int
    kinds: _containers.RepeatedScalarFieldContainer[_events_pb2.EventKind]
    def __init__(self, from_index: _Optional[int] = ..., kinds: _Optional[_Iterable[_Union[_events_pb2.EventKind, str]]] = ...) -> None: ...
