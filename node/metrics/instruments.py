"""The counters and histograms updated on the hot paths (apply, Submit).

Cost per applied entry: two histogram observes (apply, LMDB commit), one counter increment, and
one counter increment per distinct (command kind, result code) in the entry, aggregated first.
Never per-command label lookups: the labelled children are cached by (type, code).
"""

from __future__ import annotations

from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds. Apply and commit are usually sub-millisecond to a few ms; Submit includes a Raft round.
_apply_buckets = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_submit_buckets = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Commands per Submit request (the SDK's batches; node/codec/limits bounds them).
_entries_per_commit_buckets = (1, 2, 4, 8, 16, 32, 64)
_batch_buckets = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 4000)


class NodeMetrics:
    """One node process's instruments, in its own registry (`registry`)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.entries_applied = Counter(
            "settle_entries_applied", "Raft entries applied to the ledger by this node", registry=r)
        self.commands_applied = Counter(
            "settle_commands_applied", "Commands applied, by command kind and result code",
            ["kind", "code"], registry=r)
        self.apply_seconds = Histogram(
            "settle_apply_seconds", "Time to apply one entry to the ledger (no IO)",
            buckets=_apply_buckets, registry=r)
        self.commit_seconds = Histogram(
            "settle_lmdb_commit_seconds", "Time of one synced LMDB commit (an entry, or a run of "
            "entries applied together)", buckets=_apply_buckets, registry=r)
        self.entries_per_commit = Histogram(
            "settle_entries_per_commit", "Entries written by one synced LMDB commit (more than one when "
            "entries were waiting to be applied)", buckets=_entries_per_commit_buckets, registry=r)
        self.submit_seconds = Histogram(
            "settle_submit_seconds", "Submit latency on this node, decode to answer",
            buckets=_submit_buckets, registry=r)
        self.submit_batch_commands = Histogram(
            "settle_submit_batch_commands", "Commands per Submit request",
            buckets=_batch_buckets, registry=r)
        self.batches_refused_before_logging = Counter(
            "settle_batches_refused_before_logging", "Submit batches this node answered with the ledger's "
            "refusal without logging them (unsigned, unknown key, bad signature, ...), by result code",
            ["code"], registry=r)
        # Set once at start from the certificate files (node/main.py); alerts on near expiry.
        self.tls_certificate_expiry = Gauge(
            "settle_tls_certificate_expiry_timestamp_seconds",
            "notAfter of this node's TLS certificates (Unix seconds), by certificate: node, ca",
            ["certificate"], registry=r)
        self._command_children: dict[tuple[type, int], object] = {}

    def batch_refused_before_logging(self, code) -> None:
        """A Submit batch refused by the ledger's verdict before it was logged (event loop)."""
        self.batches_refused_before_logging.labels(code.name).inc()

    def entries_written(self, entries: int, commit_s: float) -> None:
        """One synced store commit of `entries` applied entries (apply thread)."""
        self.commit_seconds.observe(commit_s)
        self.entries_per_commit.observe(entries)

    def entry_applied(self, commands, results, apply_s: float) -> None:
        """One applied entry (apply thread): `commands` and `results` are the entry's, aligned."""
        self.entries_applied.inc()
        self.apply_seconds.observe(apply_s)
        if not commands:
            return
        tally = Tally((type(cmd), result.code) for cmd, result in zip(commands, results))
        children = self._command_children
        for key, count in tally.items():
            child = children.get(key)
            if child is None:
                kind, code = key
                child = children[key] = self.commands_applied.labels(kind.__name__, code.name)
            child.inc(count)
