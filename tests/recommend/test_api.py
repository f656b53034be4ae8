"""recommend(): columns, exclusions, cold start, novelty, events, reminders, bad input."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.recommend import RECOMMEND_COLUMNS, RecommendWarning, interaction_matrix, recommend
from custlab.recommend.metrics import long_tail


def _no_nan(frame: pl.DataFrame) -> None:
    for name, dtype in frame.schema.items():
        assert frame[name].null_count() == 0, name
        if dtype == pl.Float64:
            assert frame[name].is_finite().all(), name
        if dtype == pl.String:
            assert not frame[name].str.contains(r"\bnan\b|None|\{").any(), name


def test_lists_have_k_new_items_with_reasons(shop):
    tx = shop.transactions
    out = recommend(tx, k=5, model="knn")
    assert out.columns == list(RECOMMEND_COLUMNS)
    assert out.schema["rank"] == pl.Int64 and out.schema["score"] == pl.Float64
    _no_nan(out)
    per = out.group_by("customer_id").agg(n=pl.len(), ranks=pl.col("rank").sort())
    assert per["n"].min() == 5 and per["customer_id"].n_unique() == tx["customer_id"].n_unique()
    bought = tx.select("customer_id", "product_id").unique()
    # nothing already bought, except due repeat purchases, whose reason says so
    again = out.join(bought, on=["customer_id", "product_id"], how="inner")
    assert again["reason"].str.starts_with("Bought about every").all()
    assert again.height > 0
    plain = recommend(tx, k=5, model="knn", replenish=False)
    assert plain.join(bought, on=["customer_id", "product_id"], how="inner").height == 0


def test_cold_start_uses_segment_popularity(tiny):
    customers = pl.DataFrame({"customer_id": [1, 2, 3, 4, 50], "tier": ["x", "x", "x", "y", "y"]})
    out = recommend(tiny, k=1, model="knn_cosine", customers=customers, segments=customers, by="tier",
                    replenish=False)
    new = out.filter(pl.col("customer_id") == 50).row(0, named=True)
    assert new["product_id"] == "jam" and new["reason"].startswith("New customer")
    zh = recommend(tiny, k=1, model="knn_cosine", customers=[3, 60], language="zh", replenish=False)
    assert zh["reason"].to_list()[0].startswith("购买过")


def test_k_larger_than_catalogue_warns_and_lists_what_is_left(tiny):
    with pytest.warns(RecommendWarning, match="k=9 is more than the 3 products"):
        out = recommend(tiny, k=9, model="popularity", replenish=False)
    assert out.filter(pl.col("customer_id") == 3)["product_id"].to_list() == ["cup", "jam"]


def test_bad_arguments(tiny):
    with pytest.raises(CustlabError, match="model must be one of"):
        recommend(tiny, model="magic")
    with pytest.raises(CustlabError, match="segments="):
        recommend(tiny, model="segment_popularity")
    with pytest.raises(CustlabError, match="novelty"):
        recommend(tiny, novelty=-1)
    with pytest.raises(CustlabError, match="k must be"):
        recommend(tiny, k=0)


def test_novelty_knob_raises_long_tail_share(shop):
    tx = shop.transactions
    data = interaction_matrix(tx)
    tail = set(data.items.filter(pl.Series(long_tail(data.buyers))).to_list())
    shares = []
    for novelty in (0.0, 0.5):
        out = recommend(tx, k=5, model="knn", novelty=novelty, replenish=False)
        shares.append(out["product_id"].is_in(list(tail)).mean())
    assert shares[1] > shares[0] + 0.05


def test_views_and_carts_move_recommendations(tiny):
    events = pl.DataFrame({"customer_id": [7] * 3, "event_time": [dt.datetime(2024, 1, 2)] * 3,
                           "event": ["view", "cart", "view"], "product_id": ["cup", "cup", "jam"]})
    out = recommend(tiny, k=1, model="knn_cosine", events=events, customers=[7], replenish=False)
    # customer 7 never bought but viewed and carted a cup: cup's neighbour tea comes first
    assert out["product_id"].to_list() == ["tea"]
    assert out["reason"][0] == "Customers who bought Cup also bought this."


def test_customers_with_one_purchase_and_items_bought_once(tiny):
    out = recommend(tiny, k=2, model="knn_cosine", customers=[3], replenish=False)
    assert out["product_id"].to_list() == ["cup", "jam"]  # jam: nobody's neighbour, filled from popularity
    assert out["reason"][1].startswith("Popular choice")
    assert np.isfinite(out["score"].to_numpy()).all()
