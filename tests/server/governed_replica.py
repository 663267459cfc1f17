"""A FakeReplica under the test signer set (tests/ledger/governance.py), its ledger clock close
to the wall clock as on a live cluster, for the Guardian service and the `settle action` CLI."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from node.client.commands import now_ms
from node.identity.key_files import write_private_key
from node.identity.keys import verify_ed25519
from node.ledger import LogEntry, apply
from node.ledger.commands import Command, Deposit
from node.identity.quorum import signed_action
from node.server.guardian import node_key_from_config
from tests.ledger.driver import MARKET, create_market, sign_batches, signed_price
from tests.ledger.governance import ALL_KEYS, NODES, genesis_payload
from tests.server.fake_replica import FakeReplica

NODE = "node-1"


_sequences: dict[str, int] = {}


def apply_now(fake: FakeReplica, command: Command, after_ms: int = 1_000) -> None:
    """Applies one command as a signed batch of its role's test submitter (after genesis)."""
    fake.time_ms += after_ms
    batches = sign_batches(fake.state, (command,), fake.time_ms, _sequences)
    apply(fake.state, LogEntry(fake.state.applied_index + 1, fake.time_ms, (command,), batches), verify_ed25519)


def governed_replica(tmp_path: Path, *, with_key: bool = True, stale: bool = False, policy: dict | None = None) -> FakeReplica:
    """A FakeReplica with the test signer set, BTC-PERP priced now, and (with_key) node-1's key
    file named by its config, as a real node's config names it. `policy`: fields that replace the
    test policy's (tests/ledger/governance.py POLICY) in the genesis signer set."""
    fake = FakeReplica(NODE)
    fake.time_ms = now_ms() - 120_000  # ledger time close to the node's clock, as on a live cluster
    key_file = tmp_path / "node.key"
    write_private_key(key_file, NODES[NODE])
    config = SimpleNamespace(node_id=NODE, node_key_id=NODE, node_key_file=key_file if with_key else None)
    fake.node_key_source = lambda: node_key_from_config(config)  # as node/main.py hands it to the server
    genesis = genesis_payload()
    if policy:
        genesis = dict(genesis, policy=dict(genesis["policy"], **policy))
    apply_now(fake, signed_action("genesis", genesis, ALL_KEYS))
    apply_now(fake, create_market())
    apply_now(fake, signed_price("px", MARKET, "src-a", 50_000, fake.time_ms + 1))
    if stale:  # a minute and more without a fresh price
        apply_now(fake, Deposit("stale-tick", "carol", 1), after_ms=61_000)
    return fake


def write_credentials(directory: Path, key_ids: tuple[str, ...] = ("guardian-1",)) -> Path:
    """A credentials directory for `settle --credentials`: the test signer set (signers.json) and
    the signing keys of `key_ids` under keys/, as the local cluster keeps them."""
    (directory / "keys").mkdir(parents=True)
    payload = genesis_payload()
    document = {"cluster": payload["cluster"], "signers": payload["signers"], "policy": payload["policy"]}
    (directory / "signers.json").write_text(json.dumps(document))
    for key_id in key_ids:
        write_private_key(directory / "keys" / f"{key_id}.key", ALL_KEYS[key_id])
    return directory
