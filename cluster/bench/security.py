"""What the security costs a real cluster: throughput with and without signed batches and Raft
encryption, measured in one run as ratios.

    python -m cluster.bench.security [--seconds 8] [--clients 3] [--batches 1,1000] [--rounds 2] [--out bench-results]

Three fresh 3-node clusters (mTLS on all of them), the same load each (cluster/bench/cluster.py:
client processes, pre-built requests, uniform counterparties):

- production: the genesis signer set installed, every batch signed by the settler key and checked
  by every replica, Raft traffic encrypted and authenticated with the cluster password;
- unsigned batches: no signer set installed, so batches go unsigned and unchecked;
- no Raft encryption: signed batches, but the nodes run as test fixtures without the cluster
  password (python -m cluster.fixture_node --unsafe-no-raft-encryption).

Each round measures the three in turn (so a slow minute of a shared machine hits them alike);
reported per configuration and batch size: the median trades per second over the rounds and p99,
and the median as a ratio of production's. Prints JSON and writes OUT/security-bench.json. Read
the ratios, not the third digit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from cluster.bench.cluster import measure_batch, prepare_market, wait_for_followers
from cluster.fixture_node.flags import UNSAFE_NO_RAFT_ENCRYPTION
from cluster.local import LocalCluster

CONFIGURATIONS = {
    "production": {"signed": True, "fixture_flags": ()},
    "unsigned_batches": {"signed": False, "fixture_flags": ()},
    "no_raft_encryption": {"signed": True, "fixture_flags": (UNSAFE_NO_RAFT_ENCRYPTION,)},
}
settle_after_start_s = 1.0


def measure_configuration(name: str, batches: list[int], seconds: float, clients: int, base_port: int) -> list[dict]:
    setup = CONFIGURATIONS[name]
    data = Path(tempfile.mkdtemp(prefix=f"settle-bench-{name}-"))
    cluster = LocalCluster(data, nodes=3, base_port=base_port, fixture_flags=setup["fixture_flags"])
    cluster.prepare()
    cluster.start()
    runs = []
    try:
        time.sleep(settle_after_start_s)
        with cluster.client(timeout_s=20.0) as client:
            leader = prepare_market(cluster, client, signed=setup["signed"])
            for batch in batches:
                wait_for_followers(client)
                run = measure_batch(leader, batch, seconds, clients, 0, len(runs), data, signed=setup["signed"])
                run["configuration"] = name
                print(json.dumps(run), flush=True)
                runs.append(run)
    finally:
        cluster.stop()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--batches", default="1,1000")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--base-port", type=int, default=7800)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    report: dict = {"benchmark": "security", "nodes": 3, "mtls": True, "cpus": os.cpu_count(),
                    "python": platform.python_version(), "runs": [], "ratios_to_production": {}}
    for round_number in range(args.rounds):
        for offset, name in enumerate(CONFIGURATIONS):
            for run in measure_configuration(name, batches, args.seconds, args.clients, args.base_port + 20 * offset):
                report["runs"].append(run | {"round": round_number})
    medians = {
        (name, batch): statistics.median(r["trades_per_second"] for r in report["runs"] if (r["configuration"], r["batch"]) == (name, batch))
        for name in CONFIGURATIONS for batch in batches
    }
    report["median_trades_per_second"] = {name: {str(b): medians[(name, b)] for b in batches} for name in CONFIGURATIONS}
    for (name, batch), median in medians.items():
        if medians[("production", batch)]:
            report["ratios_to_production"].setdefault(name, {})[str(batch)] = round(median / medians[("production", batch)], 3)
    args.out.mkdir(exist_ok=True)
    (args.out / "security-bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("median_trades_per_second", "ratios_to_production")}, indent=2))


if __name__ == "__main__":
    main()
