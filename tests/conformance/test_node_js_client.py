"""A client in another language meets the signing contract: tests/conformance/js/conformance.js,
a Node.js client built on protobufjs and @grpc/grpc-js from the README and proto/ alone (versions
pinned in its package-lock.json; `make test` installs them with `npm ci`), reproduces every vector
of docs/signing-vectors.json, then, against a real 3-node cluster over mTLS, has a SettleTrade
with its fees set explicitly to zero applied, answered DUPLICATE when sent again, refused
INVALID_SIGNATURE when altered under its signature, and refused INVALID_ARGUMENT when it carries
a field the node does not know.

These tests fail, never skip, when Node.js or the pinned packages are missing: a conformance test
that silently does not run proves nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from cluster.local import LocalCluster
from node.identity.credentials import identity_key_file
from node.tls.client import tls_dir
from tests.cluster.governed import MARK, list_market
from tests.cluster.probe import wait_converged, wait_for_leader

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = REPO_ROOT / "tests" / "conformance" / "js"
MARKET = "JS-PERP"
run_timeout_s = 120
CLUSTER_CHECKS = (
    "cluster: GetGuards names the cluster id",
    "submit: protobufjs wrote the fees set explicitly to zero",
    "submit: a signed SettleTrade is applied",
    "submit: the same bytes sent again are answered DUPLICATE",
    "submit: a tampered copy is refused INVALID_SIGNATURE",
    "submit: a command with an unknown field is refused INVALID_ARGUMENT",
)


def node_client(*options: str) -> tuple[int, list[dict], str]:
    """Runs the Node.js client: (exit code, its JSON lines, stderr)."""
    node = shutil.which("node")
    assert node is not None, "Node.js (node) is not on PATH: the conformance test needs it"
    assert (CLIENT_DIR / "node_modules" / "protobufjs").is_dir() and (CLIENT_DIR / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        f"{CLIENT_DIR}/node_modules is missing its pinned packages: `make test` installs them "
        f"(npm ci --prefix {CLIENT_DIR.relative_to(REPO_ROOT)}; it needs the npm registry)")
    done = subprocess.run(
        [node, str(CLIENT_DIR / "conformance.js"), "--vectors", str(REPO_ROOT / "docs" / "signing-vectors.json"),
         "--proto-dir", str(REPO_ROOT / "proto"), *options],
        capture_output=True, text=True, timeout=run_timeout_s, check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return done.returncode, lines, done.stderr


def failed(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("ok") is False]


def test_a_node_js_client_reproduces_every_signing_vector():
    code, lines, stderr = node_client()
    assert code == 0 and not failed(lines), (failed(lines), stderr)
    assert sum(1 for line in lines if line.get("check", "").startswith("vectors:")) >= 20


def test_a_node_js_client_submits_signed_batches_to_a_real_cluster(make_cluster):
    cluster: LocalCluster = make_cluster(nodes=3)
    wait_for_leader(cluster)
    assert cluster.install_genesis()
    with cluster.client(cluster.grpc_addresses) as client:
        list_market(client, MARKET)
    tls = tls_dir(cluster.data_dir)
    code, lines, stderr = node_client(
        "--address", cluster.grpc_addresses[-1],  # any node: the client follows the leader hint
        "--ca", str(tls / "ca.crt"), "--cert", str(tls / "settler.crt"), "--key", str(tls / "settler.key"),
        "--signing-key", str(identity_key_file(cluster.data_dir, "settler")), "--key-id", "settler",
        "--market", MARKET, "--buyer", f"{MARKET}-buyer", "--seller", f"{MARKET}-seller", "--price", str(MARK),
    )
    assert code == 0 and not failed(lines), (failed(lines), stderr)
    passed = {line["check"] for line in lines if line.get("ok")}
    assert set(CLUSTER_CHECKS) <= passed, set(CLUSTER_CHECKS) - passed
    with cluster.client(cluster.grpc_addresses) as client:
        (position,) = client.get_account(f"{MARKET}-buyer").positions
    assert position.size == 1  # the one trade applied once: not the resend, not the tampered copy
    wait_converged(cluster)
