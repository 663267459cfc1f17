"""The conformance tests start a real local cluster with the cluster tests' fixture."""

from tests.cluster.conftest import make_cluster  # noqa: F401 - a fixture, found by name
