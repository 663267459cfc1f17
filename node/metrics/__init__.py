"""Prometheus metrics of one node: instruments on the hot paths, gauges read at scrape time.

`NodeMetrics` (instruments.py) owns a dedicated CollectorRegistry (never the process-global one,
so in-process test nodes do not collide); `StateCollector` (collector.py) derives the gauges from
the replica's status and state when Prometheus scrapes; `serve` (http.py) exposes the registry.
Labels come only from fixed enums, market ids (at most limits.markets_max) and node ids.
"""

from node.metrics.collector import StateCollector
from node.metrics.http import MetricsServer, serve
from node.metrics.instruments import NodeMetrics

__all__ = ["MetricsServer", "NodeMetrics", "StateCollector", "serve"]
