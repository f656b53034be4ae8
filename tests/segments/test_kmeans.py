"""K-means segments: planted groups recovered and named; features."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.segments import customer_features, kmeans_segments, segment_summary

from .helpers import make_tx, planted_groups


# --------------------------------------------------------------------------------------------------
# K-means
# --------------------------------------------------------------------------------------------------


def test_kmeans_recovers_planted_groups_and_names_them():
    from sklearn.metrics import adjusted_rand_score

    tx, group = planted_groups()
    result = kmeans_segments(tx, k_range=range(2, 6), seed=0)
    assert result.k == 3
    assert result.silhouette.filter(pl.col("chosen"))["k"].item() == 3
    assert result.silhouette["silhouette"].arg_max() == result.silhouette["chosen"].arg_max()
    truth = [group[c] for c in result.segments["customer_id"].to_list()]
    assert adjusted_rand_score(truth, result.segments["cluster"].to_list()) == 1.0
    names = result.profiles["segment"].cast(pl.String).to_list()
    assert names[0] == "recent frequent high-spend cosmetics buyers"  # cluster 0: most revenue per customer
    assert names[2] == "lapsed one-off low-spend electronics buyers"
    assert "food" in names[1]
    again = kmeans_segments(tx, k_range=range(2, 6), seed=0)
    assert again.segments.equals(result.segments)
    zh = kmeans_segments(tx, k=3, seed=0, language="zh")
    assert zh.profiles["segment"].cast(pl.String)[0] == "近期活跃、高频、高消费 cosmetics 客户"
    summary = segment_summary(result.segments)
    assert summary["customers"].to_list() == [60, 60, 60]
    assert result.to_frame() is result.segments and result.summary is result.profiles
    assert repr(result).startswith("KMeansSegments(k=3, silhouette 0.")
    assert "180 customers: recent frequent high-spend cosmetics buyers (33%)" in repr(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.k = 4


def test_a_tiny_cluster_is_flagged_and_its_share_is_not_rounded_to_zero():
    """Olist: 30 repeat buyers against 9,266 one-time buyers gave silhouette 0.87 and a label "(0%)"."""
    from custlab.exceptions import CustlabWarning
    from custlab.segments.kmeans import share_text

    tx, _ = planted_groups()
    big = tx.filter(pl.col("customer_id") < 60)  # the frequent cosmetics buyers
    copies = [big.with_columns(customer_id=pl.col("customer_id") + 1000 * i, order_id=pl.col("order_id") + 100_000 * i)
              for i in range(60)]
    outliers = tx.filter(pl.col("customer_id").is_between(100, 102))  # 3 one-off electronics buyers
    data = pl.concat([*copies, outliers.with_columns(customer_id=pl.col("customer_id") + 900_000)])
    n = data["customer_id"].n_unique()
    with pytest.warns(CustlabWarning, match=r"One cluster holds only 3 customers \(0\.\d+%\)"):
        result = kmeans_segments(data, k=2, seed=0)
    assert result.caution.startswith("One cluster holds only 3 customers") and result.caution in repr(result)
    assert f"({share_text(3 / n)})" in repr(result) and "(0%)" not in repr(result)
    zh = kmeans_segments(tx, k=3, seed=0, language="zh")
    assert zh.caution == ""  # three groups of 60: nothing to flag


def test_kmeans_features_on_the_synthetic_shop():
    from custlab.synthetic import make_shop

    small = make_shop(1500, seed=5)
    features = customer_features(small.transactions, events=small.events)
    shares = [c for c in features.columns if c.startswith("cat_")]
    channels = [c for c in features.columns if c.startswith("channel_")]
    assert len(shares) >= 3 and len(channels) == 3
    assert features.select(pl.sum_horizontal(shares)).to_series().to_list() == pytest.approx([1.0] * features.height)
    assert features.select(pl.sum_horizontal(channels)).to_series().to_list() == pytest.approx(
        [1.0] * features.height)
    assert {"events_per_month", "price_level"} <= set(features.columns)
    assert features["price_level"].median() == pytest.approx(1.0, abs=0.25)
    # events_per_month counts the events of the last `within` days, per 30 days
    as_of = small.transactions["order_date"].max()
    start = as_of.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1) - dt.timedelta(days=45)
    recent = small.events.filter(pl.col("event_time") >= start).group_by("customer_id").len()
    short = customer_features(small.transactions, events=small.events, within="45d", top_n=2)
    counts = dict(recent.select("customer_id", pl.col("len") * 30 / 45).rows())
    got = dict(short.select("customer_id", "events_per_month").rows())
    assert all(got[c] == pytest.approx(counts.get(c, 0.0)) for c in got)
    assert len([c for c in short.columns if c.startswith("cat_")]) == 3  # the top 2 categories and "other"
    with pytest.raises(CustlabError, match=re.escape("top_n must be a positive whole number")):
        customer_features(small.transactions, top_n=0)
    result = kmeans_segments(small.transactions, events=small.events, k_range=[2, 3, 4], seed=1,
                             silhouette_sample=800)
    assert result.silhouette.height == 3 and result.segments.height == small.customers.height
    assert result.profiles["segment"].n_unique() == result.k
    assert result.profiles["revenue_share"].sum() == pytest.approx(1.0)
    with pytest.raises(CustlabError, match=re.escape("Numbers of clusters must be at least 2 and below")):
        kmeans_segments(small.transactions, k=1)


def test_price_level_is_relative_to_the_category_and_neutral_for_free_lines():
    tx = make_tx([(1, 1, "2024-01-01", 20.0), (2, 2, "2024-01-02", 10.0), (3, 3, "2024-01-03", 0.0),
              (4, 4, "2024-01-04", 30.0)])
    tx = tx.with_columns(category=pl.Series(["a", "a", "a", "b"]), unit_price=pl.Series([20.0, 10.0, 0.0, 30.0]))
    features = customer_features(tx)
    # category a: median price of the priced lines 15; b: 30. Customer 3 only had a free line.
    assert features["price_level"].to_list() == pytest.approx([20 / 15, 10 / 15, 1.0, 1.0])

