"""The client SDK (async and blocking): commands, reads and streams over gRPC, signed with a
node.identity identity. The `settle` command line built on it is node.cli."""

from node.client.commands import (
    create_market,
    deposit,
    new_command_id,
    oracle_source,
    price_update,
    settle_trade,
    signed_price_update,
    withdraw,
)
from node.client.errors import (
    BatchExpired,
    ClusterUnavailable,
    NotFound,
    OutcomeUnknown,
    RequestRejected,
    SettlementError,
    StreamBroken,
    SubmitRejected,
)
from node.client.results import SubmitReply, SubmittedResult
from node.client.sdk import LINEARIZABLE, LOCAL, SettlementClient
from node.client.sync import SyncSettlementClient
from node.identity.clock import now_ms
from node.identity.key_files import read_private_key, write_private_key
from node.identity.keys import KeyFormatError

__all__ = [
    "BatchExpired",
    "LINEARIZABLE",
    "LOCAL",
    "ClusterUnavailable",
    "KeyFormatError",
    "NotFound",
    "OutcomeUnknown",
    "RequestRejected",
    "SettlementClient",
    "SettlementError",
    "StreamBroken",
    "SubmitRejected",
    "SubmitReply",
    "SubmittedResult",
    "SyncSettlementClient",
    "create_market",
    "deposit",
    "new_command_id",
    "now_ms",
    "oracle_source",
    "price_update",
    "read_private_key",
    "settle_trade",
    "signed_price_update",
    "withdraw",
    "write_private_key",
]
