"""The chaos load: client processes submitting deposits, withdrawals, fills and prices through the
SDK, each command with a unique id, each request recorded with its start, end and outcome.

Accounts are laid out so the checker can tell a duplicate from a loss (checker.py): custody
accounts `c<k>-<n>` only ever see deposits and withdrawals; traders `t<k>-a`/`t<k>-b` are funded
once at set-up with far more collateral than their small fills at the mark could ever need, so
nobody is liquidated and every position is exactly the sum of its fills. Client 0 also feeds the
mark (the demo oracle source, prices within a few units of MARK).

`python -m cluster.chaos.load --client K ...` is one client process; `make_client` is the one
place SDK clients are built (signing identity per role), for the harness too.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from pathlib import Path

from cluster.chaos.history import Op, write_ops
from cluster.demo.oracle import demo_price, demo_source
from node.client.commands import now_ms
from node.client.errors import ClusterUnavailable, OutcomeUnknown, SubmitRejected
from node.identity.credentials import load_identity
from node.client.sync import SyncSettlementClient
from node.ledger.commands import CreateMarket, Deposit, MarketKind, SettleTrade, Withdraw
from node.ledger.results import ResultCode

MARKET = "CHAOS-PERP"
MARK = 50_000
STALE_AFTER_MS = 24 * 3_600_000  # the mark must not go stale while the feed's leader is down
custody_accounts_per_client = 16
trader_funding = 10**12
request_timeout_s = 6.0
pause_between_batches_s = 0.03  # keeps 3 clients light enough for 3 nodes on 2 cores
price_every_s = 1.0
batch_commands_max = 4
requests_max = 100_000  # per client, whatever the duration


def make_client(data_dir: Path, addresses: list[str], role: str, timeout_s: float = request_timeout_s) -> SyncSettlementClient:
    """A blocking SDK client of the cluster under `data_dir`, signing as `role` (settler,
    custodian, oracle, operator: key id = role). Every client of the harness is built here."""
    identity = load_identity(data_dir, role, role)
    return SyncSettlementClient(addresses, identity=identity, timeout_s=timeout_s)


def traders(client: int) -> tuple[str, str]:
    return f"t{client}-a", f"t{client}-b"


def set_up(data_dir: Path, addresses: list[str], clients: int, tag: str) -> None:
    """The market, its first mark and the traders' funds (raises if the cluster refuses)."""
    with make_client(data_dir, addresses, "operator", timeout_s=30.0) as operator:
        listed = operator.submit_one(CreateMarket(f"{tag}-list", MARKET, MarketKind.PERPETUAL, 1, 1, 1_000, 500, 100, 10**9,
                                                  1_000, 2_000, 60_000, 60_000, sources=(demo_source(),),
                                                  stale_after_ms=STALE_AFTER_MS))
        assert listed.code in (ResultCode.OK, ResultCode.MARKET_EXISTS), listed
    with make_client(data_dir, addresses, "oracle", timeout_s=30.0) as oracle:
        priced = oracle.submit_one(demo_price(f"{tag}-px0", MARKET, MARK, now_ms()))
        assert priced.code == ResultCode.OK, priced
    with make_client(data_dir, addresses, "custodian", timeout_s=30.0) as custodian:
        funding = [Deposit(f"{tag}-fund-{a}", a, trader_funding) for k in range(clients) for a in traders(k)]
        results, _ = custodian.submit(funding)
        assert all(r.code == ResultCode.OK for r in results), results


def _outcome_of_error(error: Exception) -> tuple[str, str]:
    if isinstance(error, OutcomeUnknown):
        return "ambiguous", type(error).__name__
    if isinstance(error, (SubmitRejected, ClusterUnavailable)):
        return "rejected", type(error).__name__  # the SDK promises nothing was applied
    return "ambiguous", type(error).__name__


