"""predict_clv against lifetimes, historical CLV against pandas, CLV/CAC and value tiers."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import polars as pl
import pytest

from custlab import clv
from custlab.clv import _lifetimes
from custlab.data.datasets import load_cdnow
from custlab.exceptions import CustlabError, SchemaError

from .helpers import CAL_END, _arrays, _reference_fitter


def test_discounted_clv_equals_lifetimes_with_matching_months(lt, sample, monkeypatch):
    # lifetimes' customer_lifetime_value: months of 30 days and a monthly rate; with the same month
    # length and the annual rate (1.01)**12 - 1 the CLV is the same (1e-9 relative).
    summary = clv.clv_summary(sample, as_of=CAL_END, freq="D")
    bgf = clv.BetaGeo(freq="D").fit(summary)
    ggf = clv.GammaGamma().fit(summary)
    monkeypatch.setattr(clv.value, "MONTH_DAYS", 30.0)
    ours = clv.predict_clv(summary, bgf, ggf, months=6, annual_discount_rate=1.01**12 - 1)
    ref_bg, ref_gg = _reference_fitter(lt, bgf), lt.GammaGammaFitter()
    ref_gg.params_ = pd.Series(ggf.params_)
    x, tx, T = (pd.Series(v) for v in _arrays(summary))
    m = pd.Series(summary["monetary_value"].to_numpy())
    ref = _lifetimes.call_quietly(ref_gg.customer_lifetime_value, ref_bg, x, tx, T, m, time=6, discount_rate=0.01,
                                  freq="D")
    np.testing.assert_allclose(ours["clv"].to_numpy(), np.asarray(ref), rtol=1e-9)
    np.testing.assert_allclose(ours["expected_spend"], ref_gg.conditional_expected_average_profit(x, m), rtol=1e-12)


def test_clv_horizon_discount_and_margin(bgf, ggf, published):
    base = clv.predict_clv(published, bgf, ggf, months=12, annual_discount_rate=0.0)
    # Without discounting, the CLV is spend x expected purchases over 12 months of 30.4375 days.
    x, tx, T = _arrays(published)
    weeks = 12 * 30.4375 / 7
    np.testing.assert_allclose(base["expected_purchases"], bgf.expected_purchases(weeks, x, tx, T), rtol=1e-12)
    np.testing.assert_allclose(base["clv"], base["expected_spend"] * base["expected_purchases"], rtol=1e-12)
    discounted = clv.predict_clv(published, bgf, ggf, months=12, annual_discount_rate=0.10, margin=0.3)
    assert (discounted["clv"] < 0.3 * base["clv"] + 1e-12).all()
    assert (discounted["clv"] > 0.3 * base["clv"] / 1.10 - 1e-12).all()  # no month is discounted by more than a year
    with pytest.raises(CustlabError, match="annual_discount_rate must be a number above -1 .* got -2"):
        clv.predict_clv(published, bgf, ggf, annual_discount_rate=-2)
    with pytest.raises(CustlabError, match="margin must be a share in \\(0, 1\\]"):
        clv.predict_clv(published, bgf, ggf, annual_discount_rate=0.1, margin=0)
    with pytest.raises(TypeError, match="annual_discount_rate"):
        clv.predict_clv(published, bgf, ggf)  # the rate is required: the choice must be explicit


def test_historical_clv_against_pandas():
    master = load_cdnow("master")
    out = clv.historical_clv(master, lifespan_years=2.0)
    df = master.to_pandas()
    window = ((df["order_date"].max() - df["order_date"].min()).days + 1) / 365.25
    aov = df["amount"].sum() / df["order_id"].nunique()
    frequency = df["order_id"].nunique() / df["customer_id"].nunique() / window
    row = out.row(0, named=True)
    assert row["customers"] == 23570 and row["orders"] == 69659
    assert row["average_order_value"] == pytest.approx(aov, rel=1e-12)
    assert row["purchase_frequency"] == pytest.approx(frequency, rel=1e-12)
    assert row["clv"] == pytest.approx(aov * frequency * 2.0, rel=1e-12)
    observed = clv.historical_clv(master)
    span = df.groupby("customer_id")["order_date"].agg(lambda d: (d.max() - d.min()).days / 365.25).mean()
    assert observed["lifespan_years"].item() == pytest.approx(span, rel=1e-12)


def test_historical_clv_by_group_and_its_errors():
    tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "order_id": ["a", "b", "c", "d"],
                       "order_date": [dt.date(2024, 1, 1), dt.date(2024, 1, 11), dt.date(2024, 1, 5),
                                      dt.date(2024, 1, 10)],
                       "amount": [10.0, 30.0, 5.0, 7.0], "channel": ["app", "app", "web", "app"]})
    out = clv.historical_clv(tx, by="channel", lifespan_years=1.0)
    assert out["channel"].to_list() == ["app", "web"]
    assert out["orders"].to_list() == [3, 1]
    assert out["average_order_value"].to_list() == pytest.approx([47 / 3, 5.0])
    with pytest.raises(CustlabError, match="1 customer\\(s\\) belong to more than one 'channel' group"):
        clv.historical_clv(tx.with_columns(channel=pl.Series(["app", "web", "web", "app"])), by="channel")
    with pytest.raises(CustlabError, match="lifespan_years must be a positive number of years, got 0"):
        clv.historical_clv(tx, lifespan_years=0)


def test_clv_cac_per_acquisition_channel():
    values = pl.DataFrame({"customer_id": [1, 2, 3, 4], "clv": [100.0, 50.0, 30.0, 8.0]})
    people = pl.DataFrame({"customer_id": [1, 2, 3, 4], "acquisition_channel": ["search", "search", "social", None]})
    cac = pl.DataFrame({"channel": ["search", "social", "tv"], "cac": [25.0, 40.0, 90.0]})
    out = clv.clv_cac(values, cac, customers=people)
    assert out.rows() == [("(unknown)", 1, 8.0, None, None), ("search", 2, 75.0, 25.0, 3.0),
                          ("social", 1, 30.0, 40.0, 0.75), ("tv", None, None, 90.0, None)]
    channel_level = pl.DataFrame({"acquisition_channel": ["search"], "clv": [60.0]})
    assert clv.clv_cac(channel_level, {"search": 20.0})["clv_cac"].to_list() == [3.0]
    with pytest.raises(SchemaError, match="clv has no 'acquisition_channel' column; pass customers="):
        clv.clv_cac(values, cac)
    with pytest.raises(CustlabError, match="cac lists channel\\(s\\) \\['search'\\] more than once"):
        clv.clv_cac(values, pl.DataFrame({"channel": ["search", "search"], "cac": [1.0, 2.0]}), customers=people)


def test_clv_cac_refuses_ids_of_another_kind():
    frame = pl.DataFrame({"customer_id": ["1", "2"], "clv": [10.0, 20.0]})
    customers = pl.DataFrame({"customer_id": [1, 2], "acquisition_channel": ["a", "b"]})
    with pytest.raises(CustlabError, match=re.escape("customers.customer_id is Int64 but the CLV table's customer_id is String")):
        clv.clv_cac(frame, {"a": 1.0, "b": 2.0}, customers=customers)


def test_clv_tiers_partition_customers():
    frame = pl.DataFrame({"customer_id": range(10), "clv": [float(v) for v in (5, 9, 1, 7, 3, 8, 2, 6, 4, 0)]})
    tiers = clv.clv_tiers(frame)
    assert tiers["customer_id"].to_list() == list(range(10))  # input order kept
    counts = dict(tiers["segment"].value_counts().rows())
    assert counts == {"High value": 2, "Medium value": 3, "Low value": 5}
    assert set(tiers.filter(pl.col("segment") == "High value")["clv"].to_list()) == {9.0, 8.0}
    zh = clv.clv_tiers(frame, language="zh")
    assert set(zh["segment"].unique().to_list()) == {"高价值客户", "中价值客户", "低价值客户"}
    with pytest.raises(CustlabError, match="language must be one of 'en', 'zh', got 'fr'"):
        clv.clv_tiers(frame, language="fr")


def test_clv_cac_counts_valued_customers_and_refuses_duplicates_and_nan():
    # The one CLV/CAC computation: customers without a value are not counted, ids must be unique, NaN refused.
    values = pl.DataFrame({"customer_id": [1, 2, 3], "clv": [100.0, None, 40.0]})
    people = pl.DataFrame({"customer_id": [1, 2, 3], "acquisition_channel": ["search", "search", "social"]})
    out = clv.clv_cac(values, {"search": 50.0, "social": 20.0}, customers=people)
    assert out.rows() == [("search", 1, 100.0, 50.0, 2.0), ("social", 1, 40.0, 20.0, 2.0)]
    with pytest.raises(CustlabError, match=re.escape("clv lists 1 customer_id(s) more than once, e.g. [1]")):
        clv.clv_cac(pl.DataFrame({"customer_id": [1, 1], "clv": [1.0, 2.0]}), {"search": 1.0}, customers=people)
    with pytest.raises(CustlabError, match="Column 'clv' of clv has 1 NaN value"):
        clv.clv_cac(values.with_columns(clv=pl.Series([1.0, float("nan"), 2.0])), {"search": 1.0}, customers=people)
