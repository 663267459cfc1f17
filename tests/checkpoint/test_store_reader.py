"""A store reader: the store exactly as committed when it was opened, walked from another thread;
closing the store closes it first."""

from __future__ import annotations

import threading

import pytest

from node.ledger.commands import Deposit
from node.store import LedgerStore
from node.store.readers import ReaderClosed, reader_chunk_records
from tests.store.helpers import CommittingDriver, trading_session


def test_a_reader_sees_the_commit_it_was_opened_at(tmp_path):
    with LedgerStore(tmp_path / "ledger") as store:
        driver = trading_session(store)
        expected = sorted((t, k.encode(), v) for t, k, v in driver.state.records())
        reader = store.open_reader()
        driver.deposit("dave", 5)  # committed after the reader opened: not in its view
        walked: list = []
        thread = threading.Thread(target=lambda: walked.extend(reader.records()))
        thread.start()
        thread.join(10)
        reader.close()
        assert sorted(walked) == expected
        assert reader.applied_index == driver.state.applied_index - 1


def test_a_reader_walks_more_than_one_chunk(tmp_path):
    with LedgerStore(tmp_path / "ledger") as store:
        driver = CommittingDriver(store)
        accounts = reader_chunk_records * 2 + 5
        driver.run(*[Deposit(f"d{n}", f"acct-{n:05d}", 1) for n in range(accounts)])
        with store.open_reader() as reader:
            walked = sorted(reader.records())
        assert len([r for r in walked if r[0] == b"account"]) > accounts
        assert walked == sorted((t, k.encode(), v) for t, k, v in driver.state.records())


def test_closing_the_store_closes_its_readers(tmp_path):
    store = LedgerStore(tmp_path / "ledger")
    trading_session(store)
    reader = store.open_reader()
    walk = reader.records()
    next(walk)
    store.close()
    with pytest.raises(ReaderClosed):
        list(walk)