def _op_fields(command) -> dict:
    if isinstance(command, Deposit):
        return {"kind": "Deposit", "account": command.account, "amount": command.amount}
    if isinstance(command, Withdraw):
        return {"kind": "Withdraw", "account": command.account, "amount": command.amount}
    if isinstance(command, SettleTrade):
        return {"kind": "SettleTrade", "account": command.buyer, "counterparty": command.seller,
                "market": command.market, "amount": command.quantity}
    return {"kind": "PriceUpdate", "market": command.market, "amount": command.price}


def submit_recorded(sdk: SyncSettlementClient, commands: list, out: Path, client: int, t0: float) -> list[Op]:
    """Submits one batch and records it in `out`: as pending (ambiguous) before it is sent, so a
    client that dies mid-request still leaves it in the history, then with its outcome."""
    start = time.time() - t0
    write_ops(out, [Op(c.id, client=client, start_s=round(start, 4), end_s=round(start, 4),
                       outcome="ambiguous", code="pending", **_op_fields(c)) for c in commands])
    ops = []
    try:
        results, applied_index = sdk.submit(commands)
    except Exception as error:  # noqa: BLE001 - every failure is an outcome to record
        outcome, code = _outcome_of_error(error)
        end = time.time() - t0
        ops = [Op(c.id, client=client, start_s=round(start, 4), end_s=round(end, 4), outcome=outcome, code=code,
                  **_op_fields(c)) for c in commands]
    else:
        end = time.time() - t0
        for command, result in zip(commands, results):
            code = ResultCode(result.code).name
            ops.append(Op(command.id, client=client, start_s=round(start, 4), end_s=round(end, 4),
                          outcome="ok" if result.code == ResultCode.OK else "refused", code=code,
                          applied_index=applied_index, **_op_fields(command)))
    write_ops(out, ops)
    return ops


class Client:
    def __init__(self, number: int, data_dir: Path, addresses: list[str], out: Path, t0: float, seed: int, tag: str) -> None:
        self.number = number
        self.rng = random.Random(seed * 1_000 + number)
        self.tag = tag
        self.out = out
        self.t0 = t0
        self.sequence = 0
        self.clients = {role: make_client(data_dir, addresses, role) for role in ("custodian", "settler", "oracle")}
        self.last_price_s = 0.0

    def _id(self, what: str) -> str:
        self.sequence += 1
        return f"{self.tag}-k{self.number}-{what}{self.sequence}"

    def _batch(self):
        now = time.time()
        if self.number == 0 and now - self.last_price_s >= price_every_s:
            self.last_price_s = now
            return "oracle", [demo_price(self._id("p"), MARKET, MARK + self.rng.randint(-5, 5), now_ms())]
        size = self.rng.randint(1, batch_commands_max)
        if self.rng.random() < 0.6:
            commands = []
            for _ in range(size):
                account = f"c{self.number}-{self.rng.randrange(custody_accounts_per_client)}"
                if self.rng.random() < 0.7:
                    commands.append(Deposit(self._id("d"), account, 1_000 + self.sequence))
                else:
                    commands.append(Withdraw(self._id("w"), account, self.rng.randint(1, 3_000)))
            return "custodian", commands
        a, b = traders(self.number)
        fills = []
        for _ in range(size):
            buyer, seller = (a, b) if self.rng.random() < 0.5 else (b, a)
            fills.append(SettleTrade(self._id("t"), MARKET, buyer, seller, MARK, self.rng.randint(1, 3)))
        return "settler", fills

    def run(self, seconds: float) -> None:
        deadline = time.time() + seconds
        for _ in range(requests_max):
            if time.time() >= deadline:
                break
            role, commands = self._batch()
            submit_recorded(self.clients[role], commands, self.out, self.number, self.t0)
            time.sleep(pause_between_batches_s)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluster.chaos.load")
    parser.add_argument("--client", type=int, required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--addresses", required=True, help="comma-separated gRPC host:port")
    parser.add_argument("--out", required=True)
    parser.add_argument("--t0", type=float, required=True, help="the run's start (epoch seconds)")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="chaos")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop between requests' records, cleanly
    client = Client(args.client, Path(args.data), args.addresses.split(","), Path(args.out), args.t0, args.seed, args.tag)
    try:
        client.run(args.seconds)
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
