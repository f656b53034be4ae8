"""The itemset miner: brute force, thresholds, encodings."""

from __future__ import annotations

import polars as pl
import pytest

from custlab import rules as R
from custlab.rules import engine as _itemsets

from .helpers import as_dict, brute_itemsets, long_table, random_baskets

# --------------------------------------------------------------------------- engine against brute force


@pytest.mark.parametrize("seed", range(6))
def test_itemsets_equal_brute_force(seed):
    baskets = random_baskets(seed, n_baskets=60 + 20 * seed, n_items=7)
    for min_support in (0.05, 0.2, 0.5):
        for max_len in (None, 2, 3):
            got = as_dict(R.frequent_itemsets(long_table(baskets), min_support=min_support, max_len=max_len))
            assert got == brute_itemsets(baskets, min_support, max_len)


def test_itemsets_equal_brute_force_in_small_batches_chunks_and_blocks(monkeypatch):
    # Large data count pairs in several batches of heads, build pair bitsets in several chunks,
    # test candidates in several chunks and mine blocks of classes one after the other: force all
    # of them on small data.
    monkeypatch.setattr(_itemsets, "_BATCH_GATHER", 1)
    monkeypatch.setattr(_itemsets, "_BATCH_CELLS", 1)
    monkeypatch.setattr(_itemsets, "_CHUNK_WORDS", 1)
    monkeypatch.setattr(_itemsets, "_BLOCK_WORDS", 1)
    baskets = random_baskets(11, n_baskets=150, n_items=8)
    for max_len in (None, 3):
        for min_support in (0.05, 0.2):
            got = as_dict(R.frequent_itemsets(long_table(baskets), min_support=min_support, max_len=max_len))
            assert got == brute_itemsets(baskets, min_support, max_len)


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




# --------------------------------------------------------------------------- real data against an independent miner


def reference_itemsets(long: pl.DataFrame, min_count: int) -> dict[frozenset, int]:
    """Every itemset in at least ``min_count`` baskets, by pyfim's eclat (Borgelt's C code), else mlxtend."""
    lists = long.group_by("basket_id").agg("item")["item"].to_list()
    try:
        import fim
    except ImportError:
        pytest.importorskip("mlxtend")
        import pandas as pd
        from mlxtend.frequent_patterns import fpgrowth
        from mlxtend.preprocessing import TransactionEncoder

        encoder = TransactionEncoder()
        onehot = pd.DataFrame(encoder.fit(lists).transform(lists), columns=encoder.columns_)
        found = fpgrowth(onehot, min_support=(min_count - 0.5) / len(lists), use_colnames=True)
        return {s: round(v * len(lists)) for s, v in zip(found["itemsets"], found["support"])}
    return {frozenset(s): c for s, c in fim.eclat(lists, target="s", supp=-min_count, zmin=1, report="a")}


@pytest.fixture(scope="module")
def retail_long(online_retail_clean) -> pl.DataFrame:
    long = R.baskets(online_retail_clean, by="order_id", item="product_id").select("basket_id", "item")
    assert long["basket_id"].n_unique() == 18536 and long["item"].n_unique() == 3665
    return long


@pytest.mark.parametrize(("data", "min_support", "n_itemsets"), [
    ("retail", 0.005, 4455), ("retail", 0.002, 42235), ("groceries", 0.001, 13492),
])
def test_itemsets_equal_pyfim_on_real_data(request, data, min_support, n_itemsets, retail_long):
    import importlib.util

    if importlib.util.find_spec("fim") is None and (data, min_support) == ("retail", 0.002):
        pytest.skip("pyfim is not installed; mlxtend needs 15 s for this case")
    long = retail_long if data == "retail" else pl.read_parquet(request.getfixturevalue("groceries_file"))
    ours = R.frequent_itemsets(long, min_support=min_support)
    n = long["basket_id"].n_unique()
    ref = reference_itemsets(long, _itemsets.min_count_for(min_support, n))
    assert ours.height == len(ref) == n_itemsets
    assert {frozenset(s): c for s, c in ours.select("itemset", "count").iter_rows()} == ref
