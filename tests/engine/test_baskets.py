"""Baskets, itemsets and sequential rules pushed down equal custlab's own miners; Groceries' published rules."""

from __future__ import annotations

import polars as pl
import pytest

import custlab as cl
from custlab import engine

from .helpers import same


@pytest.mark.parametrize(("support", "confidence", "rules", "by_length"), [
    (0.001, 0.5, 5668, {2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46}),
    (0.006, 0.25, 463, {2: 150, 3: 297, 4: 16}),
])
def test_groceries_published_rules_through_the_engine(backend, groceries, support, confidence, rules, by_length):
    # R arules apriori on Groceries (Hahsler et al. 2006): the counts of rules and of rules by length.
    itemsets = backend("frequent_itemsets", groceries, min_support=support)
    same(cl.rules.frequent_itemsets(groceries, min_support=support), itemsets)
    found = cl.rules.association_rules(itemsets, min_confidence=confidence)
    assert found.height == rules
    assert dict(found.group_by("length").len().sort("length").iter_rows()) == by_length
    if support == 0.001:
        honey = found.filter(pl.col("antecedent") == ["honey"]).row(0, named=True)
        assert (honey["support"], honey["confidence"], honey["lift"]) == pytest.approx(
            (0.001118454, 0.7333333, 2.870009), rel=1e-6)


def test_max_len_and_item_and_pair_counts(backend, groceries):
    same(cl.rules.frequent_itemsets(groceries, min_support=0.01, max_len=2),
         backend("frequent_itemsets", groceries, min_support=0.01, max_len=2))
    items = engine.item_counts(backend.convert(groceries))
    assert items.height == 169 and items.row(0) == ("whole milk", 2513)
    pairs = engine.pair_counts(backend.convert(groceries), min_count=99)
    two = cl.rules.frequent_itemsets(groceries, min_support=99 / 9835, max_len=2).filter(pl.col("length") == 2)
    assert pairs.height == two.height and pairs.row(0) == ("other vegetables", "whole milk", 736)


def test_baskets_stay_on_the_engine_and_mine_the_same(backend, retail):
    pushed = backend("baskets", retail, by="order_id", item="product_id")
    if backend.name == "duckdb":
        assert not isinstance(pushed, (pl.DataFrame, pl.LazyFrame))  # nothing collected
    own = cl.rules.baskets(retail)
    same(cl.rules.frequent_itemsets(own, min_support=0.02), cl.rules.frequent_itemsets(pushed, min_support=0.02)
         if backend.name == "duckdb" else engine.frequent_itemsets(pushed, min_support=0.02))


@pytest.mark.parametrize("kwargs", [
    {"within": "60d", "item": "category", "min_support": 0.01},
    {"within": "30d", "item": "product_id", "min_support": 0.005, "complete_window": False, "as_of": "2024-10-01"},
    {"within": "90d", "item": "category", "min_support": 0.01, "antecedents": ["outdoor", "gifts", "food"],
     "consequents": ["home_decor", "apparel", "baby"], "min_confidence": 0.05},
])
def test_sequential_rules(backend, shop, kwargs):
    expected = cl.rules.sequential_rules(shop.transactions, **kwargs)
    assert expected.height
    same(expected, backend("sequential_rules", shop.transactions, **kwargs))
