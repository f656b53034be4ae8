"""Benchmark of custlab.recommend: fit and top-10 for 1M customers x 50k items, beside implicit.

The data are synthetic (``make_purchases``): 1,000,000 customers and 50,000 items; each
customer makes a geometric number of purchases (mean 5), 70% of them from one of 500 taste
groups of 100 items and the rest from the whole catalogue, items Zipf-popular (exponent 1.1)
within each, on days spread over a year: about 5M purchase lines. Every row is timed in a
fresh process after the data are built (the harness); the time is fit plus the top-10 list of
every customer (bought items left out), the memory the growth of the resident set.

Rows:
1. custlab item kNN (BM25, 200 neighbours per item), ``ItemKNN.fit`` + ``top_k``;
2. custlab default recommender (chooses among kNN, popularity-leaning kNN and popularity on the
   last 90 days, then refits);
3. custlab ALS through implicit (64 factors, 15 iterations) + custlab's top-k;
4. anchors: implicit's ``BM25Recommender`` (K=200) and ``AlternatingLeastSquares`` (64 factors,
   15 iterations), each with ``recommend(..., N=10, filter_already_liked_items=True)``;
5. building the matrices from a polars transactions table of the same purchases
   (``interaction_matrix``).

The goal (issue 17): fit and top-10 under 2 minutes and 8 GB. ``--quick`` uses 100k customers
and 10k items; ``--no-als`` leaves out the two ALS rows (10-25 minutes at full size). Usage:
``python benchmarks/bench_recommend.py [--quick] [--no-als]`` or
``python benchmarks/run.py recommend``.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import measure, print_table  # noqa: E402

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit asks for it; numpy's own products are small here

FULL = (1_000_000, 50_000)
QUICK = (100_000, 10_000)


def make_purchases(n_customers: int, n_items: int, seed: int = 0):
    """(customer, item, day) arrays of the synthetic purchases (module docstring)."""
    rng = np.random.default_rng(seed)
    per = rng.geometric(1 / 5, size=n_customers)
    customer = np.repeat(np.arange(n_customers, dtype=np.int64), per)
    n = customer.size
    groups = max(1, n_items // 100)
    taste = rng.integers(0, groups, size=n_customers)[customer]
    weights = 1.0 / np.arange(1, n_items + 1) ** 1.1
    global_pick = rng.choice(n_items, size=n, p=weights / weights.sum())
    local_w = 1.0 / np.arange(1, 101) ** 1.1
    local_pick = (taste * 100 + rng.choice(100, size=n, p=local_w / local_w.sum())) % n_items
    item = np.where(rng.random(n) < 0.7, local_pick, global_pick)
    day = rng.integers(0, 365, size=n)
    return customer, item, day


def setup_interactions(size: tuple[int, int]):
    import polars as pl

    from custlab.recommend.matrix import _build

    customer, item, day = make_purchases(*size)
    history = pl.DataFrame({"row": customer.astype(np.int32), "col": item.astype(np.int32),
                            "day": (day + 19000).astype(np.int32), "w": np.ones(customer.size, dtype=np.float32),
                            "purchase": np.ones(customer.size, dtype=bool)}).unique(["row", "col", "day"])
    ids = pl.Series("customer_id", np.arange(size[0], dtype=np.int64))
    items = pl.Series("product_id", [f"P{i:06d}" for i in range(size[1])])
    return _build(history, ids, items, items.rename("product_name"), dt.datetime(2022, 1, 6), ())


def setup_transactions(size: tuple[int, int]):
    import polars as pl

    customer, item, day = make_purchases(*size)
    return pl.DataFrame({"customer_id": customer, "order_date": pl.Series(day, dtype=pl.Int64),
                         "product_id": pl.Series(item).cast(pl.String)}).with_columns(
        order_date=pl.lit(dt.datetime(2021, 1, 1)) + pl.duration(days=pl.col("order_date")))


def run_custlab(data, model: str):
    from custlab.recommend import ALS, EASE, DefaultRecommender, ItemKNN

    recommender = {"knn": lambda: ItemKNN(similarity="bm25"), "default": lambda: DefaultRecommender(),
                   "ease": lambda: EASE(),
                   "als": lambda: ALS(backend="implicit")}[model]()
    top = recommender.fit(data).top_k(np.arange(data.shape[0]), 10)
    return top.items


def run_implicit(data, model: str):
    import warnings

    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.nearest_neighbours import BM25Recommender

        user_items = data.strength.tocsr()
        with threadpool_limits(1, "blas"):
            if model == "als":
                rec = AlternatingLeastSquares(factors=64, regularization=0.05, alpha=10.0, iterations=15,
                                              random_state=0, calculate_training_loss=False)
            else:
                rec = BM25Recommender(K=200)
            rec.fit(user_items, show_progress=False)
            ids, _ = rec.recommend(np.arange(user_items.shape[0]), user_items, N=10,
                                   filter_already_liked_items=True)
    return ids


def run_matrix(transactions):
    from custlab.recommend import interaction_matrix

    return interaction_matrix(transactions).strength


def main(argv: list[str]) -> None:
    size = QUICK if "--quick" in argv else FULL
    title = f"fit + top-10 for {size[0]:,} customers x {size[1]:,} items (synthetic, ~{5 * size[0]:,} purchases)"
    setup = partial(setup_interactions, size)
    rows = [
        measure("custlab item kNN (BM25, 200)", setup, partial(run_custlab, model="knn")),
        measure("custlab default (chosen)", setup, partial(run_custlab, model="default")),
        measure("custlab EASE (2,000 products)", setup, partial(run_custlab, model="ease")),
        measure("implicit BM25Recommender K=200", setup, partial(run_implicit, model="knn")),
    ]
    if "--no-als" not in argv:  # the ALS rows take 10-25 minutes at full size on 2 cores
        rows.insert(2, measure("custlab ALS (implicit backend)", setup, partial(run_custlab, model="als")))
        rows.append(measure("implicit ALS 64 factors", setup, partial(run_implicit, model="als")))
    print_table(title, rows)
    print_table(f"interaction_matrix from {5 * size[0]:,} polars lines",
                [measure("custlab interaction_matrix", partial(setup_transactions, size), run_matrix)])


if __name__ == "__main__":
    main(sys.argv[1:])
