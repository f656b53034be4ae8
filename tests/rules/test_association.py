"""Association rules: published arules Groceries counts, mlxtend equality, properties, errors."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlab import rules as R
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

from .helpers import as_dict, brute_itemsets, long_table

# --------------------------------------------------------------------------- Groceries (R arules)


def test_groceries_5668_rules_with_published_split(groceries_0001):
    # Hahsler et al., arules: apriori(Groceries, parameter = list(supp = 0.001, conf = 0.5)).
    rules = R.association_rules(groceries_0001, min_confidence=0.5, min_len=1)
    assert rules.height == 5668
    split = dict(rules.group_by("length").len().iter_rows())
    assert split == {2: 11, 3: 1461, 4: 3211, 5: 939, 6: 46}


def test_groceries_honey_whole_milk(groceries_0001):
    rules = R.association_rules(groceries_0001, min_confidence=0.5)
    row = rules.filter(pl.col("antecedent") == ["honey"], pl.col("consequent") == ["whole milk"])
    assert row.height == 1
    assert row["support"].item() == pytest.approx(0.001118454, abs=1e-6)
    assert row["confidence"].item() == pytest.approx(0.7333333, abs=1e-6)
    assert row["lift"].item() == pytest.approx(2.870009, abs=1e-6)


def test_groceries_129_rules_at_confidence_09(groceries_0001):
    assert R.association_rules(groceries_0001, min_confidence=0.9, min_len=1).height == 129


def test_groceries_463_rules_min_len_2(groceries_0006):
    rules = R.association_rules(groceries_0006, min_confidence=0.25, min_len=2)
    assert rules.height == 463
    assert dict(rules.group_by("length").len().iter_rows()) == {2: 150, 3: 297, 4: 16}
    # "{potted plants}" is spelled "pot plants" in the data, as in arules' item labels.
    row = rules.filter(pl.col("antecedent") == ["pot plants"], pl.col("consequent") == ["whole milk"])
    assert row["support"].item() == pytest.approx(0.006914082, abs=1e-6)
    assert row["confidence"].item() == pytest.approx(0.40, abs=1e-6)
    assert row["lift"].item() == pytest.approx(1.565460, abs=1e-6)


def test_groceries_min_len_1_adds_the_empty_antecedent_rule(groceries_0006):
    # arules' default minlen = 1 gives {} => {whole milk} (support 0.2555 >= confidence 0.25):
    # this is why the published 463 needs minlen = 2.
    rules = R.association_rules(groceries_0006, min_confidence=0.25, min_len=1)
    assert rules.height == 464
    empty = rules.filter(pl.col("length") == 1)
    assert empty["antecedent"].to_list() == [[]]
    assert empty["consequent"].to_list() == [["whole milk"]]
    assert empty["confidence"].item() == pytest.approx(empty["consequent_support"].item())
    assert empty["lift"].item() == pytest.approx(1.0)


def test_groceries_default_thresholds_give_no_rule(groceries):
    itemsets = R.frequent_itemsets(groceries, min_support=0.1)
    assert R.association_rules(itemsets, min_confidence=0.8, min_len=1).height == 0


def test_groceries_metrics_equal_mlxtend(groceries_0006):
    pytest.importorskip("mlxtend")
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules

    n = 9835
    frame = pd.DataFrame({"support": groceries_0006["support"].to_list(),
                          "itemsets": [frozenset(s) for s in groceries_0006["itemset"].to_list()]})
    theirs = association_rules(frame, num_itemsets=n, metric="confidence", min_threshold=0.25)
    ours_any = R.association_rules(groceries_0006, min_confidence=0.25, consequents="any")
    assert ours_any.height == len(theirs)
    ref = {(frozenset(a), frozenset(c)): row for a, c, row in
           zip(theirs["antecedents"], theirs["consequents"], theirs.to_dict("records"))}
    names = {"antecedent_support": "antecedent support", "consequent_support": "consequent support",
             "support": "support", "confidence": "confidence", "lift": "lift", "leverage": "leverage",
             "conviction": "conviction", "zhangs_metric": "zhangs_metric", "jaccard": "jaccard",
             "certainty": "certainty", "kulczynski": "kulczynski"}
    for row in ours_any.iter_rows(named=True):
        other = ref[(frozenset(row["antecedent"]), frozenset(row["consequent"]))]
        for ours_name, their_name in names.items():
            assert row[ours_name] == pytest.approx(other[their_name], rel=1e-9, abs=1e-12), ours_name


def test_rules_filters_by_any_metric(groceries_0001):
    rules = R.association_rules(groceries_0001, min_confidence=0.5, min_lift=3.0,
                                min_metrics={"leverage": 0.001, "support": 0.002}, max_len=3)
    assert rules.height > 0
    assert rules["lift"].min() >= 3.0 and rules["leverage"].min() >= 0.001
    assert rules["support"].min() >= 0.002 and rules["length"].max() <= 3
    assert rules["lift"].to_list() == sorted(rules["lift"].to_list(), reverse=True)


# --------------------------------------------------------------------------- properties


basket_lists = st.lists(
    st.lists(st.sampled_from(list("abcdef")), min_size=1, max_size=6), min_size=1, max_size=40
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(baskets=basket_lists, min_support=st.sampled_from([0.05, 0.1, 0.25, 0.5, 1.0]))
def test_property_itemsets_match_enumeration(baskets, min_support):
    got = as_dict(R.frequent_itemsets(long_table(baskets), min_support=min_support))
    assert got == brute_itemsets(baskets, min_support)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(baskets=basket_lists, min_support=st.sampled_from([0.05, 0.1, 0.25]),
       consequents=st.sampled_from(["single", "any"]))
def test_property_rule_invariants(baskets, min_support, consequents):
    itemsets = R.frequent_itemsets(long_table(baskets), min_support=min_support)
    support = {frozenset(s): v for s, v in zip(itemsets["itemset"].to_list(), itemsets["support"].to_list())}
    # Support never rises when an item is added.
    for itemset, value in support.items():
        for item in itemset:
            smaller = itemset - {item}
            if smaller:
                assert value <= support[smaller]
    rules = R.association_rules(itemsets, min_confidence=0.0, min_len=1, consequents=consequents)
    assert rules["confidence"].is_between(0.0, 1.0).all()
    n = len(baskets)
    for row in rules.iter_rows(named=True):
        a, c = set(row["antecedent"]), set(row["consequent"])
        both = sum(1 for b in baskets if (a | c) <= set(b))
        has_a = sum(1 for b in baskets if a <= set(b))
        assert row["count"] == both
        assert row["confidence"] == pytest.approx(both / has_a)
        assert row["support"] == pytest.approx(both / n)
    # Lift of a pair rule is the same in both directions.
    pairs = rules.filter(pl.col("length") == 2, pl.col("antecedent").list.len() == 1)
    lift = {(r[0][0], r[1][0]): r[2] for r in pairs.select("antecedent", "consequent", "lift").iter_rows()}
    for (a, c), value in lift.items():
        assert lift[(c, a)] == pytest.approx(value)


# --------------------------------------------------------------------------- baskets()


def test_baskets_from_transactions_dedupes_and_carries_customer_and_date():
    t = [dt.datetime(2024, 1, 2, 9), dt.datetime(2024, 1, 2, 8), dt.datetime(2024, 1, 2, 9), dt.datetime(2024, 2, 1)]
    tx = pl.DataFrame({"customer_id": [1, 1, 1, 2], "order_id": ["A", "A", "A", "B"], "order_date": t,
                       "product_id": ["p1", "p2", "p1", "p1"], "category": ["x", "y", "x", "x"]})
    out = R.baskets(tx.lazy())
    assert out.columns == ["basket_id", "item", "customer_id", "order_date"]
    assert out.rows() == [("A", "p1", 1, dt.datetime(2024, 1, 2, 8)), ("A", "p2", 1, dt.datetime(2024, 1, 2, 8)),
                          ("B", "p1", 2, dt.datetime(2024, 2, 1))]
    by_customer = R.baskets(tx, by="customer_id", item="category")
    assert by_customer.columns == ["basket_id", "item", "order_date"]
    assert by_customer.select("basket_id", "item").rows() == [(1, "x"), (1, "y"), (2, "x")]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, float("nan"), True, "0.1", None])
def test_min_support_outside_unit_interval(bad):
    with pytest.raises(CustlabError, match=r"min_support must be a number in \(0, 1\], got .*share of baskets"):
        R.frequent_itemsets(long_table([["a"]]), min_support=bad)


def test_empty_baskets_table():
    empty = pl.DataFrame(schema={"basket_id": pl.Int64, "item": pl.String})
    with pytest.raises(EmptyDataError, match=r"baskets table is empty \(0 rows\)"):
        R.frequent_itemsets(empty, min_support=0.1)
    with pytest.raises(EmptyDataError, match=r"transactions table is empty"):
        R.baskets(pl.DataFrame(schema={"order_id": pl.Int64, "product_id": pl.String}))


def test_null_items_are_refused_with_count_and_fix():
    df = pl.DataFrame({"basket_id": [1, 1, 2, 3], "item": ["a", None, None, "b"]})
    with pytest.raises(CustlabError, match=r"Column 'item' has 2 null value\(s\) in 2 basket\(s\), e\.g\. \[1, 2\]\. "
                                           r"A basket cannot hold an unknown item: drop those rows"):
        R.frequent_itemsets(df, min_support=0.1)
    tx = pl.DataFrame({"order_id": [1, 1], "product_id": ["a", None]})
    with pytest.raises(CustlabError, match=r"Column 'product_id' has 1 null value\(s\) in 1 basket\(s\)"):
        R.baskets(tx)


def test_an_item_or_basket_argument_that_is_no_column_names_the_argument_and_a_likely_column():
    # Online Retail's raw name: the message had said "Map yours with columns={'<your Description column>': ...}"
    tx = pl.DataFrame({"order_id": [1, 1], "product_id": ["a", "b"], "product_name": ["A", "B"]})
    with pytest.raises(SchemaError, match=r"item='Description' is not a column of the transactions; its columns are "
                                          r"\['order_id', 'product_id', 'product_name'\]\. Did you mean "
                                          r"item='product_name'\?"):
        R.baskets(tx, item="Description")
    with pytest.raises(SchemaError, match=r"by='InvoiceNo' .* Did you mean by='order_id'\?"):
        R.baskets(tx, by="InvoiceNo")
    with pytest.raises(SchemaError, match=r"item='colour' is not a column .*\]\.$"):
        R.baskets(tx, item="colour")


def test_missing_columns_and_wrong_types():
    with pytest.raises(SchemaError, match=r"missing column\(s\) to mine itemsets.*\['item'\]"):
        R.frequent_itemsets(pl.DataFrame({"basket_id": [1], "product": ["a"]}), min_support=0.5)
    with pytest.raises(TypeError, match="baskets must be a polars DataFrame or LazyFrame"):
        R.frequent_itemsets([["a"]], min_support=0.5)
    with pytest.raises(CustlabError, match=r"max_len must be an integer >= 1 or None, got 0"):
        R.frequent_itemsets(long_table([["a"]]), min_support=0.5, max_len=0)


def test_rule_arguments_are_checked():
    itemsets = R.frequent_itemsets(long_table([["a", "b"], ["a"]]), min_support=0.5)
    with pytest.raises(CustlabError, match=r"min_confidence must be a number in \[0, 1\], got 1.2"):
        R.association_rules(itemsets, min_confidence=1.2)
    with pytest.raises(CustlabError, match=r"min_metrics names unknown metric\(s\) \['lif'\]"):
        R.association_rules(itemsets, min_metrics={"lif": 1.0})
    with pytest.raises(CustlabError, match=r"consequents must be 'single' or 'any', got 'many'"):
        R.association_rules(itemsets, consequents="many")


def test_filtered_itemsets_are_refused():
    itemsets = R.frequent_itemsets(long_table([["a", "b"], ["a", "b"], ["a"]]), min_support=0.5)
    with pytest.raises(CustlabError, match=r"lacks the subset \{b\} of the itemset \{a, b\} \(1 itemset\(s\) of length 2.*Pass the whole output"):
        R.association_rules(itemsets.filter(pl.col("length") == 2), min_confidence=0.1)
    broken = itemsets.with_columns(pl.col("support") * 2)
    with pytest.raises(CustlabError, match="'count' and 'support' of the itemsets table disagree"):
        R.association_rules(broken)


