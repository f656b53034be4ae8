"""Tests of custlab.rules: published arules counts, mlxtend equality, planted rules, properties, errors."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlab import _itemsets
from custlab import rules as R
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

# --------------------------------------------------------------------------- helpers


def long_table(baskets: list[list]) -> pl.DataFrame:
    return pl.DataFrame({
        "basket_id": [b for b, items in enumerate(baskets) for _ in items],
        "item": [item for items in baskets for item in items],
    })


def brute_itemsets(baskets: list[list], min_support: float, max_len: int | None = None) -> dict[tuple, int]:
    """Every itemset with count / n >= min_support, by enumeration (the reference)."""
    sets = [set(b) for b in baskets]
    items = sorted(set().union(*sets))
    found: dict[tuple, int] = {}
    for k in range(1, len(items) + 1):
        if max_len is not None and k > max_len:
            break
        any_k = False
        for combo in itertools.combinations(items, k):
            count = sum(1 for s in sets if s.issuperset(combo))
            if count / len(sets) >= min_support:
                found[combo] = count
                any_k = True
        if not any_k:
            break
    return found


def as_dict(itemsets: pl.DataFrame) -> dict[tuple, int]:
    return {tuple(row[0]): row[1] for row in itemsets.select("itemset", "count").iter_rows()}


def random_baskets(seed: int, n_baskets: int, n_items: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.9, n_items)
    out = []
    for _ in range(n_baskets):
        items = [f"i{j}" for j in range(n_items) if rng.random() < p[j]]
        out.append(items or ["i0"])
    return out


# --------------------------------------------------------------------------- Groceries (R arules)


@pytest.fixture(scope="module")
def groceries(groceries_file) -> pl.DataFrame:
    return pl.read_parquet(groceries_file)


@pytest.fixture(scope="module")
def groceries_0001(groceries) -> pl.DataFrame:
    return R.frequent_itemsets(groceries, min_support=0.001)


@pytest.fixture(scope="module")
def groceries_0006(groceries) -> pl.DataFrame:
    return R.frequent_itemsets(groceries, min_support=0.006)


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


# --------------------------------------------------------------------------- Online Retail vs mlxtend


def test_online_retail_itemsets_equal_mlxtend_fpgrowth(online_retail_clean):
    pytest.importorskip("mlxtend")
    import pandas as pd
    from mlxtend.frequent_patterns import fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    long = R.baskets(online_retail_clean, by="order_id", item="product_id")
    assert long["basket_id"].n_unique() == 18536 and long["item"].n_unique() == 3665
    ours = R.frequent_itemsets(long, min_support=0.005)

    lists = long.group_by("basket_id").agg(pl.col("item"))["item"].to_list()
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(lists).transform(lists), columns=encoder.columns_)
    theirs = fpgrowth(onehot, min_support=0.005, use_colnames=True)

    ref = dict(zip(theirs["itemsets"], theirs["support"]))
    mine = {frozenset(s): v for s, v in zip(ours["itemset"].to_list(), ours["support"].to_list())}
    assert len(mine) == len(ref) == ours.height
    assert mine == ref  # same itemsets, supports equal as floats (count / 18536 on both sides)


# --------------------------------------------------------------------------- engine against brute force


@pytest.mark.parametrize("seed", range(6))
def test_itemsets_equal_brute_force(seed):
    baskets = random_baskets(seed, n_baskets=60 + 20 * seed, n_items=7)
    for min_support in (0.05, 0.2, 0.5):
        for max_len in (None, 2, 3):
            got = as_dict(R.frequent_itemsets(long_table(baskets), min_support=min_support, max_len=max_len))
            assert got == brute_itemsets(baskets, min_support, max_len)


def test_itemsets_equal_brute_force_on_the_row_by_row_path(monkeypatch):
    # Large classes are intersected member by member instead of by one broadcast, and large
    # data count pairs in several batches of heads: force both paths on small data.
    monkeypatch.setattr(_itemsets, "_BROADCAST_WORDS", 0)
    monkeypatch.setattr(_itemsets, "_BATCH_GATHER", 1)
    baskets = random_baskets(11, n_baskets=150, n_items=8)
    got = as_dict(R.frequent_itemsets(long_table(baskets), min_support=0.05))
    assert got == brute_itemsets(baskets, 0.05)


def test_itemsets_threshold_is_exact_at_the_boundary():
    # 3 of 10 baskets: support 0.3 exactly; 0.1 * 3 != 0.3 in floats, the count test must still keep it.
    baskets = [["a", "b"]] * 3 + [["a"]] * 7
    got = as_dict(R.frequent_itemsets(long_table(baskets), min_support=0.3))
    assert got == {("a",): 10, ("b",): 3, ("a", "b"): 3}
    assert _itemsets.min_count_for(0.3, 10) == 3
    assert _itemsets.min_count_for(0.1 + 0.2, 10) == 4  # 0.30000000000000004: 3 / 10 falls short


def test_itemsets_output_schema_and_order():
    baskets = [["b", "a"], ["a", "b", "a"], ["a"], ["c"]]
    out = R.frequent_itemsets(long_table(baskets), min_support=0.25)
    assert out.schema == pl.Schema({"itemset": pl.List(pl.String), "support": pl.Float64,
                                    "count": pl.Int64, "length": pl.Int64})
    assert out.rows() == [(["a"], 0.75, 3, 1), (["b"], 0.5, 2, 1), (["c"], 0.25, 1, 1),
                          (["a", "b"], 0.5, 2, 2)]


def test_itemsets_integer_items_lazy_input_and_no_frequent_item():
    lf = pl.LazyFrame({"order": [10, 10, 20, 20, 30], "sku": [5, 900_000_000, 5, 900_000_000, 7]})
    out = R.frequent_itemsets(lf, min_support=0.6, basket="order", item="sku")
    assert out["itemset"].to_list() == [[5], [900_000_000], [5, 900_000_000]]
    assert out.schema["itemset"] == pl.List(pl.Int64)
    assert R.frequent_itemsets(lf, min_support=1.0, basket="order", item="sku").height == 0
    none = R.association_rules(R.frequent_itemsets(lf, min_support=1.0, basket="order", item="sku"))
    assert none.height == 0 and none.schema["antecedent"] == pl.List(pl.Int64)


def test_itemsets_categorical_items_become_strings():
    df = long_table([["x", "y"], ["x", "y"], ["y"]]).with_columns(pl.col("item").cast(pl.Categorical))
    out = R.frequent_itemsets(df, min_support=0.5)
    assert out.schema["itemset"] == pl.List(pl.String)
    assert as_dict(out) == {("y",): 3, ("x",): 2, ("x", "y"): 2}


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


# --------------------------------------------------------------------------- sequential rules


def brute_sequential(tx: pl.DataFrame, within: int, end: dt.date, complete: bool) -> dict:
    """(A, B) -> (n_antecedent, count, lags) by plain Python loops over customers."""
    days: dict = {}
    for c, d, item in tx.select("customer_id", "order_date", "product_id").iter_rows():
        days.setdefault(c, []).append((d, item))
    out: dict = {}
    at_risk: dict = {}
    for purchases in days.values():
        items = {i for _, i in purchases}
        for a in items:
            first = min(d for d, i in purchases if i == a)
            if complete and not first + dt.timedelta(days=within) < end:
                continue
            at_risk[a] = at_risk.get(a, 0) + 1
            for b in items - {a}:
                later = [(d - first).days for d, i in purchases if i == b and 0 < (d - first).days <= within]
                if later:
                    out.setdefault((a, b), []).append(min(later))
    return {k: (at_risk[k[0]], len(v), float(np.median(v))) for k, v in out.items()}


@pytest.mark.parametrize("complete", [True, False])
def test_sequential_rules_equal_brute_force(complete):
    rng = np.random.default_rng(5)
    n = 400
    tx = pl.DataFrame({
        "customer_id": rng.integers(0, 60, n),
        "order_date": [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 120, n)],
        "product_id": rng.choice(list("abcdef"), n),
    })
    end = dt.date(2024, 5, 1)
    got = R.sequential_rules(tx, within_days=20, min_support=0.0001, as_of=end, complete_window=complete)
    ref = brute_sequential(tx, 20, end, complete)
    assert {(r[0], r[1]): (r[2], r[3], r[4]) for r in
            got.select("antecedent", "consequent", "n_antecedent", "count", "median_lag_days").iter_rows()} == ref
    customers = tx["customer_id"].n_unique()
    assert (got["support"] - got["count"] / customers).abs().max() < 1e-15
    assert got["confidence"].is_between(0, 1).all()


def test_sequential_rules_without_any_pair_is_empty_with_schema():
    tx = pl.DataFrame({"customer_id": [1, 2], "order_date": [dt.date(2024, 1, 1)] * 2, "product_id": ["a", "b"]})
    out = R.sequential_rules(tx, min_support=0.5)
    assert out.height == 0
    assert out.schema["antecedent"] == pl.String and out.schema["median_lag_days"] == pl.Float64


def test_sequential_rules_arguments():
    tx = pl.DataFrame({"customer_id": [1], "order_date": [dt.date(2024, 1, 1)], "product_id": ["a"]})
    with pytest.raises(CustlabError, match=r"within_days must be a whole number of days >= 1, got 0"):
        R.sequential_rules(tx, within_days=0)
    with pytest.raises(CustlabError, match=r"Column 'customer_id' has 1 null value\(s\)\. Sequential rules follow"):
        R.sequential_rules(tx.with_columns(customer_id=pl.lit(None, dtype=pl.Int64)))


# --------------------------------------------------------------------------- synthetic shop: planted rules


@pytest.fixture(scope="module")
def shop():
    from custlab.synthetic import make_shop

    return make_shop(20_000, seed=3)


def test_synthetic_sunscreen_umbrella(shop):
    planted = shop.truth["associations"]["sunscreen=>umbrella"]["confidence"]
    b = R.baskets(shop.transactions, item="product_name")
    rules = R.association_rules(R.frequent_itemsets(b, min_support=0.002, max_len=2), min_confidence=0.3)
    row = rules.filter(pl.col("antecedent") == ["sunscreen"], pl.col("consequent") == ["umbrella"])
    n_sunscreen = round(row["antecedent_support"].item() * b["basket_id"].n_unique())
    tolerance = 3 * math.sqrt(planted * (1 - planted) / n_sunscreen)  # 3 binomial standard errors
    assert row["confidence"].item() == pytest.approx(planted, abs=tolerance)
    # Umbrellas are rare without sunscreen (0.4% of the other baskets): a strong lift.
    alone = shop.truth["associations"]["umbrella_alone"]
    s = row["antecedent_support"].item()
    expected_lift = planted / (planted * s + alone * (1 - s))
    assert row["lift"].item() == pytest.approx(expected_lift, rel=0.1)


def test_synthetic_formula_then_stroller(shop):
    truth = shop.truth["associations"]["baby_formula=>stroller"]
    tx = shop.transactions
    seq = R.sequential_rules(tx, item="product_name", within_days=truth["window_days"][1], min_support=0.001,
                             antecedents=["baby_formula"], complete_window=False)
    top = seq.row(0, named=True)
    assert (top["antecedent"], top["consequent"]) == ("baby_formula", "stroller")
    assert top["n_antecedent"] == truth["n_formula_buyers"]
    # The planted share is over all formula buyers: 0.5 within 3 binomial standard errors.
    tolerance = 3 * math.sqrt(0.25 / truth["n_formula_buyers"])
    assert top["confidence"] == pytest.approx(truth["share"], abs=tolerance)
    assert 1 <= top["median_lag_days"] <= 90 and top["lift"] > 5
    # Censoring the anchors without a full 90-day window keeps the rule near the planted share.
    censored = R.sequential_rules(tx, item="product_name", within_days=90, min_support=0.001,
                                  antecedents=["baby_formula"], consequents=["stroller"])
    assert censored["n_antecedent"].item() < truth["n_formula_buyers"]
    assert censored["confidence"].item() == pytest.approx(truth["share"], abs=0.08)


def test_synthetic_festival_lift(shop):
    truth = shop.truth["associations"]["gifts=>home_decor"]
    windows = [(f["window_start"], f["window_end"]) for f in shop.truth["festivals"]]
    b = R.baskets(shop.transactions, item="category")
    out = R.seasonal_rules(b, windows=windows, window_label="festival", min_support=0.002, min_confidence=0.1)
    row = out.filter(pl.col("antecedent") == ["gifts"], pl.col("consequent") == ["home_decor"]).row(0, named=True)
    assert row["period"] == "festival"
    gifts_in = row["count"] / row["confidence"]
    gifts_out = row["support_rest"] * row["n_baskets_rest"] / row["confidence_rest"]
    assert row["confidence"] == pytest.approx(truth["festival"], abs=3 * math.sqrt(0.36 * 0.64 / gifts_in))
    assert row["confidence_rest"] == pytest.approx(truth["base"], abs=3 * math.sqrt(0.3 * 0.7 / gifts_out))
    assert row["confidence"] / row["confidence_rest"] == pytest.approx(truth["lift"], abs=0.12)
    assert row["lift_change"] > 0 and row["lift_ratio"] > 1


def test_seasonal_monthly_and_given_rules(shop):
    b = R.baskets(shop.transactions, item="product_name")
    given = pl.DataFrame({"antecedent": [["sunscreen"]], "consequent": [["umbrella"]]})
    monthly = R.seasonal_rules(b, rules=given)
    assert monthly["period"].to_list()[:3] == ["2023-01", "2023-02", "2023-03"]
    assert monthly.height == 24 and monthly["n_baskets"].sum() == b["basket_id"].n_unique()
    # Sunscreen peaks June-August (truth["seasonality"]): the rule's support follows.
    summer = monthly.filter(pl.col("period_start").dt.month().is_in([6, 7, 8]))["support"].mean()
    winter = monthly.filter(pl.col("period_start").dt.month().is_in([12, 1, 2]))["support"].mean()
    assert summer > 3 * winter
    # Scores of given rules equal association rules mined on that month's baskets alone.
    july = b.filter(pl.col("order_date").dt.strftime("%Y-%m") == "2024-07")
    direct = R.association_rules(R.frequent_itemsets(july, min_support=0.001, max_len=2), min_confidence=0.0)
    ref = direct.filter(pl.col("antecedent") == ["sunscreen"], pl.col("consequent") == ["umbrella"])
    got = monthly.filter(pl.col("period") == "2024-07")
    for col in ("support", "confidence", "lift"):
        assert got[col].item() == pytest.approx(ref[col].item(), rel=1e-12)
    quarters = R.seasonal_rules(b, rules=given, every="quarter")
    assert quarters["period"].to_list()[:2] == ["2023-Q1", "2023-Q2"]
    weeks = R.seasonal_rules(b, rules=given, every="week")
    assert weeks["period"][0] == "2022-W52" and weeks["period_start"][0] == dt.date(2022, 12, 26)  # ISO week


def test_seasonal_rules_arguments():
    b = pl.DataFrame({"basket_id": [1], "item": ["a"], "order_date": [dt.datetime(2024, 1, 1)]})
    with pytest.raises(CustlabError, match=r"every must be one of \['week', 'month', 'quarter'\], got 'day'"):
        R.seasonal_rules(b, every="day")
    with pytest.raises(CustlabError, match=r"A window must end after it starts"):
        R.seasonal_rules(b, windows=[("2024-02-01", "2024-01-01")])
    with pytest.raises(SchemaError, match=r"missing column\(s\) for seasonal rules"):
        R.seasonal_rules(b.drop("order_date"))


# --------------------------------------------------------------------------- cross-sell


def test_cross_sell_by_hand():
    rules = pl.DataFrame({
        "antecedent": [["tea"], ["tea", "cup"], ["cake"], []],
        "consequent": [["cup"], ["saucer"], ["cup"], ["milk"]],
        "support": [0.2, 0.1, 0.1, 0.5], "confidence": [0.6, 0.5, 0.9, 0.5], "lift": [2.0, 3.0, 2.5, 1.0],
    })
    history = pl.DataFrame({"customer_id": [1, 2, 2, 3, 3, 4], "item": ["tea", "tea", "cup", "tea", "cake", "milk"]})
    out = R.cross_sell(rules, history, top_n=2)
    got = {(r[0], r[1]): (r[2], r[3], r[4]) for r in
           out.select("customer_id", "rank", "item", "score", "antecedent").iter_rows()}
    assert got == {
        (1, 1): ("cup", 2.0, ["tea"]), (1, 2): ("milk", 1.0, []),  # cup via tea; milk for everyone
        (2, 1): ("saucer", 3.0, ["tea", "cup"]), (2, 2): ("milk", 1.0, []),  # owns the cup already
        (3, 1): ("cup", 2.5, ["cake"]), (3, 2): ("milk", 1.0, []),  # best of two rules for cup
    }  # customer 4 bought milk and fires nothing else
    top1 = R.cross_sell(rules, history, top_n=1, by="confidence")
    assert top1.filter(pl.col("customer_id") == 1)["item"].to_list() == ["cup"]
    with pytest.raises(CustlabError, match=r"top_n must be an integer >= 1, got 0"):
        R.cross_sell(rules, history, top_n=0)


def test_cross_sell_never_suggests_what_was_bought(shop):
    b = R.baskets(shop.transactions, item="category")
    rules = R.association_rules(R.frequent_itemsets(b, min_support=0.005), min_confidence=0.2)
    out = R.cross_sell(rules, b, top_n=3)
    assert out.height > 0 and out.group_by("customer_id").len()["len"].max() <= 3
    bought = b.select("customer_id", "item").unique()
    assert out.join(bought, on=["customer_id", "item"]).height == 0
    fired = out.select("customer_id", pl.col("antecedent").alias("item")).explode("item").drop_nulls()
    assert fired.join(bought, on=["customer_id", "item"], how="anti").height == 0


# --------------------------------------------------------------------------- plots


@pytest.fixture(scope="module")
def small_rules(groceries_0006):
    return R.association_rules(groceries_0006, min_confidence=0.4)


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # no CJK font on CI; labels are checked as text
def test_plot_rules_scatter(small_rules):
    fig = R.plot_rules(small_rules)
    ax = fig.axes[0]
    points = ax.collections[0]
    ordered = small_rules.sort("lift")
    assert np.allclose(points.get_offsets(), ordered.select("support", "confidence").to_numpy())
    assert np.allclose(points.get_array(), ordered["lift"].to_numpy())
    assert ax.get_xlabel() == "support" and ax.get_ylabel() == "confidence"
    assert fig.axes[1].get_ylabel() == "lift"
    zh = R.plot_rules(small_rules, language="zh").axes[0]
    assert zh.get_xlabel() == "支持度" and zh.get_ylabel() == "置信度"
    with pytest.raises(CustlabError, match="language must be 'en' or 'zh', got 'fr'"):
        R.plot_rules(small_rules, language="fr")


def test_plot_rule_network(small_rules):
    fig = R.plot_rule_network(small_rules, top=8)
    ax = fig.axes[0]
    top = small_rules.sort("lift", descending=True).head(8)
    assert np.allclose(np.sort(ax.collections[0].get_array()), np.sort(top["lift"].to_numpy()))
    items = {v for col in ("antecedent", "consequent") for row in top[col].to_list() for v in row}
    assert {t.get_text() for t in ax.texts} == items
    assert len(ax.patches) == top["consequent"].list.len().sum()  # one arrow per consequent item


def test_plot_rule_matrix(small_rules):
    fig = R.plot_rule_matrix(small_rules, top=10)
    ax = fig.axes[0]
    top = small_rules.sort(["lift", "antecedent", "consequent"], descending=[True, False, False]).head(10)
    values = np.asarray(ax.collections[0].get_array()).ravel()
    assert np.allclose(np.sort(values[~np.isnan(values)]), np.sort(top["lift"].to_numpy()))
    assert ax.get_yticklabels()[0].get_text() == "{" + ", ".join(top["antecedent"][0]) + "}"
    assert ax.get_xlabel() == "consequent (then bought)"
    with pytest.raises(EmptyDataError, match="no rules to plot"):
        R.plot_rule_matrix(small_rules.clear())
