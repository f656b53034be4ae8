"""Drivers: the planted late-delivery effect is recovered and equals a direct computation; OLS with HC1."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError, SchemaError
from custlab.reviews import drivers, orders_table
from custlab.reviews.drivers import ols_hc1


def test_late_delivery_gap_equals_a_direct_computation_and_recovers_the_planted_gap(voice_shop):
    result = drivers(voice_shop.reviews, orders=voice_shop.orders, customers=voice_shop.customers,
                     transactions=voice_shop.transactions, surveys=voice_shop.surveys)
    od = voice_shop.orders.filter(pl.col("delivered_date").is_not_null()).with_columns(
        late=pl.col("delivered_date").dt.date() > pl.col("promised_date").dt.date())
    joined = voice_shop.reviews.join(od.select("order_id", "late"), on="order_id")
    late = joined.filter(pl.col("late"))["rating"].to_numpy()
    on_time = joined.filter(~pl.col("late"))["rating"].to_numpy()
    gap = result.late_gap
    assert gap["n_late"] == late.size and gap["n_on_time"] == on_time.size
    assert gap["mean_gap"] == pytest.approx(late.mean() - on_time.mean(), abs=1e-12)
    assert gap["negative_gap"] == pytest.approx((late <= 2).mean() - (on_time <= 2).mean(), abs=1e-12)
    planted = voice_shop.truth["voice"]["late_rating_gap"]  # -0.75
    assert gap["gap_lower"] < planted < gap["gap_upper"]
    # the review-level truth agrees with the dates
    truth = voice_shop.truth["voice"]["reviews"].join(od.select("order_id", pl.col("late").alias("by_dates")),
                                                       on="order_id")
    assert (truth["late"] == truth["by_dates"]).all()
    # NPS after late and on-time orders: planted -20 and +32
    rows = {r["delivery"]: r for r in result.nps_by_delivery.table.iter_rows(named=True)}
    assert rows["late"]["lower"] < -20 < rows["late"]["upper"]
    assert rows["on_time"]["lower"] < 32 < rows["on_time"]["upper"]
    # late share by region: planted 8% (east) to 25% (northwest)
    regions = {r["region"]: r for r in result.late_by_region.iter_rows(named=True)}
    for region, spec in voice_shop.truth["voice"]["delivery"].items():
        assert regions[region]["lower"] < spec["late_share"] < regions[region]["upper"], region
    assert result.effects.filter(pl.col("term") == "late_delivery")["upper"].item() < 0
    size = result.by_category.filter((pl.col("category") == "apparel") & (pl.col("aspect") == "size"))
    assert size["complaint_share"].item() > 0.2
    # no size complaint was planted outside apparel: those rows say 0 of n, with an interval that starts at 0
    other = result.by_category.filter((pl.col("category") != "apparel") & (pl.col("aspect") == "size"))
    assert other["complaints"].sum() == 0 and (other["lower"] == 0).all() and (other["upper"] > 0).all()


def test_ols_hc1_against_an_independent_sandwich():
    rng = np.random.default_rng(5)
    x = np.column_stack([np.ones(300), rng.random(300) < 0.4, rng.random(300) < 0.2])
    y = 4 - 0.8 * x[:, 1] - 0.3 * x[:, 2] + rng.normal(0, 1 + x[:, 1], 300)
    fit = ols_hc1(x, y)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    e = y - x @ beta
    bread = np.linalg.inv(x.T @ x)
    meat = sum(np.outer(row, row) * r**2 for row, r in zip(x, e, strict=True))
    se = np.sqrt(np.diag(bread @ meat @ bread) * 300 / 297)
    assert np.allclose(fit["estimate"].to_numpy(), beta) and np.allclose(fit["se"].to_numpy(), se)


def test_delivery_dates_on_transactions_and_bad_input():
    import datetime as dt

    d = dt.datetime(2024, 5, 1)
    tx = pl.DataFrame({"order_id": [1, 1, 2], "customer_id": [1, 1, 2], "order_date": [d] * 3, "amount": [1.0] * 3,
                       "promised_date": [d] * 3, "delivered_date": [d, d, d + dt.timedelta(days=1, hours=2)]})
    table = orders_table(None, tx)
    assert table.sort("order_id")["late"].to_list() == [False, True]
    with pytest.raises(SchemaError, match="delivered_date"):
        orders_table(pl.DataFrame({"order_id": [1]}), None)
    with pytest.raises(SchemaError, match="order_id"):
        drivers(pl.DataFrame({"rating": [1, 5, 4]}), transactions=tx)
    with pytest.raises(CustlabError, match="target"):
        drivers(pl.DataFrame({"rating": [1, 5, 4]}), target="stars")
