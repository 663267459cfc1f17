"""On a real 3-node cluster, Submits no key in the signer set signed (unsigned, an unknown signer,
a bad signature, a tampered batch) sent with a certificate allowed to call Submit are answered
with the ledger's codes by the node that received them, and no node ever applies one: nothing of
them reaches the log. A signed batch sent meanwhile is applied as usual."""

from __future__ import annotations

import asyncio
import urllib.request
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from cluster.bench.hostile import KINDS, hostile_requests
from cluster.local import LocalCluster
from node.api.settlement.v1 import results_pb2, settlement_pb2
from node.identity.credentials import identity_key_file
from node.identity.key_files import read_private_key
from node.tls.client import aio_channel, load_client_tls

from .probe import wait_converged, wait_for_leader

PER_KIND = 25
EXPECTED = {"unsigned": "UNSIGNED_BATCH", "unknown_signer": "UNKNOWN_SIGNER", "bad_signature": "INVALID_SIGNATURE",
            "tampered": "INVALID_SIGNATURE"}
REFUSAL_CODES = set(EXPECTED.values())


def send_all(address: str, tls, requests: list[tuple[str, bytes]]) -> Counter[str]:
    async def main() -> Counter[str]:
        seen: Counter[str] = Counter()
        async with aio_channel(address, tls) as channel:
            submit = channel.unary_unary("/settlement.v1.Settlement/Submit")
            for kind, request in requests:
                reply = settlement_pb2.SubmitResponse.FromString(await submit(request, timeout=10))
                seen.update(f"{kind}: {results_pb2.ResultCode.Name(r.code)}" for r in reply.results)
        return seen

    return asyncio.run(main())


def applied_by_code(cluster: LocalCluster, number: int) -> Counter[str]:
    """settle_commands_applied_total of one node, by result code."""
    with urllib.request.urlopen(f"http://{cluster.specs[number - 1].metrics_address}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    applied: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name == "settle_commands_applied":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    applied[sample.labels["code"]] += int(sample.value)
    return applied


def hostile(cluster: LocalCluster, prefix: str) -> list[tuple[str, bytes]]:
    custodian = read_private_key(identity_key_file(cluster.data_dir, "custodian"))  # signs the batches then tampered
    return [(kind, request) for kind in KINDS for request in hostile_requests(kind, PER_KIND, prefix, cluster.cluster_id, custodian)]


def expected_answers() -> Counter[str]:
    return Counter({f"{kind}: {EXPECTED[kind]}": PER_KIND for kind in KINDS})


def test_batches_no_signer_set_key_signed_are_refused_and_never_reach_the_log(make_cluster):
    cluster: LocalCluster = make_cluster(nodes=3)
    leader = wait_for_leader(cluster)
    assert cluster.install_genesis()
    tls = load_client_tls(cluster.data_dir, "settler")  # allowed to call Submit; its holder signs nothing here
    assert send_all(cluster.specs[leader - 1].grpc_address, tls, hostile(cluster, "to-leader")) == expected_answers()
    with cluster.client(cluster.grpc_addresses) as client:
        assert client.deposit("honest", 5).ok
    wait_converged(cluster)
    for spec in cluster.specs:
        applied = applied_by_code(cluster, spec.number)
        assert applied["OK"] >= 1 and not REFUSAL_CODES & {code for code, count in applied.items() if count}, (spec.node_id, applied)


def test_a_follower_answers_such_batches_itself_instead_of_sending_them_to_the_leader(make_cluster):
    cluster: LocalCluster = make_cluster(nodes=3)
    leader = wait_for_leader(cluster)
    assert cluster.install_genesis()
    tls = load_client_tls(cluster.data_dir, "settler")
    follower = next(spec.number for spec in cluster.specs if spec.number != leader)
    assert send_all(cluster.specs[follower - 1].grpc_address, tls, hostile(cluster, "to-follower")) == expected_answers()
