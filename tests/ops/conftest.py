"""The ops tests use the cluster tests' real-process fixtures."""

from tests.cluster.conftest import make_cluster  # noqa: F401 - a fixture, found by name
