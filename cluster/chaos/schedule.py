"""The fault schedule: a pure function of the seed, so a seed reproduces a run's faults.

A schedule is a list of steps; a step holds one fault, or (with `simultaneous=2`) two faults on
different nodes that start together. Each fault says its kind, how long it lasts, whom it hits
("leader": whoever leads when it starts, else the drawn node) and its variant, and the step says
how long to let the cluster recover afterwards. The runner executes steps in order until the run's
time is up, so the same seed gives the same sequence whatever the machine's speed; how many steps
fit depends on the time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

KINDS = ("kill", "pause", "partition", "restart", "powercut", "corrupt")
WHOLE_CLUSTER_KINDS = ("restart", "powercut")  # every node at once: never paired with another fault
leader_bias = 0.6  # share of single-node faults aimed at the leader
steps_max = 10_000

# Seconds each kind lasts (drawn uniformly from the range): long enough to force an election
# (election timeout 0.5-1 s, leader fallback 2.5 s), short enough for 10 cycles a minute.
duration_s = {
    "kill": (0.8, 2.5),  # down, then restarted on its data
    "pause": (0.8, 3.0),  # SIGSTOP .. SIGCONT
    "partition": (1.5, 4.0),  # past the leader fallback (2.5 s) about half the time
    "restart": (0.2, 1.0),  # every node down
    "powercut": (0.2, 1.0),
    "corrupt": (0.2, 0.5),  # down while its files are damaged
}
recovery_s = (0.3, 1.2)  # after a leader is back, before the next step


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    duration_s: float
    target: str | int  # "leader" or a node number
    variant: str = ""  # partition: isolate | split; corrupt: lmdb | journal
    salt: int = 0  # a per-fault random number (where corrupt flips bytes)


@dataclass(frozen=True, slots=True)
class Step:
    faults: tuple[Fault, ...]
    recovery_s: float


def _fault(rng: random.Random, kind: str, nodes: int, exclude: set[int]) -> Fault:
    low, high = duration_s[kind]
    candidates = [n for n in range(1, nodes + 1) if n not in exclude]
    target: str | int = rng.choice(candidates)
    if kind not in WHOLE_CLUSTER_KINDS and not exclude and rng.random() < leader_bias:
        target = "leader"
    variant = ""
    if kind == "partition":
        variant = rng.choice(("isolate", "split")) if nodes >= 5 else rng.choice(("isolate", "isolate", "split"))
    elif kind == "corrupt":
        variant = rng.choice(("lmdb", "journal"))
    return Fault(kind, round(rng.uniform(low, high), 3), target, variant, rng.randrange(1 << 30))


def parse_kinds(text: str) -> dict[str, float]:
    """'kill,pause,corrupt:0.25' -> {kind: weight}: a kind of weight w < 1 is in each round of
    the deck with probability w (corrupt restores a node from its peers: slow, so rarer)."""
    weights = {}
    for item in (part.strip() for part in text.split(",")):
        if item:
            kind, _, weight = item.partition(":")
            weights[kind] = float(weight) if weight else 1.0
            assert 0 < weights[kind] <= 1, item
    return weights


def make_schedule(seed: int, kinds: tuple[str, ...], nodes: int, simultaneous: int = 1,
                  steps: int = steps_max, weights: dict[str, float] | None = None) -> list[Step]:
    """Steps drawn from `seed`. Kinds rotate through a shuffled deck, so every kind comes up
    evenly (a short run sees each one; a kind of weight w < 1 is left out of a round with
    probability 1 - w). With simultaneous=2, single-node kinds come in pairs on two different
    nodes (leader-biased first); whole-cluster kinds come alone."""
    assert kinds and set(kinds) <= set(KINDS), kinds
    assert simultaneous in (1, 2) and steps <= steps_max
    weights = weights or {}
    rng = random.Random(seed)
    deck: list[str] = []
    schedule = []
    for _ in range(steps):
        while not deck:
            deck = [k for k in kinds if rng.random() < weights.get(k, 1.0)]
            rng.shuffle(deck)
        kind = deck.pop()
        first = _fault(rng, kind, nodes, set())
        faults = (first,)
        singles = [k for k in kinds if k not in WHOLE_CLUSTER_KINDS]
        if simultaneous == 2 and kind not in WHOLE_CLUSTER_KINDS and singles:
            taken = {first.target} if isinstance(first.target, int) else set()
            second = _fault(rng, rng.choice(singles), nodes, taken | {0})
            faults = (first, second)
        schedule.append(Step(faults, round(rng.uniform(*recovery_s), 3)))
    return schedule
