"""What settle-node's assembly (node/main.py) does with a port it cannot bind after its start-up
check passed (another process took it in between): it stops, as the check would have made it."""

from __future__ import annotations

import pytest

from node.main import start_metrics
from node.metrics import NodeMetrics
from node.port_check import METRICS, AddressInUse
from tests.listener import listening


def test_a_metrics_port_that_cannot_be_bound_stops_the_node():
    with listening(share_port=False) as port, pytest.raises(AddressInUse, match=f"metrics on 127.0.0.1:{port}") as refused:
        start_metrics(NodeMetrics(), f"127.0.0.1:{port}")
    assert refused.value.service == METRICS
