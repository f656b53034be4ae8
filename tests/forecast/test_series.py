"""custlab.forecast.series: periods, zeros in gaps, incomplete periods, bad input; Online Retail I + II."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.forecast import ForecastWarning, series
from custlab.forecast.series import check_series


def _tx(rows):
    return pl.DataFrame(rows, schema={"order_date": pl.Datetime("us"), "amount": pl.Float64, "quantity": pl.Float64,
                                      "category": pl.String}, orient="row")


def test_weeks_start_monday_gaps_are_zero_and_the_partial_last_week_is_left_out():
    tx = _tx([
        (dt.datetime(2024, 1, 3, 10), 5.0, 1.0, "a"),  # Wednesday: history starts with its week
        (dt.datetime(2024, 1, 8, 9), 10.0, 2.0, "a"),
        (dt.datetime(2024, 1, 22, 9), 7.0, 1.0, "a"),
        (dt.datetime(2024, 1, 30, 9), 1.0, 1.0, "a"),  # the week of as_of 2024-02-01 is partial
    ])
    out = series(tx, freq="1w", as_of="2024-02-01")
    assert out["series_id"].unique().to_list() == ["total"]
    assert out["period"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 15),
                                       dt.date(2024, 1, 22)]
    assert out["value"].to_list() == [5.0, 10.0, 0.0, 7.0]
    flagged = series(tx, freq="1w", as_of="2024-02-01", incomplete="flag")
    assert flagged["period"].to_list()[0] == dt.date(2024, 1, 1) and flagged["period"].to_list()[-1] == dt.date(2024, 1, 29)
    assert flagged["complete"].to_list() == [True, True, True, True, False]
    assert flagged["value"].sum() == pytest.approx(23.0)


def test_units_months_several_by_columns_returns_netted_and_null_groups_kept():
    tx = _tx([
        (dt.datetime(2024, 1, 1), 10.0, 2.0, "a"), (dt.datetime(2024, 1, 5), -4.0, -1.0, "a"),
        (dt.datetime(2024, 2, 1), 3.0, 3.0, None), (dt.datetime(2024, 3, 2), 1.0, 1.0, "a"),
    ]).with_columns(channel=pl.lit("app"))
    units = series(tx, by=["category", "channel"], freq="1mo", measure="units", as_of="2024-04-01")
    assert dict(units.group_by("series_id").agg(pl.col("value").sum()).iter_rows()) == {"a / app": 2.0, "(missing) / app": 3.0}
    assert units.filter(pl.col("series_id") == "a / app")["value"].to_list() == [1.0, 0.0, 1.0]
    revenue = series(tx, freq="month", as_of="2024-04-01")
    assert revenue["value"].to_list() == [6.0, 3.0, 1.0]  # the return nets against January


def test_sums_are_the_same_to_the_last_bit_whatever_the_order_of_the_lines():
    # 0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1 in floating point: the report's forecasts moved in the 15th digit
    # from one run to the next. Sums are made in whole millionths.
    rng = np.random.default_rng(0)
    n = 20_000
    tx = pl.DataFrame({
        "order_date": dt.datetime(2024, 1, 1) + pl.Series(rng.integers(0, 90 * 86_400, n) * 1_000_000).cast(pl.Duration("us")),
        "amount": np.round(rng.gamma(2.0, 7.0, n), 2), "quantity": 1.0, "category": rng.choice(["a", "b", "c"], n),
    })
    values = tx["amount"].to_list()
    assert sum(values) != sum(reversed(values))  # the order matters to float sums of these amounts
    first = series(tx, by="category", freq="1w", as_of="2024-03-25")
    for seed in range(3):
        again = series(tx.sample(fraction=1.0, shuffle=True, seed=seed), by="category", freq="1w", as_of="2024-03-25")
        assert again.sort("series_id", "period").rows() == first.sort("series_id", "period").rows()
    exact = tx.with_columns(cents=(pl.col("amount") * 100).round(0).cast(pl.Int64)).filter(
        pl.col("order_date") < dt.datetime(2024, 3, 25))
    total = exact.group_by("category").agg(pl.col("cents").sum()).sort("category")
    got = first.group_by("series_id").agg(pl.col("value").sum()).sort("series_id")
    assert got["value"].to_list() == pytest.approx((total["cents"] / 100).to_list(), abs=1e-6)


def test_bad_input_gets_clear_messages():
    tx = _tx([(dt.datetime(2024, 1, 1), 1.0, 1.0, "a")])
    with pytest.raises(SchemaError, match="region"):
        series(tx, by="region")
    with pytest.raises(SchemaError, match="quantity"):
        series(tx.drop("quantity"), measure="units")
    with pytest.raises(CustlabError, match="freq must be one of '1w', '1mo'"):
        series(tx, freq="1d")
    with pytest.raises(EmptyDataError, match="no order before as_of=2023-01-01"):
        series(tx, as_of="2023-01-01")
    with pytest.raises(EmptyDataError, match="No complete month"):
        series(tx, freq="1mo", as_of="2024-01-20")


def test_a_month_without_any_sale_warns_but_a_closed_christmas_week_does_not():
    days = [dt.datetime(2024, 1, 1) + dt.timedelta(days=d) for d in range(0, 140)]
    closed = [d for d in days if not (dt.datetime(2024, 2, 5) <= d < dt.datetime(2024, 2, 12))]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ForecastWarning)
        series(_tx([(d, 1.0, 1.0, "a") for d in closed]), freq="1w")
    gap = [d for d in days if not (dt.datetime(2024, 2, 5) <= d < dt.datetime(2024, 3, 11))]
    with pytest.warns(ForecastWarning, match=r"No series sold anything in 1 stretch\(es\) of weeks .*2024-02-05..2024-03-04"):
        out = series(_tx([(d, 1.0, 1.0, "a") for d in gap]), freq="1w")
    assert out.filter(pl.col("value") == 0).height == 5


def test_check_series_rejects_duplicates_gaps_and_odd_periods():
    good = pl.DataFrame({"series_id": "x", "period": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)], "value": [1.0, 2.0]})
    assert check_series(good)[1] == "1mo"
    with pytest.raises(CustlabError, match="repeating a \\(series_id, period\\) pair"):
        check_series(pl.concat([good, good.head(1)]))
    with pytest.raises(CustlabError, match="gaps between periods in 1 series"):
        check_series(good.with_columns(period=pl.Series([dt.date(2024, 1, 1), dt.date(2024, 3, 1)])))
    with pytest.raises(CustlabError, match="Mondays .* or firsts of months"):
        check_series(good.with_columns(period=pl.Series([dt.date(2024, 1, 2), dt.date(2024, 1, 9)])))
    with pytest.raises(CustlabError, match="null or non-finite"):
        check_series(good.with_columns(value=pl.Series([1.0, float("nan")])))


def test_online_retail_weekly_total_covers_105_weeks_and_every_line_in_them(retail_demand):
    weekly = series(retail_demand, freq="1w")
    assert weekly["period"].min() == dt.date(2009, 11, 30) and weekly["period"].max() == dt.date(2011, 11, 28)
    assert weekly.height == 105  # the week of 2011-12-05 ends after the last order day (as_of 2011-12-10)
    inside = retail_demand.filter(pl.col("order_date") < dt.datetime(2011, 12, 5))
    assert weekly["value"].sum() == pytest.approx(inside["amount"].sum(), rel=1e-12)
    monthly = series(retail_demand, freq="1mo", by="country")
    months = monthly["period"].unique()
    assert months.min() == dt.date(2009, 12, 1) and months.max() == dt.date(2011, 11, 1) and months.len() == 24
    uk = monthly.filter(pl.col("series_id") == "United Kingdom")
    assert uk.height == 24 and uk["value"].min() > 0
