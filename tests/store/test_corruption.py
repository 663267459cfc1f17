"""A store whose bytes are not what this node committed is refused at load, never served."""

from __future__ import annotations

import pytest

from node.ledger.records import TABLE_ACCOUNT, TABLE_DEDUP, Account, encode_account
from node.store import LedgerStore, StoreCorruptError, StoreSchemaError
from node.store.layout import DATA_FILE_NAME, KEY_SCHEMA_VERSION, STORE_DB, encode_schema_version, schema_version

from .helpers import raw_put, raw_table, trading_session


def committed_store(path):
    with LedgerStore(path) as store:
        return trading_session(store)


def test_a_balance_changed_behind_the_stores_back_is_detected(tmp_path):
    committed_store(tmp_path / "node")
    raw_put(tmp_path / "node", TABLE_ACCOUNT, b"alice", encode_account(Account(10**12)))
    with LedgerStore(tmp_path / "node") as store, pytest.raises(StoreCorruptError, match="state hash mismatch"):
        store.load()


def test_a_record_added_behind_the_stores_back_is_detected(tmp_path):
    committed_store(tmp_path / "node")
    raw_put(tmp_path / "node", TABLE_ACCOUNT, b"mallory", encode_account(Account(1)))
    with LedgerStore(tmp_path / "node") as store, pytest.raises(StoreCorruptError):
        store.load()


def test_a_flipped_byte_in_a_stored_value_is_detected(tmp_path):
    driver = committed_store(tmp_path / "node")
    value = encode_account(driver.state.accounts["carol"])
    data_file = tmp_path / "node" / DATA_FILE_NAME
    data = bytearray(data_file.read_bytes())
    # Copy-on-write may leave stale copies of the page in free space; flip every copy, so the
    # live one is certainly among them. The byte is the collateral's lowest: it still decodes.
    offsets = [i for i in range(len(data)) if data.startswith(value, i)]
    assert offsets
    for offset in offsets:
        data[offset + 8] ^= 0x01
    data_file.write_bytes(bytes(data))
    with LedgerStore(tmp_path / "node") as store, pytest.raises(StoreCorruptError, match="state hash mismatch"):
        store.load()


def test_an_undecodable_record_is_reported_as_corruption(tmp_path):
    committed_store(tmp_path / "node")
    (key, value), *_ = raw_table(tmp_path / "node", TABLE_DEDUP).items()
    raw_put(tmp_path / "node", TABLE_DEDUP, key, b"\x09" + value[1:])  # unknown version byte
    with LedgerStore(tmp_path / "node") as store, pytest.raises(StoreCorruptError, match="undecodable"):
        store.load()


def test_a_command_id_in_two_dedup_batches_is_reported_as_corruption(tmp_path):
    committed_store(tmp_path / "node")
    (key, value), *_ = raw_table(tmp_path / "node", TABLE_DEDUP).items()
    raw_put(tmp_path / "node", TABLE_DEDUP, b"9" * len(key), value)  # the same ids under another entry
    with LedgerStore(tmp_path / "node") as store, pytest.raises(StoreCorruptError, match="undecodable.*repeats"):
        store.load()


def test_a_truncated_record_is_reported_as_corruption(tmp_path):
    committed_store(tmp_path / "node")
    raw_put(tmp_path / "node", TABLE_ACCOUNT, b"alice", b"\x01\x00")
    with LedgerStore(tmp_path / "node") as store, pytest.raises(StoreCorruptError, match="undecodable"):
        store.load()


def test_a_damaged_data_file_is_refused_at_open(tmp_path):
    committed_store(tmp_path / "node")
    data_file = tmp_path / "node" / DATA_FILE_NAME
    data_file.write_bytes(b"\x00" * data_file.stat().st_size)  # both meta pages gone
    with pytest.raises(StoreCorruptError):
        LedgerStore(tmp_path / "node")


def test_a_store_of_another_schema_version_is_refused_at_open(tmp_path):
    committed_store(tmp_path / "node")
    raw_put(tmp_path / "node", STORE_DB, KEY_SCHEMA_VERSION, encode_schema_version(schema_version + 1))
    with pytest.raises(StoreSchemaError):
        LedgerStore(tmp_path / "node")
