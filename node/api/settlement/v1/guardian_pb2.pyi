from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CoSignRequest(_message.Message):
    __slots__ = ("canonical_bytes",)
    CANONICAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    canonical_bytes: bytes
    def __init__(self, canonical_bytes: _Optional[bytes] = ...) -> None: ...

class CoSignReply(_message.Message):
    __slots__ = ("key_id", "signature", "reason")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    signature: bytes
    reason: str
    def __init__(self, key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., reason: _Optional[str] = ...) -> None: ...
