"""Acquisition cohorts (custlab.cohorts), checked against pandas on Online Retail."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import custlab._grouping as grouping
import custlab.cohorts as cohorts_module
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


def _python_retention(rows: list[tuple[int, dt.datetime, float]]) -> dict[tuple[int, int], tuple[int, float]]:
    """(cohort month number, period) -> (active customers, revenue), by the definition, in plain Python."""
    months: dict[int, dict[int, float]] = {}
    for customer, at, amount in rows:
        per = months.setdefault(customer, {})
        m = at.year * 12 + at.month - 1
        per[m] = per.get(m, 0.0) + amount
    cells: dict[tuple[int, int], tuple[int, float]] = {}
    for per in months.values():
        first = min(per)
        for m, revenue in per.items():
            active, total = cells.get((first, m - first), (0, 0.0))
            cells[first, m - first] = (active + 1, total + revenue)
    return cells


def _sorting_path(monkeypatch, lines, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(cohorts_module, "_dense_cells", lambda months: None)
        return cohort_retention(lines, **kwargs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 900), st.integers(1, 50_000)), min_size=1, max_size=120),
       st.booleans())
def test_counting_path_equals_the_sorting_path_and_the_definition(recorded, rows, shuffled):
    """Small whole-number ids take the counting path (np.bincount); its table is the sorting path's, bit for bit."""
    lines = pl.DataFrame({
        "customer_id": [c for c, _, _ in rows],
        "order_id": [str(i) for i in range(len(rows))],
        "order_date": [dt.datetime(2021, 3, 1) + dt.timedelta(days=d, hours=d % 24) for _, d, _ in rows],
        "amount": [cents / 100 for _, _, cents in rows],
    })
    if shuffled:
        lines = lines.sample(fraction=1.0, shuffle=True, seed=len(rows))
    with pytest.MonkeyPatch.context() as patch, recorded(cohorts_module, "_dense_cells") as calls:
        patch.setattr(grouping, "BLOCK", 5)  # customer-months counted 5 at a time
        got = cohort_retention(lines)
    assert calls and calls[0] is not None  # the counting path ran
    with pytest.MonkeyPatch.context() as patch:
        assert_frame_equal(got, _sorting_path(patch, lines), check_exact=True)
    expected = _python_retention(list(zip(lines["customer_id"], lines["order_date"], lines["amount"])))
    for row in got.filter(pl.col("active_customers") > 0).iter_rows(named=True):
        key = (row["cohort"].year * 12 + row["cohort"].month - 1, row["period"])
        assert expected.pop(key)[0] == row["active_customers"]
    assert not expected


@pytest.mark.parametrize("ids, dense", [
    ([0, 1, 2, 3], True),
    ([5, 2**24 - 1, 7, 8], True),  # within the id table's bound
    ([5, 2**24, 7, 8], False),  # beyond it: sorted
    ([-1, 2, 3, 4], False),  # negative ids: sorted
])
def test_counting_path_bounds(monkeypatch, ids, dense):
    lines = pl.DataFrame({"customer_id": ids, "order_id": ["a", "b", "c", "d"],
                          "order_date": [dt.datetime(2024, 1, 5), dt.datetime(2024, 2, 5), dt.datetime(2024, 2, 9),
                                         dt.datetime(2024, 4, 1)],
                          "amount": [10.0, 20.0, 5.5, 8.25]})
    months = cohorts_module._customer_months(lines.lazy(), with_last=False)
    assert (cohorts_module._dense_cells(months) is not None) is dense
    assert_frame_equal(cohort_retention(lines), _sorting_path(monkeypatch, lines), check_exact=True)


def test_counting_path_leaves_out_centuries(monkeypatch):
    """More than 1,200 months between the first and the last order: the counts would be too large a grid."""
    lines = pl.DataFrame({"customer_id": [1, 2], "order_id": ["a", "b"],
                          "order_date": [dt.datetime(1850, 1, 1), dt.datetime(2024, 1, 1)],
                          "amount": [1.0, 2.0]})
    months = cohorts_module._customer_months(lines.lazy(), with_last=False)
    assert cohorts_module._dense_cells(months) is None
    table = cohort_retention(lines, max_periods=2)
    assert table.filter(pl.col("cohort") == dt.date(1850, 1, 1))["active_customers"].to_list() == [1, 0, 0]


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
