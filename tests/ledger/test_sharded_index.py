"""The ledger's largest indexes grow shard by shard (node/ledger/sharded_index.py).

A dict that grows copies all its entries in one step that holds the interpreter lock: at 5.6
million dedup records that step stopped every replica's heartbeats for over a second. No timing
is asserted here: the tests pin what bounds the step (how many entries one shard holds) and that
the index answers as a dict would.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from node.ledger import LedgerState
from node.ledger.limits import index_shards
from node.ledger.sharded_index import ShardedIndex


def test_a_growing_index_holds_a_small_share_of_its_entries_in_any_one_shard():
    index = ShardedIndex()
    entries = 100 * index_shards
    for n in range(entries):
        index.add(f"cmd-{n}", n)
    assert len(index) == entries
    assert max(len(shard) for shard in index.shards) <= 2 * entries // index_shards


def test_the_dedup_index_of_a_ledger_is_sharded():
    assert isinstance(LedgerState().dedup, ShardedIndex)


def test_iterating_an_index_gives_its_keys_in_sorted_order():
    index = ShardedIndex()
    for key in ("b", "c", "a", "aa"):
        index.add(key, key)
    assert list(index) == ["a", "aa", "b", "c"]
    assert list(index.items()) == [("a", "a"), ("aa", "aa"), ("b", "b"), ("c", "c")]


operations = st.lists(st.tuples(st.sampled_from(["add", "replace", "delete", "pop"]),
                                st.integers(0, 30), st.one_of(st.none(), st.integers(0, 5))), max_size=200)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_an_index_answers_every_lookup_as_a_dict_would(steps):
    index, reference = ShardedIndex(), {}
    for operation, k, value in steps:
        key = f"k{k}"
        if operation == "add" and key not in reference and value is not None:
            index.add(key, value)
            reference[key] = value
        elif operation == "replace":
            assert index.replace(key, value) == reference.pop(key, None)
            if value is not None:
                reference[key] = value
        elif operation == "delete" and key in reference:
            del index[key]
            del reference[key]
        elif operation == "pop":
            assert index.pop(key, "none") == reference.pop(key, "none")
        assert len(index) == len(reference)
        assert index.get(key) == reference.get(key) and (key in index) == (key in reference)
    assert index == reference and dict(index.items()) == reference

