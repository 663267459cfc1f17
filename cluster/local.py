"""A local cluster of real node processes on loopback: configs, secrets, start, kill, restart.

`python -m cluster up` and the cluster tests both drive this. Node i (1-based) serves gRPC on
base_port + i, Raft on base_port + 100 + i and Prometheus metrics on base_port + 200 + i
(cluster/ports.py). Secrets (the Raft password) are generated once per cluster into
DIR/secrets.toml (0600) and reused; configs are regenerated only if missing.
DIR/oracle.key (0600) holds the demo oracle source's private key (cluster/demo/oracle.py, a key
anyone can derive: for local markets only), so `settle price ... --key-file DIR/oracle.key` can
sign prices for the demo's markets.

Keys: DIR/keys/ (0700) holds node<i>.key (each node's Ed25519 key, key id node<i>),
guardian<j>.key (three guardians, key ids guardian1..guardian3) and one key per client role
(settler, custodian, oracle, operator, auditor: key id = role name), each 0600, generated once.
Every batch a client submits is signed with its key (node/identity/credentials.py, cluster.identity()).
DIR/signers.json (public) is the signer set those keys form with LOCAL_POLICY: what every node
expects (expected_signers_file) and what `install_genesis()` installs with a SET_SIGNERS that
every key signed. `python -m cluster up` installs it once a leader is elected.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cluster.demo.oracle import demo_key
from cluster.local_tls import prepare_tls, tls_config_lines
from cluster.ports import NodeSpec, metrics_port_offset, node_specs, raft_port_offset
from node.data_lock import DataDirLocked, check_data_dir_free
from node.exit_codes import describe as describe_exit
from node.identity.signer_set import SignerSetError, read_signer_set, signer_set_document
from node.identity.credentials import ClientIdentity, identity_key_file, load_keyring
from node.client.sync import SyncSettlementClient
from node.identity.key_files import read_private_key, write_private_key
from node.ledger.commands import ActionKind
from node.identity.quorum import action_payload, signed_action, signer_entry_for

oracle_key_file_name = "oracle.key"
stop_grace_s = 10.0
ready_timeout_s_default = 30.0
keys_dir_name = "keys"
signers_file_name = "signers.json"
guardians = 3
genesis_command_id = "genesis"
genesis_lifetime_ms = 5 * 60_000
genesis_timeout_s_default = 30.0
start_status_poll_s = 0.2
exited_log_lines = 10  # what a report of an exited node quotes from its log

# The local cluster's quorum rules: a halt needs 2 signatures (nodes or guardians), a resume 2 of
# the 3 guardians, a checkpoint 2 matching node votes (a majority of 3 nodes; of 5, 3: see
# local_policy), loosening waits 60 s, and a checkpoint is due every 1,000 entries or 10 s.
LOCAL_POLICY = {
    "halt_threshold": 2,
    "resume_threshold": 2,
    "checkpoint_threshold": 2,
    "timelock_ms": 60_000,
    "checkpoint_every_entries": 1_000,
    "checkpoint_every_ms": 10_000,
    # The leader's clock may run at most 2 minutes ahead of the newest clock a submitter signed:
    # longer than the demo markets' oracle staleness window, so a silent feed is still caught.
    "clock_lead_max_ms": 120_000,
    "dedup_retention_ms": 86_400_000,  # a day: retries within it are answered once; older batches are refused
}
# The local cluster's submitters and readers: key id = role (DIR/keys/<role>.key). `settle` and
# the demo pick the identity whose role may do what they are asked.
CLIENT_ROLES = ("settler", "custodian", "oracle", "operator", "auditor")


def local_policy(nodes: int, override: dict[str, int] | None = None) -> dict[str, int]:
    """LOCAL_POLICY with the checkpoint threshold a majority of `nodes`, then `override`."""
    policy = dict(LOCAL_POLICY, checkpoint_threshold=max(LOCAL_POLICY["checkpoint_threshold"], nodes // 2 + 1))
    policy.update(override or {})
    return policy


class NodeExitedAtStart(RuntimeError):
    """A node's process ended before the cluster was serving: its exit code and its log's tail."""

    def __init__(self, node_id: str, exit_code: int, log_tail: str) -> None:
        self.node_id = node_id
        self.exit_code = exit_code
        self.log_tail = log_tail
        super().__init__(f"{node_id} exited during start-up ({describe_exit(exit_code)}); last lines of its log:\n{log_tail}")


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


class LocalCluster:
    def __init__(self, data_dir: Path, nodes: int = 3, base_port: int = 7000, host: str = "127.0.0.1",
                 extra_config: dict[str, object] | None = None, raft_tuning: dict[str, int] | None = None,
                 policy: dict[str, int] | None = None, fixture_flags: Sequence[str] = ()) -> None:
        """`policy`: fields that replace LOCAL_POLICY's in the genesis signer set (tests use a
        short checkpoint interval). `fixture_flags`: TEST-ONLY, run every node as
        `python -m cluster.fixture_node FLAGS` instead of settle-node (power-cut journals,
        no Raft encryption, the rogue)."""
        self.data_dir = data_dir.resolve()
        self.specs = node_specs(nodes, base_port, host)
        self.extra_config = extra_config or {}
        self.raft_tuning = raft_tuning or {}
        self.policy = local_policy(nodes, policy)
        self.cluster_id: str | None = None  # known after prepare()
        self.processes: dict[int, subprocess.Popen] = {}
        self.fixture_flags = tuple(fixture_flags)

    # -- files ---------------------------------------------------------------------------------

    def node_dir(self, number: int) -> Path:
        return self.data_dir / f"node{number}"

    def config_path(self, number: int) -> Path:
        return self.node_dir(number) / "node.toml"

    @property
    def oracle_key_file(self) -> Path:
        return self.data_dir / oracle_key_file_name

    @property
    def grpc_addresses(self) -> list[str]:
        return [s.grpc_address for s in self.specs]

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / keys_dir_name

    def node_key_file(self, number: int) -> Path:
        return self.keys_dir / f"node{number}.key"

    def guardian_key_file(self, number: int) -> Path:
        return self.keys_dir / f"guardian{number}.key"

    @property
    def signers_file(self) -> Path:
        return self.data_dir / signers_file_name

    def _signing_keys(self) -> dict[str, tuple[str, Path]]:
        """key id -> (role, key file) of every key of the genesis signer set."""
        keys = {spec.node_id: ("node", self.node_key_file(spec.number)) for spec in self.specs}
        keys.update({f"guardian{j}": ("guardian", self.guardian_key_file(j)) for j in range(1, guardians + 1)})
        keys.update({role: (role, identity_key_file(self.data_dir, role)) for role in CLIENT_ROLES})
        return dict(sorted(keys.items()))

    def identity(self, key_id: str | None = None) -> ClientIdentity:
        """A client identity of this cluster for SettlementClient(identity=): `key_id` (a role
        name of CLIENT_ROLES, guardian<j> or node<i>) alone, or by default the local keyring
        (node/identity/credentials.py load_keyring: every key, under the operator's certificate), so
        tools and tests can submit any command kind (one key per batch)."""
        return load_keyring(self.data_dir, key_id)

    def client(self, addresses: list[str] | None = None, key_id: str | None = None, **options) -> SyncSettlementClient:
        """A blocking client of this cluster signing as identity(key_id)."""
        return SyncSettlementClient(addresses or self.grpc_addresses, identity=self.identity(key_id), **options)

    def _prepare_keys(self, cluster_id: str) -> None:
        """Keys (once), and signers.json: the public signer set the nodes expect."""
        self.keys_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.keys_dir, 0o700)
        for _, path in self._signing_keys().values():
            if not path.exists():
                write_private_key(path)
        signers = [signer_entry_for(key_id, role, read_private_key(path)) for key_id, (role, path) in self._signing_keys().items()]
        document = signer_set_document(cluster_id, signers, self.policy)
        if self.signers_file.exists():
            try:
                existing = read_signer_set(self.signers_file)
            except SignerSetError as error:
                raise SystemExit(f"{error}; remove it or use another --data") from None
            if existing != document:
                raise SystemExit(f"{self.signers_file} describes another signer set or policy; use another --data or remove it")
            return
        self.signers_file.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")

    def prepare(self) -> None:
        """Write secrets, configs and cluster.json if missing (an existing cluster is reused)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        secrets_file = self.data_dir / "secrets.toml"
        if not secrets_file.exists():
            fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(f"raft_password = {_toml_string(secrets.token_urlsafe(32))}\n")
        if not self.oracle_key_file.exists():
            write_private_key(self.oracle_key_file, demo_key())
        cluster_file = self.data_dir / "cluster.json"
        if cluster_file.exists():
            cluster = json.loads(cluster_file.read_text())
            if [n["grpc"] for n in cluster["nodes"]] != self.grpc_addresses:
                raise SystemExit(f"{cluster_file} describes another cluster layout; use another --data or remove it")
            cluster_id = cluster["cluster_id"]
        else:
            cluster_id = f"local-{secrets.token_hex(4)}"
            cluster = {
                "cluster_id": cluster_id,
                "nodes": [
                    {"id": s.node_id, "grpc": s.grpc_address, "raft": s.raft_address,
                     "data_dir": str(self.node_dir(s.number).relative_to(self.data_dir))}
                    for s in self.specs
                ],
            }
            cluster_file.write_text(json.dumps(cluster, indent=2) + "\n")
        self.cluster_id = cluster_id
        self._prepare_keys(cluster_id)
        self._prepare_tls()  # DIR/tls: the cluster CA and a certificate per node and identity, once
        for spec in self.specs:
            self.node_dir(spec.number).mkdir(exist_ok=True)
            self._write_config(spec, cluster_id)

    def _prepare_tls(self) -> None:
        prepare_tls(self.data_dir, self.cluster_id, self.specs, list(self._signing_keys()))

    def add_spec(self) -> NodeSpec:
        """A new node numbered after the last, on the same port layout, with its config written:
        peers = every node in `specs` (the current membership, as `settle cluster add-node`
        needs), and no node key (it is not in the genesis signer set: it checks checkpoints but
        does not vote). Start it with start(number), then add it with `settle cluster add-node`."""
        last = self.specs[-1]
        base = last.grpc_port - last.number
        number = last.number + 1
        spec = NodeSpec(number, f"node{number}", last.host, base + number, base + raft_port_offset + number,
                        base + metrics_port_offset + number)
        self.specs.append(spec)
        self._prepare_tls()  # its certificate, from the same CA
        self.node_dir(number).mkdir(exist_ok=True)
        self._write_config(spec, self.cluster_id, with_node_key=False)
        return spec

    def _write_config(self, spec: NodeSpec, cluster_id: str, with_node_key: bool = True) -> None:
        lines = [
            f"node_id = {_toml_string(spec.node_id)}",
            f"cluster_id = {_toml_string(cluster_id)}",
            f"grpc_address = {_toml_string(spec.grpc_address)}",
            f"raft_address = {_toml_string(spec.raft_address)}",
            'data_dir = "."',
            'secrets_file = "../secrets.toml"',
            f"expected_signers_file = {_toml_string('../' + signers_file_name)}",
        ]
        if with_node_key:
            lines.append(f"node_key_file = {_toml_string(f'../{keys_dir_name}/node{spec.number}.key')}")
        if "metrics_address" not in self.extra_config:
            lines.append(f"metrics_address = {_toml_string(spec.metrics_address)}")
        for key, value in self.extra_config.items():
            lines.append(f"{key} = {json.dumps(value)}")
        lines += tls_config_lines(spec)  # mTLS with its certificate, and the plaintext health port
        for peer in self.specs:
            if peer.number == spec.number:
                continue
            lines += [
                "",
                "[[peers]]",
                f"node_id = {_toml_string(peer.node_id)}",
                f"grpc_address = {_toml_string(peer.grpc_address)}",
                f"raft_address = {_toml_string(peer.raft_address)}",
            ]
        if self.raft_tuning:
            lines += ["", "[raft]"] + [f"{k} = {v}" for k, v in self.raft_tuning.items()]
        self.config_path(spec.number).write_text("\n".join(lines) + "\n")

    # -- the genesis signer set -----------------------------------------------------------------

    def genesis_action(self):
        """The SET_SIGNERS of signers.json, signed by every key it lists (the ledger accepts a
        first signer set only so)."""
        document = read_signer_set(self.signers_file)
        now_ms = int(time.time() * 1000)
        payload = action_payload(document["cluster"], ActionKind.SET_SIGNERS, 1, now_ms + genesis_lifetime_ms, 0,
                                 signers=document["signers"], policy=document["policy"])
        keys = {key_id: read_private_key(path) for key_id, (_, path) in self._signing_keys().items()}
        return signed_action(genesis_command_id, payload, keys)

    def install_genesis(self, timeout_s: float = genesis_timeout_s_default) -> bool:
        """Installs signers.json as the ledger's signer set once the cluster has a leader: True
        if this call installed it, False if a signer set was there already. Raises TimeoutError
        when no leader answered in time, RuntimeError when the ledger refused it."""

        from node.client.errors import SettlementError

        deadline = time.monotonic() + timeout_s
        with self.client(timeout_s=min(5.0, timeout_s)) as client:
            while True:
                try:
                    if client.get_guards().HasField("signer_set"):
                        return False
                    result = client.submit_one(self.genesis_action())
                    break
                except SettlementError as error:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"no leader installed the genesis signer set within {timeout_s} s: {error}") from None
                    time.sleep(0.2)
        if not result.ok:
            raise RuntimeError(f"the ledger refused the genesis signer set: {result.code.name} {result.message}")
        return not result.duplicate

    # -- processes -----------------------------------------------------------------------------

    def node_command(self, number: int, fixture_flags: Sequence[str] = ()) -> list[str]:
        """How node `number` is started: settle-node's module, or the test fixture node."""
        config = ["--config", str(self.config_path(number))]
        flags = tuple(fixture_flags) or self.fixture_flags
        if flags:
            return [sys.executable, "-m", "cluster.fixture_node", *flags, *config]
        return [sys.executable, "-m", "node.main", *config]

    def start(self, number: int | None = None, fixture_flags: Sequence[str] = ()) -> None:
        """Starts node `number` (default: every node not running). `fixture_flags`: TEST-ONLY, as
        the constructor's, for this start only."""
        for spec in self.specs if number is None else [self.specs[number - 1]]:
            if spec.number in self.processes and self.processes[spec.number].poll() is None:
                continue
            node_dir = self.node_dir(spec.number)
            log_file = open(node_dir / "node.log", "ab")
            process = subprocess.Popen(
                self.node_command(spec.number, fixture_flags),
                stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: signals reach it alone
            )
            log_file.close()
            self.processes[spec.number] = process
            (node_dir / "node.pid").write_text(f"{process.pid}\n")

    def kill(self, number: int, sig: int = signal.SIGKILL) -> None:
        process = self.processes.get(number)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, sig)
            if sig == signal.SIGKILL:
                process.wait(timeout=10)

    def kill_all(self) -> None:
        for number in list(self.processes):
            self.kill(number)

    def stop(self) -> None:
        """SIGTERM every node, wait for clean exits, SIGKILL what is left."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + stop_grace_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        for spec in self.specs:
            (self.node_dir(spec.number) / "node.pid").unlink(missing_ok=True)

    def data_dirs_in_use(self) -> list[DataDirLocked]:
        """Every node directory another live process holds (node/data_lock.py): typically nodes an
        earlier launcher left running. Starting nodes there would only see them exit."""
        held = []
        for spec in self.specs:
            try:
                check_data_dir_free(self.node_dir(spec.number))
            except DataDirLocked as error:
                held.append(error)
        return held

    def exited_at_start(self) -> NodeExitedAtStart | None:
        """The first started node whose process has ended, as a report; None while all run."""
        for spec in self.specs:
            process = self.processes.get(spec.number)
            if process is not None and process.poll() is not None:
                return NodeExitedAtStart(spec.node_id, process.returncode, self.log_tail(spec.number, exited_log_lines))
        return None

    def wait_until_serving(self, client, timeout_s: float) -> bool:
        """True once every started node answers Status and one is ready under a known leader;
        False when `timeout_s` passes first. Raises NodeExitedAtStart as soon as a started node's
        process ends: waiting on for a leader it will never help elect would only hide why."""
        started = {self.specs[number - 1].grpc_address for number in self.processes}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (exited := self.exited_at_start()) is not None:
                raise exited
            answers = {address: status for address, status in client.statuses() if not isinstance(status, Exception)}
            if started <= answers.keys() and any(status.ready and status.leader for status in answers.values()):
                if (exited := self.exited_at_start()) is not None:  # the answer may be its last
                    raise exited
                return True
            time.sleep(start_status_poll_s)
        return False

    def alive(self, number: int) -> bool:
        process = self.processes.get(number)
        return process is not None and process.poll() is None

    def log_tail(self, number: int, lines: int = 30) -> str:
        path = self.node_dir(number) / "node.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
