"""A node's configuration: `settle-node --config node.toml`.

    node_id = "node1"
    cluster_id = "local-abc123"
    grpc_address = "127.0.0.1:7001"
    raft_address = "127.0.0.1:7101"
    data_dir = "data/node1"
    secrets_file = "data/secrets.toml"      # raft_password = "..." (0600, never in git)
    node_key_file = "data/keys/node1.key"   # optional: this node's Ed25519 key (0600, never in git);
                                            # its key id in the signer set is the node_id
    expected_signers_file = "data/signers.json"  # optional: the signer set this node expects
    divergence_recovery_delay_ms = 5000     # optional: how long a diverged follower stays fenced
    metrics_address = "127.0.0.1:7201"    # optional: Prometheus metrics (node/metrics); absent: off
    tls_ca_file = "data/tls/ca.crt"         # mTLS (node/tls/server.py): the cluster CA, this
    tls_certificate_file = "data/tls/node1.crt"  # node's certificate and its key (0600); all three
    tls_key_file = "data/tls/node1.key"     # or none (none: plaintext gRPC, no access control)
    health_address = "127.0.0.1:7401"       # optional: plaintext grpc.health.v1 alone, for load balancers
    events_retention_entries = 100000       # optional: how many log entries back events are kept for replay

    [[peers]]
    node_id = "node2"
    grpc_address = "127.0.0.1:7002"
    raft_address = "127.0.0.1:7102"

    [raft]                                  # optional: tuning, see RaftTuning
    tick_period_ms = 2
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from node.store.layout import events_retention_entries_default

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from node.tls.server import ServerTls


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Peer:
    node_id: str
    grpc_address: str
    raft_address: str


@dataclass(frozen=True, slots=True)
class RaftTuning:
    """pysyncobj timing, tuned (see `make bench`); the library's defaults add ~60 ms per write."""

    tick_period_ms: int = 2  # autoTickPeriod: how long a tick waits for socket events
    heartbeat_period_ms: int = 50  # appendEntriesPeriod
    election_timeout_min_ms: int = 500
    election_timeout_max_ms: int = 1_000
    leader_fallback_ms: int = 2_500  # an isolated leader steps down after this
    connection_retry_ms: int = 500
    log_compaction_entries_min: int = 20_000
    log_compaction_period_s: int = 300
    # A snapshot is also taken once the entries applied since the last one hold this many bytes:
    # pysyncobj counts entries and time only, and an entry may hold 4,000 commands, so between
    # two timed compactions a loaded node kept ~300 MB of log in memory (README "Soak").
    log_compaction_bytes_min: int = 64 * 1024 * 1024
    append_entries_bytes_max: int = 8 * 1024 * 1024  # >= 2x the largest entry (entry_commands_max)
    commands_queue_max: int = 10_000


@dataclass(frozen=True, slots=True)
class NodeConfig:
    node_id: str
    cluster_id: str
    grpc_address: str
    raft_address: str
    data_dir: Path
    raft_password: str
    peers: tuple[Peer, ...] = ()
    raft: RaftTuning = field(default_factory=RaftTuning)
    # The LMDB map: the largest the store's file may grow. At least 4 x (accounts x 52 + positions x
    # 120 + dedup records x (20 + id bytes)): the live file holds pages open readers still see
    # (README "LMDB map size"). A full map stops the node (StoreFullError); raise it and restart.
    map_size_bytes: int = 1 << 30
    # This node's Ed25519 private key: it signs checkpoint votes (and may co-sign halts) as key id
    # `node_key_id`. None: the node votes nothing (it still checks certified checkpoints).
    node_key_file: Path | None = None
    # The signer set (JSON: cluster, signers, policy; what the genesis SET_SIGNERS installs) this
    # node expects; a different installed set is logged and shown in Cluster.Status, nothing more.
    expected_signers_file: Path | None = None
    # A diverged follower stays fenced (and visible as such) this long before it moves its data
    # aside and restarts empty to be restored by its peers; a diverged leader does so at once.
    divergence_recovery_delay_ms: int = 5_000
    # host:port of the Prometheus metrics endpoint (node/metrics); "" (the default) or port 0: off.
    metrics_address: str = ""
    # mTLS on grpc_address: the cluster CA (clients must present a certificate it issued), this
    # node's certificate and key. None: plaintext and no access control (in-process tests only).
    tls_ca_file: Path | None = None
    tls_certificate_file: Path | None = None
    tls_key_file: Path | None = None
    # host:port of a plaintext server answering grpc.health.v1 alone; "": none.
    health_address: str = ""
    # WatchEvents replays events of the last this-many log entries (node/store/event_log.py);
    # older ones are pruned as entries are committed. The same on every node, normally.
    events_retention_entries: int = events_retention_entries_default

    @property
    def journal_file(self) -> Path:
        return self.data_dir / "raft.journal"

    @property
    def raft_meta_file(self) -> Path:
        """The Raft term and vote (and pysyncobj's commit index): pysyncobj names it after the
        journal, `journalFile + ".meta"`."""
        return self.data_dir / "raft.journal.meta"

    @property
    def dump_file(self) -> Path:
        return self.data_dir / "raft.dump"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "ledger"

    @property
    def checkpoints_dir(self) -> Path:
        """The state dumps kept for checkpoints (node/checkpoint/files.py)."""
        return self.data_dir / "checkpoints"

    @property
    def node_key_id(self) -> str:
        """The node's key id in the signer set: its node id."""
        return self.node_id


def _require(table: dict, key: str, kind: type, where: str):
    value = table.get(key)
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: `{key}` must be a {kind.__name__}")
    return value


