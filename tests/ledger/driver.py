"""A test driver for the pure ledger: builds entries, applies them, checks every invariant."""

from __future__ import annotations

from dataclasses import replace

from node.codec.batch import commands_digest, encode_commands
from node.codec.commands import command_to_proto
from node.identity.keys import private_key_from_seed, raw_public_key, sign_price, verify_ed25519
from node.ledger import LedgerState, LogEntry, apply, check_full
from node.ledger.commands import (
    BatchSignature,
    CheckpointVote,
    CreateMarket,
    Deposit,
    EmergencyAction,
    MarketKind,
    OracleSource,
    PriceUpdate,
    SettleTrade,
    Withdraw,
)
from node.ledger.events import Event
from node.ledger.governance import policy
from node.ledger.results import Result
from node.ledger.signed_batches import batch_signing_bytes

# Once a signer set is installed every batch must be signed by a key whose role may submit it:
# the driver signs each run of same-role commands as the submitter of that role.
# (Guardian and node batches are signed by guardian-1 and node-1 of tests/ledger/governance.py.)
SUBMITTERS = {
    **{role: (f"{role}-1", private_key_from_seed(f"submitter key {role}")) for role in ("settler", "custodian", "oracle", "operator")},
    "guardian-submitter": ("guardian-1", private_key_from_seed("guardian key 1")),
    "node-submitter": ("node-1", private_key_from_seed("node key 1")),
}
_ROLE_OF = {
    SettleTrade: "settler", Deposit: "custodian", Withdraw: "custodian", PriceUpdate: "oracle",
    CreateMarket: "operator", EmergencyAction: "guardian-submitter", CheckpointVote: "node-submitter",
}

MARKET = "BTC-PERP"
SOURCE = "src-a"


def source_key(source: str):
    """Every test source signs with a key derived from its name."""
    return private_key_from_seed(f"oracle:{source}")


def oracle_source(source: str) -> OracleSource:
    return OracleSource(source, raw_public_key(source_key(source)))


def signed_price(command_id: str, market: str, source: str, price: int, source_time_ms: int) -> PriceUpdate:
    signature = sign_price(source_key(source), market, source, price, source_time_ms)
    return PriceUpdate(command_id, market, source, price, source_time_ms, signature)


_DEFAULT_MARKET = CreateMarket(
    id="create-BTC-PERP",
    market=MARKET,
    kind=MarketKind.PERPETUAL,
    tick_size=1,
    lot_size=1,
    initial_margin_bps=1_000,  # 10%
    maintenance_margin_bps=500,  # 5%
    liquidation_fee_bps=100,  # 1%
    open_interest_cap=1_000_000,
    trade_band_bps=1_000,
    band_bps=2_000,
    band_window_ms=60_000,
    cooldown_ms=60_000,
    sources=(oracle_source(SOURCE),),
)


def create_market(**overrides) -> CreateMarket:
    cmd = replace(_DEFAULT_MARKET, **overrides)
    if "market" in overrides and "id" not in overrides:
        cmd = replace(cmd, id=f"create-{cmd.market}")
    return cmd


def sign_batches(state: LedgerState, commands: tuple, signed_at_ms: int, sequences: dict[str, int]) -> tuple[BatchSignature, ...]:
    """Before genesis: none (one unsigned batch). After: one batch per run of commands of one
    role, each signed by that role's submitter (SUBMITTERS) at `signed_at_ms`."""
    rules = policy(state)
    if rules is None or not commands:
        return ()
    runs: list[list] = []
    for command in commands:
        if runs and _ROLE_OF[type(runs[-1][0])] == _ROLE_OF[type(command)]:
            runs[-1].append(command)
        else:
            runs.append([command])
    return tuple(signed_batch(run, rules["cluster"], signed_at_ms, sequences) for run in runs)


def signed_batch(commands: list, cluster: str, signed_at_ms: int, sequences: dict[str, int], role: str | None = None,
                 sequence: int | None = None) -> BatchSignature:
    """`commands` signed as one batch by the submitter of `role` (default: the first command's)."""
    key_id, key = SUBMITTERS[role or _ROLE_OF[type(commands[0])]]
    if sequence is None:
        sequence = sequences[key_id] = sequences.get(key_id, 0) + 1
    digest = commands_digest(encode_commands(commands))
    signature = key.sign(batch_signing_bytes(cluster, key_id, sequence, signed_at_ms, digest))
    return BatchSignature(len(commands), key_id, sequence, signed_at_ms, signature, digest)


class LedgerDriver:
    """Applies one entry per call with a fresh index and a clock that moves 1 s per entry."""

    def __init__(self) -> None:
        self.state = LedgerState()
        self.index = 0
        self.time_ms = 1_000_000
        self.events: list[Event] = []
        self._ids = 0
        self._sequences: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids}"

    def run(self, *commands, time_ms: int | None = None) -> tuple[Result, ...]:
        self.index += 1
        self.time_ms = time_ms if time_ms is not None else self.time_ms + 1_000
        entry = LogEntry(self.index, self.time_ms, tuple(commands), self.sign_batches(tuple(commands)))
        return self.apply_entry(entry)

    def apply_entry(self, entry: LogEntry) -> tuple[Result, ...]:
        """Apply an entry as built (its batches signed or not, as a rogue leader might log it)."""
        outcome = apply(self.state, entry, verify_ed25519)
        check_full(self.state)
        self.events.extend(outcome.events)
        return outcome.results

    def sign_batches(self, commands: tuple, signed_at_ms: int | None = None) -> tuple[BatchSignature, ...]:
        return sign_batches(self.state, commands, self.time_ms if signed_at_ms is None else signed_at_ms, self._sequences)

    def signed_batch(self, commands: list, cluster: str, signed_at_ms: int | None = None, role: str | None = None,
                     sequence: int | None = None) -> BatchSignature:
        return signed_batch(commands, cluster, self.time_ms if signed_at_ms is None else signed_at_ms, self._sequences, role, sequence)

    def one(self, command) -> Result:
        (result,) = self.run(command)
        return result

    # -- shorthands -------------------------------------------------------------------------

    def deposit(self, account: str, amount: int) -> Result:
        return self.one(Deposit(self.next_id("dep"), account, amount))

    def withdraw(self, account: str, amount: int) -> Result:
        return self.one(Withdraw(self.next_id("wd"), account, amount))

    def price(self, price: int, market: str = MARKET, source: str = SOURCE) -> Result:
        """A signed price from `source`, stamped just after the previous entry's time."""
        return self.one(signed_price(self.next_id("px"), market, source, price, self.time_ms + 1))

    def trade(self, buyer: str, seller: str, price: int, quantity: int, market: str = MARKET, **fees) -> Result:
        return self.one(SettleTrade(self.next_id("tr"), market, buyer, seller, price, quantity, **fees))

    def collateral(self, account: str) -> int:
        return self.state.accounts[account].collateral

    def size(self, account: str, market: str = MARKET) -> int:
        position = self.state.position(account, market)
        return position.size if position else 0


def listed_market_with_traders(mark: int = 50_000, collateral: int = 10_000_000) -> LedgerDriver:
    """A BTC-PERP market with a mark, and alice and bob funded."""
    driver = LedgerDriver()
    driver.one(create_market())
    driver.price(mark)
    driver.deposit("alice", collateral)
    driver.deposit("bob", collateral)
    return driver
