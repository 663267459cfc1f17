"""A real 3-node run logs one JSON object per line with the context fields, a leader change and
a certified checkpoint among its events, and never the Raft password or a private key's bytes."""

from __future__ import annotations

import json
import time
import tomllib


from .probe import wait_for_leader

POLICY = {"checkpoint_every_entries": 5, "checkpoint_every_ms": 200}
FIELDS = {"time", "level", "logger", "message", "node", "term", "applied"}
wait_s = 30.0


def log_lines(cluster) -> list[str]:
    return [line for spec in cluster.specs
            for line in (cluster.node_dir(spec.number) / "node.log").read_text().splitlines() if line.strip()]


def events(cluster) -> set[str]:
    found = set()
    for line in log_lines(cluster):
        if line.startswith("{"):
            found.add(json.loads(line).get("event"))
    return found


def secrets_of(cluster) -> list[str]:
    """The password, and every private key file's content as hex digits, raw bytes and text."""
    password = tomllib.loads((cluster.data_dir / "secrets.toml").read_text())["raft_password"]
    found = [password]
    for path in [*cluster.keys_dir.iterdir(), cluster.oracle_key_file]:
        if path.is_file() and path.suffix != ".json":
            data = path.read_bytes()
            text = data.decode("ascii", "replace").strip()
            raw = bytes.fromhex(text) if len(text) == 64 else data
            found += [text, raw.hex(), raw.decode("latin-1")]
    return [s for s in found if len(s) >= 16]


def test_a_real_run_logs_json_with_events_and_no_secrets(make_cluster):
    cluster = make_cluster(nodes=3, policy=POLICY)
    wait_for_leader(cluster)
    assert cluster.install_genesis()
    deadline = time.monotonic() + wait_s
    with cluster.client(cluster.grpc_addresses) as client:
        n = 0
        while not {"checkpoint_certified", "leader_change"} <= events(cluster):
            assert time.monotonic() < deadline, "no checkpoint_certified or leader_change event:\n" + cluster.log_tail(1)
            assert client.deposit(f"log-{n}", 1_000, id=f"log-dep-{n}").ok
            n += 1
            time.sleep(0.05)
    cluster.stop()

    lines = log_lines(cluster)
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(FIELDS <= set(p) for p in parsed), [p for p in parsed if not FIELDS <= set(p)][:3]
    assert {p["node"] for p in parsed} == {s.node_id for s in cluster.specs}
    assert any(isinstance(p["term"], int) and isinstance(p["applied"], int) for p in parsed)
    kinds = {p.get("event") for p in parsed}
    assert {"leader_change", "checkpoint_certified", "node_start", "node_stop"} <= kinds, kinds
    leader_change = next(p for p in parsed if p.get("event") == "leader_change")
    assert leader_change["leader"] in {s.node_id for s in cluster.specs} and leader_change["new_term"] >= 1

    text = "\n".join(lines)
    raw = b"".join((cluster.node_dir(s.number) / "node.log").read_bytes() for s in cluster.specs)
    for secret in secrets_of(cluster):
        assert secret not in text and secret.encode("latin-1") not in raw, "a secret is in the logs"
