"""Online Retail end to end (figures for the README)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from custlab import churn


def test_online_retail_end_to_end(online_retail_clean):
    tx = online_retail_clean
    sf = churn.survival_frame(tx)
    # independent check of the frame with pandas
    pdf = tx.select("customer_id", "order_date").to_pandas()
    per = pdf.groupby("customer_id")["order_date"].agg(["min", "max"])
    as_of_day = (pdf["order_date"].max().normalize() + pd.Timedelta(days=1))
    since = (as_of_day - per["max"].dt.normalize()).dt.days
    assert sf.height == 4339 == len(per)
    assert sf["churned"].sum() == int((since >= 90).sum())
    life = (per["max"].dt.normalize() - per["min"].dt.normalize()).dt.days
    expected = np.where(since >= 90, life + 90, (as_of_day - per["min"].dt.normalize()).dt.days)
    assert sf["duration_days"].to_list() == expected.tolist()

    km = churn.kaplan_meier(sf)
    overall = km.summary.row(0, named=True)
    assert overall["customers"] == 4339 and 0 < overall["survival_365d"] < overall["survival_90d"] < 1

    model = churn.CoxChurnModel(seed=0).fit(sf)
    assert model.covariates_ == ["first_order_value"]
    hr = model.hazard_ratios_.row(0, named=True)
    assert hr["upper"] < 1  # bigger first orders, later churn
    assert 0.5 < model.concordance_test_ < 0.7
    assert model.ph_summary_.startswith("Proportional hazards:")
