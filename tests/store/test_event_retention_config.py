"""`events_retention_entries` in a node's TOML: optional, a positive number of log entries."""

from __future__ import annotations

import pytest

from node.config import ConfigError, load_config
from node.store.layout import events_retention_entries_default
from tests.ops.test_metrics_config import write_config


def test_events_retention_entries_is_optional(tmp_path):
    assert load_config(write_config(tmp_path, "")).events_retention_entries == events_retention_entries_default
    assert load_config(write_config(tmp_path, "events_retention_entries = 500")).events_retention_entries == 500


@pytest.mark.parametrize("value", ["0", "-1", '"100"', "1.5"])
def test_an_events_retention_that_is_not_a_positive_integer_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="events_retention_entries"):
        load_config(write_config(tmp_path, f"events_retention_entries = {value}"))
