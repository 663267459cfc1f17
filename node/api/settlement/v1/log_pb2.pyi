from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmittedBatch(_message.Message):
    __slots__ = ("commands", "key_id", "sequence", "signature", "signed_at_ms")
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    commands: _containers.RepeatedScalarFieldContainer[bytes]
    key_id: str
    sequence: int
    signature: bytes
    signed_at_ms: int
    def __init__(self, commands: _Optional[_Iterable[bytes]] = ..., key_id: _Optional[str] = ..., sequence: _Optional[int] = ..., signature: _Optional[bytes] = ..., signed_at_ms: _Optional[int] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("version", "timestamp_ms", "batches")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    version: int
    timestamp_ms: int
    batches: _containers.RepeatedCompositeFieldContainer[SubmittedBatch]
    def __init__(self, version: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., batches: _Optional[_Iterable[_Union[SubmittedBatch, _Mapping]]] = ...) -> None: ...