def _optional_path(table: dict, key: str, base: Path, where: str) -> Path | None:
    """A file named relative to the config file's directory, like secrets_file; None if absent."""
    if key not in table:
        return None
    return base / _require(table, key, str, where)


def _non_negative_int(table: dict, key: str, default: int, where: str) -> int:
    value = table.get(key, default)
    if type(value) is not int or value < 0:
        raise ConfigError(f"{where}: `{key}` must be a non-negative integer")
    return value


def _positive_int(table: dict, key: str, default: int, where: str) -> int:
    value = table.get(key, default)
    if type(value) is not int or value < 1:
        raise ConfigError(f"{where}: `{key}` must be a positive integer")
    return value


def _metrics_address(table: dict, where: str) -> str:
    """`metrics_address`: "host:port", or absent / "" / "0" / port 0 for no metrics endpoint."""
    value = table.get("metrics_address", "")
    if value in ("", "0", 0):
        return ""
    host, sep, port = str(value).rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{where}: `metrics_address` must be \"host:port\" (port 0 or \"\": off)")
    return "" if int(port) == 0 else value


_TLS_KEYS = ("tls_ca_file", "tls_certificate_file", "tls_key_file")


def _tls_files(table: dict, base: Path, where: str) -> dict[str, Path | None]:
    """The three TLS files, relative to the config's directory: all of them or none."""
    present = [key for key in _TLS_KEYS if key in table]
    if present and len(present) != len(_TLS_KEYS):
        raise ConfigError(f"{where}: mTLS needs all of {', '.join(_TLS_KEYS)} (or none of them)")
    return {key: _optional_path(table, key, base, where) for key in _TLS_KEYS}


def _health_address(table: dict, where: str) -> str:
    value = table.get("health_address", "")
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if value != "" and (not sep or not port.isdigit() or int(port) > 65535):
        raise ConfigError(f"{where}: `health_address` must be \"host:port\" (or absent)")
    return value


def require_private(path: Path) -> None:
    """Secrets and keys must not be readable by group or others."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} is readable by others (mode {oct(mode & 0o777)}); chmod 600 it")


def load_node_key(config: NodeConfig) -> Ed25519PrivateKey | None:
    """The node's Ed25519 private key, or None when the config names no key file. A missing,
    malformed or group/world-readable key file is a ConfigError: the node refuses to start rather
    than run without the key it was given."""
    if config.node_key_file is None:
        return None
    from node.identity.key_files import read_private_key  # the one key-file reader
    from node.identity.keys import KeyFormatError

    require_private(config.node_key_file)
    try:
        return read_private_key(config.node_key_file)
    except KeyFormatError as error:
        raise ConfigError(str(error)) from None


def server_tls(config: NodeConfig) -> ServerTls | None:
    """The node's TLS files, checked now so a bad file stops the node (ConfigError) before it
    joins the cluster; None when the config names none."""
    from node.tls.files import TlsFileError
    from node.tls.server import ServerTls

    if config.tls_ca_file is None:
        return None
    tls = ServerTls(config.tls_ca_file, config.tls_certificate_file, config.tls_key_file)
    try:
        tls.load()
    except TlsFileError as error:
        raise ConfigError(str(error)) from None
    return tls


def read_secrets(path: Path) -> dict:
    require_private(path)
    with path.open("rb") as f:
        return tomllib.load(f)


def load_config(path: Path) -> NodeConfig:
    with path.open("rb") as f:
        table = tomllib.load(f)
    base = path.parent
    where = str(path)
    secrets_path = base / _require(table, "secrets_file", str, where)
    secrets = read_secrets(secrets_path)
    password = _require(secrets, "raft_password", str, str(secrets_path))
    if len(password) < 16:
        raise ConfigError(f"{secrets_path}: raft_password must be at least 16 characters")
    peers = tuple(
        Peer(
            _require(p, "node_id", str, f"{where} [[peers]]"),
            _require(p, "grpc_address", str, f"{where} [[peers]]"),
            _require(p, "raft_address", str, f"{where} [[peers]]"),
        )
        for p in table.get("peers", [])
    )
    retired = sorted(key for key in table if key.startswith("test_"))
    if retired:
        raise ConfigError(f"{where}: {retired}: test-only switches are not node settings (test fixtures run "
                          "nodes under cluster/fixture_node)")
    tuning = table.get("raft", {})
    known = {f.name for f in fields(RaftTuning)}
    unknown = sorted(set(tuning) - known)
    if unknown:
        raise ConfigError(f"{where} [raft]: unknown settings {unknown}")
    return NodeConfig(
        node_id=_require(table, "node_id", str, where),
        cluster_id=_require(table, "cluster_id", str, where),
        grpc_address=_require(table, "grpc_address", str, where),
        raft_address=_require(table, "raft_address", str, where),
        data_dir=base / _require(table, "data_dir", str, where),
        raft_password=password,
        peers=peers,
        raft=RaftTuning(**tuning),
        map_size_bytes=int(table.get("map_size_bytes", 1 << 30)),
        node_key_file=_optional_path(table, "node_key_file", base, where),
        expected_signers_file=_optional_path(table, "expected_signers_file", base, where),
        divergence_recovery_delay_ms=_non_negative_int(table, "divergence_recovery_delay_ms", 5_000, where),
        metrics_address=_metrics_address(table, where),
        **_tls_files(table, base, where),
        health_address=_health_address(table, where),
        events_retention_entries=_positive_int(table, "events_retention_entries", events_retention_entries_default, where),
    )


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
