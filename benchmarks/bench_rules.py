"""Benchmark of custlab.rules: frequent itemsets against mlxtend, and an Instacart-size case.

Cases (each method runs in its own forked process; times and peak extra memory
are measured in the same run, so the ratios hold on a busy machine):

1. Online Retail (UCI), invoices of the clean data (18,536 baskets, 3,665
   items), min_support 0.005: from the polars long table (one row per basket
   and item) to frequent itemsets, encoding included. custlab against
   mlxtend's ``fpgrowth`` (lists -> ``TransactionEncoder`` -> pandas -> fpgrowth)
   and ``apriori`` (same encoding, ``low_memory=True``).
2. Groceries (R arules): itemsets and rules at support 0.001, confidence 0.5
   (5,668 rules), custlab against mlxtend fpgrowth + association_rules.
3. Instacart size, synthetic: 3M baskets, 50k items with Zipf popularity,
   about 10 items a basket (30M rows) plus 20 planted bundles, min_support
   0.001. Must finish within 60 s and 8 GB. No anchor: a dense one-hot table
   (3M x 50k booleans, 150 GB) does not fit in memory.

Usage: ``python benchmarks/bench_rules.py [--quick]`` (``--quick``: 300k
baskets in case 3) or ``python benchmarks/run.py rules``.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import compare  # noqa: E402

from custlab import rules  # noqa: E402
from custlab.datasets import shared_data_dir  # noqa: E402

MIN_SUPPORT_RETAIL = 0.005


def retail_long() -> pl.DataFrame:
    """Online Retail invoices of the clean data as a long basket table."""
    from custlab.clean import clean_transactions
    from custlab.datasets import load_online_retail

    raw = load_online_retail(shared_data_dir() / "online_retail" / "online_retail.parquet")
    clean, _ = clean_transactions(raw, rules=("cancelled", "returned", "missing_customer"))
    return rules.baskets(clean, by="order_id", item="product_id").select("basket_id", "item")


def groceries_long() -> pl.DataFrame:
    return pl.read_parquet(shared_data_dir() / "groceries" / "groceries.parquet")


def _one_hot(long: pl.DataFrame):
    import pandas as pd
    from mlxtend.preprocessing import TransactionEncoder

    lists = long.group_by("basket_id").agg(pl.col("item")).sort("basket_id")["item"].to_list()
    encoder = TransactionEncoder()
    return pd.DataFrame(encoder.fit(lists).transform(lists), columns=encoder.columns_)


def mlxtend_fpgrowth(long: pl.DataFrame, min_support: float):
    from mlxtend.frequent_patterns import fpgrowth

    return fpgrowth(_one_hot(long), min_support=min_support, use_colnames=True)


def mlxtend_apriori(long: pl.DataFrame, min_support: float):
    from mlxtend.frequent_patterns import apriori

    return apriori(_one_hot(long), min_support=min_support, use_colnames=True, low_memory=True)


def mlxtend_rules(long: pl.DataFrame):
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    itemsets = fpgrowth(_one_hot(long), min_support=0.001, use_colnames=True)
    found = association_rules(itemsets, num_itemsets=long["basket_id"].n_unique(),
                              metric="confidence", min_threshold=0.5)
    return found[found["consequents"].map(len) == 1]


def custlab_itemsets(long: pl.DataFrame, min_support: float) -> pl.DataFrame:
    return rules.frequent_itemsets(long, min_support=min_support)


def custlab_rules(long: pl.DataFrame) -> pl.DataFrame:
    itemsets = rules.frequent_itemsets(long, min_support=0.001)
    return rules.association_rules(itemsets, min_confidence=0.5, min_len=1)


def instacart_like(n_baskets: int = 3_000_000, n_items: int = 50_000, seed: int = 0) -> pl.DataFrame:
    """Synthetic long basket table of Instacart size: Zipf item popularity plus planted bundles."""
    rng = np.random.default_rng(seed)
    sizes = rng.poisson(9, n_baskets) + 1
    weight = 1.0 / (np.arange(n_items) + 10.0)
    basket = np.repeat(np.arange(n_baskets, dtype=np.int64), sizes)
    item = rng.choice(n_items, size=len(basket), p=weight / weight.sum())
    extra_b, extra_i = [basket], [item]
    for _ in range(20):  # bundles of 4-6 mid-popularity items, each in 0.3% of the baskets
        bundle = rng.choice(np.arange(2_000, 20_000), size=int(rng.integers(4, 7)), replace=False)
        who = rng.choice(n_baskets, size=int(n_baskets * 0.003), replace=False)
        extra_b.append(np.repeat(who, len(bundle)))
        extra_i.append(np.tile(bundle, len(who)))
    return pl.DataFrame({"basket_id": np.concatenate(extra_b), "item": np.concatenate(extra_i) + 100_000})


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv

    # Module-level functions and partials: the harness runs each case in a spawned process.
    compare(
        f"Online Retail invoices, min_support {MIN_SUPPORT_RETAIL}: long table -> frequent itemsets",
        retail_long,
        partial(custlab_itemsets, min_support=MIN_SUPPORT_RETAIL),
        {
            "mlxtend fpgrowth (TransactionEncoder)": partial(mlxtend_fpgrowth, min_support=MIN_SUPPORT_RETAIL),
            "mlxtend apriori (low_memory)": partial(mlxtend_apriori, min_support=MIN_SUPPORT_RETAIL),
        },
    )
    compare(
        "Groceries: itemsets + single-consequent rules at support 0.001, confidence 0.5",
        groceries_long,
        custlab_rules,
        {"mlxtend fpgrowth + association_rules": mlxtend_rules},
    )
    n = 300_000 if quick else 3_000_000
    rows = compare(
        f"Instacart size (synthetic): {n:,} baskets, 50,000 items, min_support 0.001 "
        f"(no anchor: a dense one-hot table does not fit)",
        partial(instacart_like, n),
        partial(custlab_itemsets, min_support=0.001),
        {},
        timeout=600,
    )
    ours = rows[0]
    verdict = "within" if ours.seconds < 60 and ours.peak_mb < 8 * 1024 else "OUTSIDE"
    print(f"budget 60 s and 8 GB: {ours.seconds:.1f} s, {ours.peak_mb / 1024:.2f} GB peak extra -> {verdict}")


if __name__ == "__main__":
    main()
