from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Peer(_message.Message):
    __slots__ = ("node_id", "address", "connected", "match_index")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    MATCH_INDEX_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    address: str
    connected: bool
    match_index: int
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ..., connected: _Optional[bool] = ..., match_index: _Optional[int] = ...) -> None: ...

class ClusterStatus(_message.Message):
    __slots__ = ("node_id", "role", "leader", "term", "commit_index", "applied_index", "state_hash", "peers", "ready", "diverged", "diverged_reason", "verified_checkpoint_index", "signer_set_problem", "diverged_copies")
    class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ROLE_UNSPECIFIED: _ClassVar[ClusterStatus.Role]
        LEADER: _ClassVar[ClusterStatus.Role]
        FOLLOWER: _ClassVar[ClusterStatus.Role]
        CANDIDATE: _ClassVar[ClusterStatus.Role]
    ROLE_UNSPECIFIED: ClusterStatus.Role
    LEADER: ClusterStatus.Role
    FOLLOWER: ClusterStatus.Role
    CANDIDATE: ClusterStatus.Role
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    DIVERGED_FIELD_NUMBER: _ClassVar[int]
    DIVERGED_REASON_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_CHECKPOINT_INDEX_FIELD_NUMBER: _ClassVar[int]
    SIGNER_SET_PROBLEM_FIELD_NUMBER: _ClassVar[int]
    DIVERGED_COPIES_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    role: ClusterStatus.Role
    leader: str
    term: int
    commit_index: int
    applied_index: int
    state_hash: bytes
    peers: _containers.RepeatedCompositeFieldContainer[Peer]
    ready: bool
    diverged: bool
    diverged_reason: str
    verified_checkpoint_index: int
    signer_set_problem: str
    diverged_copies: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, node_id: _Optional[str] = ..., role: _Optional[_Union[ClusterStatus.Role, str]] = ..., leader: _Optional[str] = ..., term: _Optional[int] = ..., commit_index: _Optional[int] = ..., applied_index: _Optional[int] = ..., state_hash: _Optional[bytes] = ..., peers: _Optional[_Iterable[_Union[Peer, _Mapping]]] = ..., ready: _Optional[bool] = ..., diverged: _Optional[bool] = ..., diverged_reason: _Optional[str] = ..., verified_checkpoint_index: _Optional[int] = ..., signer_set_problem: _Optional[str] = ..., diverged_copies: _Optional[_Iterable[str]] = ...) -> None: ...

class BackupRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BackupChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class MembershipRequest(_message.Message):
    __slots__ = ("action", "raft_address", "node_id", "grpc_address")
    class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ACTION_UNSPECIFIED: _ClassVar[MembershipRequest.Action]
        ADD: _ClassVar[MembershipRequest.Action]
        REMOVE: _ClassVar[MembershipRequest.Action]
    ACTION_UNSPECIFIED: MembershipRequest.Action
    ADD: MembershipRequest.Action
    REMOVE: MembershipRequest.Action
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    GRPC_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    action: MembershipRequest.Action
    raft_address: str
    node_id: str
    grpc_address: str
    def __init__(self, action: _Optional[_Union[MembershipRequest.Action, str]] = ..., raft_address: _Optional[str] = ..., node_id: _Optional[str] = ..., grpc_address: _Optional[str] = ...) -> None: ...

class MembershipResult(_message.Message):
    __slots__ = ("ok", "reason", "members")
    OK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    reason: str
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ok: _Optional[bool] = ..., reason: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ...) -> None: ...

class DrainRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DrainResult(_message.Message):
    __slots__ = ("ok", "reason", "new_leader")
    OK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NEW_LEADER_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    reason: str
    new_leader: str
    def __init__(self, ok: _Optional[bool] = ..., reason: _Optional[str] = ..., new_leader: _Optional[str] = ...) -> None: ...
