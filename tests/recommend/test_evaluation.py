"""evaluate(): the published Online Retail figures, the default's margin over popularity, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError, EmptyDataError
from custlab.recommend import evaluate, plot_evaluation
from custlab.recommend.metrics import per_customer


def test_metrics_by_hand():
    hits = np.array([[True, False, True], [False, False, False]])
    m = per_customer(hits, np.array([4, 1]))
    assert m["precision"].tolist() == pytest.approx([2 / 3, 0])
    assert m["recall"].tolist() == pytest.approx([0.5, 0])
    ideal = 1 + 1 / np.log2(3) + 0.5
    assert m["ndcg"][0] == pytest.approx((1 + 0.5) / ideal)
    assert m["map"][0] == pytest.approx((1 + 2 / 3) / 3)
    assert m["hit_rate"].tolist() == [1.0, 0.0]


@pytest.fixture(scope="module")
def retail_evaluation(online_retail_clean):
    return evaluate(online_retail_clean, split_date="2011-09-01", k=10, models=("random", "popularity", "default"),
                    n_boot=100)


def test_online_retail_reference_figures(retail_evaluation):
    """Issue 17: popularity 0.049 / 0.052, random 0.010 / 0.010 (P@10 / NDCG@10), train before 2011-09-01."""
    table = {r["model"]: r for r in retail_evaluation.to_frame().iter_rows(named=True)}
    assert retail_evaluation.customers == 1891
    assert table["popularity"]["precision"] == pytest.approx(0.049, abs=0.001)
    assert table["popularity"]["ndcg"] == pytest.approx(0.052, abs=0.001)
    assert table["random"]["precision"] == pytest.approx(0.010, abs=0.003)
    assert table["random"]["ndcg"] == pytest.approx(0.010, abs=0.003)


def test_default_beats_popularity_by_half_on_online_retail(retail_evaluation):
    for metric in ("precision", "ndcg"):
        lift, low, high = retail_evaluation.lift("default", metric)
        assert lift >= 0.5 and low >= 0.5 and low <= lift <= high
    row = retail_evaluation.to_frame().filter(pl.col("model") == "default").row(0, named=True)
    assert row["precision"] >= 0.085 and row["ndcg"] >= 0.095  # a plain scipy item-kNN: 0.090 / 0.104
    for name in ("precision", "recall", "ndcg", "hit_rate", "map"):
        assert row[f"{name}_low"] <= row[name] <= row[f"{name}_high"]
    assert 0 < row["coverage"] <= 1 and row["novelty"] > 0


def test_ease_beats_bm25_knn_and_the_default_chooses_it_on_online_retail(online_retail_clean, retail_evaluation):
    """EASE lists about 10% more of the new products bought after the split than BM25 item-kNN (README table);
    the default finds that on the weeks before the split, without seeing them."""
    ev = evaluate(online_retail_clean, split_date="2011-09-01", k=10, models=("popularity", "knn", "ease"), n_boot=100)
    rows = {r["model"]: r for r in ev.to_frame().iter_rows(named=True)}
    for metric in ("precision", "ndcg"):
        assert rows["ease"][metric] >= 1.05 * rows["knn"][metric]
        assert ev.lift("ease", metric)[1] >= 0.9  # lower bound of the lift over popularity
    assert any(note.startswith("linear item model (EASE) is used") for note in retail_evaluation.notes)
    default = retail_evaluation.to_frame().filter(pl.col("model") == "default").row(0, named=True)
    assert default["precision"] == pytest.approx(rows["ease"]["precision"])


def test_description_and_plot(retail_evaluation):
    text = retail_evaluation.describe()
    assert "1,891 customers" in text and "nan" not in text.lower()
    assert "1,891" in retail_evaluation.describe("zh")
    fig = plot_evaluation(retail_evaluation, language="zh")
    bars = fig.axes[0].patches
    assert len(bars) == 3
    assert max(b.get_width() for b in bars) == pytest.approx(retail_evaluation.to_frame()["ndcg"].max())


def test_bad_splits(tiny):
    with pytest.raises(EmptyDataError, match="test window is empty"):
        evaluate(tiny, split_date="2025-01-01", k=2, models=("popularity",))
    with pytest.raises(EmptyDataError, match="No customer bought both"):
        evaluate(tiny, split_date="2024-01-03", k=2, models=("popularity",))
    late = tiny.with_columns(order_date=pl.when(pl.col("customer_id") == 3).then(dt.datetime(2024, 2, 1))
                             .otherwise(pl.col("order_date")))
    with pytest.raises(CustlabError, match="k=5 is more than the 3 products"):
        evaluate(pl.concat([late, tiny.filter(pl.col("customer_id") == 3)]), split_date="2024-01-15", k=5,
                 models=("popularity",))


def test_sample_bounds_the_customers_evaluated(shop):
    tx = shop.transactions
    split = tx["order_date"].max() - dt.timedelta(days=90)
    full = evaluate(tx, split_date=split, models=("popularity",), n_boot=0)
    part = evaluate(tx, split_date=split, models=("popularity",), n_boot=0, sample=50)
    assert full.customers > 50 and part.customers == 50
    with pytest.raises(CustlabError, match="sample must be a whole number"):
        evaluate(tx, split_date=split, models=("popularity",), sample=0)
