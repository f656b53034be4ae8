"""Acquisition cohorts (custlab.cohorts), checked against pandas on Online Retail."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

from custlab.cohorts import cohort_matrix, cohort_retention, plot_cohort_heatmap
from custlab.exceptions import CustlabError

# --------------------------------------------------------------------------- cohorts


def test_cohort_retention_on_online_retail_against_pandas(online_retail_clean):
    r = cohort_retention(online_retail_clean)
    assert r["cohort"].n_unique() == 13
    assert r.group_by("cohort").agg(pl.col("cohort_size").first())["cohort_size"].sum() == 4_339
    assert r.filter(pl.col("cohort") == dt.date(2010, 12, 1))["period"].to_list() == list(range(13))
    # the last month (2011-12, cut at the 9th) is flagged incomplete
    assert r.filter(~pl.col("period_complete"))["month"].unique().to_list() == [dt.date(2011, 12, 1)]

    pdf = online_retail_clean.select("customer_id", "order_date", "amount").to_pandas()
    month = pdf["order_date"].dt.to_period("M")
    pdf["cohort"] = month.groupby(pdf["customer_id"]).transform("min")
    pdf["period"] = (month - pdf["cohort"]).map(lambda offset: offset.n)
    jan = pdf[pdf["cohort"] == pd.Period("2011-01", "M")]
    size = jan["customer_id"].nunique()
    active = jan.groupby("period")["customer_id"].nunique()
    revenue = jan.groupby("period")["amount"].sum()
    got = r.filter(pl.col("cohort") == dt.date(2011, 1, 1)).sort("period")
    assert got["cohort_size"].unique().to_list() == [size] == [417]
    assert got["active_customers"].to_list() == [int(active.get(p, 0)) for p in range(12)]
    np.testing.assert_allclose(got["revenue"].to_numpy(), [revenue.get(p, 0.0) for p in range(12)], rtol=1e-9)
    np.testing.assert_allclose(got["cumulative_revenue_per_customer"].to_numpy(),
                               np.cumsum([revenue.get(p, 0.0) for p in range(12)]) / size, rtol=1e-9)
    np.testing.assert_allclose(got["active_share"].to_numpy(), got["active_customers"].to_numpy() / size)

    wide = cohort_matrix(r, "active_share")
    assert wide.shape == (13, 2 + 13)
    assert wide.filter(pl.col("cohort") == dt.date(2011, 1, 1))["1"].item() == pytest.approx(active[1] / size)
    assert wide.filter(pl.col("cohort") == dt.date(2011, 12, 1))["1"].item() is None


def test_cohort_zero_months_as_of_and_errors():
    d = dt.datetime
    tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
                       "order_date": [d(2024, 1, 5), d(2024, 4, 2), d(2024, 2, 1)], "amount": [10.0, 30.0, 5.0]})
    r = cohort_retention(tx)
    jan = r.filter(pl.col("cohort") == dt.date(2024, 1, 1))
    assert jan["active_customers"].to_list() == [1, 0, 0, 1]
    assert jan["cumulative_revenue_per_customer"].to_list() == [10.0, 10.0, 10.0, 40.0]
    cut = cohort_retention(tx, as_of="2024-03-15")
    assert cut["month"].max() == dt.date(2024, 3, 1)
    assert cut.filter(pl.col("month") == dt.date(2024, 3, 1))["period_complete"].unique().to_list() == [False]
    assert cohort_retention(tx, max_periods=1)["period"].max() == 1
    with pytest.raises(CustlabError, match=r"1 order line\(s\) have no customer_id"):
        cohort_retention(tx.with_columns(customer_id=pl.Series([1, None, 2])))
    with pytest.raises(CustlabError, match="as_of must be a date"):
        cohort_retention(tx, as_of="soon")
    with pytest.raises(CustlabError, match="value must be one of"):
        cohort_matrix(r, "churn")


def test_plot_cohort_heatmap() -> None:
    d = dt.datetime
    tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "order_id": ["a", "b", "c", "d"],
                       "order_date": [d(2024, 1, 5), d(2024, 2, 2), d(2024, 2, 9), d(2024, 3, 1)],
                       "amount": [1.0, 1.0, 1.0, 1.0]})
    fig = plot_cohort_heatmap(cohort_retention(tx))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert [t.get_text() for t in ax.texts] == ["100%", "100%", "0%", "100%", "0%", "100%"]


def test_cohort_heatmap_is_drawn_without_pyplot_in_chinese():
    import matplotlib.pyplot as plt

    d = dt.datetime
    tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["a", "b", "c"],
                       "order_date": [d(2024, 1, 5), d(2024, 2, 2), d(2024, 2, 9)], "amount": [1.0, 1.0, 1.0]})
    before = plt.get_fignums()
    fig = plot_cohort_heatmap(cohort_retention(tx), value="revenue_per_customer", language="zh")
    assert plt.get_fignums() == before
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("人均收入", "首购后月数", "获客月份")
