"""Cox fits that used to crash: levels counted in customers, many categories, separation, forced failures.

Every CoxFitError names what went wrong and a fix; where the fix is an argument (``retry_with``), the test
follows it and checks that the fit then works.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest

from custlab import churn, repurchase
from custlab.churn import ChurnDataWarning, CoxFitError
from custlab.exceptions import ConvergenceError, CustlabError

from .helpers import _cox_data


def _shop(n_customers=600, categories=None, seed=0, heavy=()):
    """Customers buying every ~20 days for a while; each has one category; ``heavy`` customers buy 150 times."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 1, 1)
    categories = categories or ["a", "b", "c"]
    rows = []
    for c in range(n_customers):
        cat = heavy[c][1] if c < len(heavy) else categories[c % len(categories)]
        n = 150 if c < len(heavy) else 1 + int(rng.geometric(0.3))
        day = start + dt.timedelta(days=float(rng.uniform(0, 300)))
        for k in range(n):
            rows.append((c, f"{c}-{k}", day, float(rng.gamma(2.0, 20.0)), cat))
            day += dt.timedelta(days=float(rng.exponential(20.0)) + 1 if c >= len(heavy) else 2.0)
    return pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "amount", "category"], orient="row")


def test_levels_are_counted_in_customers_not_rows():
    """Two customers with 150 purchase days each: 300 rows, but a level of two customers is merged."""
    tx = _shop(heavy=[(0, "wholesale"), (1, "wholesale")])
    gaps = repurchase.repurchase_frame(tx)
    assert gaps.filter(pl.col("first_category") == "wholesale").height == 300
    for seed in range(4):  # wherever the split puts the two customers, the fit works
        model = repurchase.RepurchaseModel(["purchase_number", "first_category"], seed=seed).fit(gaps)
        reference = model.hazard_ratios_["reference"].drop_nulls()[0]
        assert model.merged_levels_["first_category"]["wholesale"] in ("(other)", reference)
        assert not any("wholesale" in term for term in model.hazard_ratios_["term"])


def test_a_shop_with_224_categories_fits_with_at_most_max_levels():
    rng = np.random.default_rng(1)
    names = [f"cat{i:03d}" for i in range(224)]
    sizes = rng.zipf(1.6, 3000) % 224  # a few big categories, a long tail held by one to three customers
    cats = pl.DataFrame({"customer_id": np.arange(3000), "category": [names[i] for i in sizes]})
    tx = _shop(3000, seed=1).drop("category").join(cats, on="customer_id")
    assert tx["category"].n_unique() > 150
    gaps = repurchase.repurchase_frame(tx)
    model = repurchase.RepurchaseModel().fit(gaps)
    cats = model.hazard_ratios_.filter(pl.col("covariate") == "first_category")
    assert 1 <= cats.height <= 20  # 19 levels besides the reference, then "(other)" for the rest
    assert model.hazard_ratios_["hazard_ratio"].is_finite().all()
    merged = model.merged_levels_["first_category"]
    assert len(merged) > 100 and set(merged.values()) == {"(other)"}
    sf = churn.survival_frame(tx)
    assert churn.CoxChurnModel(max_levels=None).fit(sf).hazard_ratios_["hazard_ratio"].is_finite().all()


def test_online_retail_products_as_categories_fit(online_retail_clean):
    """3,877 product descriptions as first categories (the "224 categories" report crash, larger)."""
    tx = online_retail_clean.with_columns(category=pl.col("product_name"))
    gaps = repurchase.repurchase_frame(tx)
    model = repurchase.RepurchaseModel().fit(gaps)
    assert model.reliable_ and model.concordance_test_ > 0.7
    assert len(model.merged_levels_["first_category"]) > 1000


def test_ta_feng_subclasses_fit(ta_feng_sample):
    tx, customers = ta_feng_sample
    assert tx["category"].n_unique() > 1000
    model = churn.CoxChurnModel().fit(churn.survival_frame(tx, customers=customers))
    assert model.covariates_ == ["first_order_value", "first_category", "age_group", "region"]
    assert model.hazard_ratios_["upper"].is_finite().all()


def test_olist_fails_clearly_and_its_fix_works(olist):
    """20 repurchases among 9,337 customers: separation, then a penalised fit that says it is not reliable."""
    tx, regions = olist
    gaps = repurchase.repurchase_frame(tx, customers=regions)
    with pytest.raises(CoxFitError, match=re.escape(
        "RepurchaseModel cannot be fitted: the Cox fit did not converge with only 17 repurchase events for "
    )) as caught:
        repurchase.RepurchaseModel().fit(gaps)
    error = caught.value
    assert isinstance(error, ConvergenceError) and isinstance(error, CustlabError)
    assert error.retry_with == {"penalizer": 0.1}
    assert "Fit again with penalizer=0.1" in str(error) and "delta contains nan" not in str(error)
    model = repurchase.RepurchaseModel(**error.retry_with).fit(gaps)
    assert model.hazard_ratios_.select(pl.col(pl.Float64).is_finite().all()).row(0) == (True,) * 4
    assert not model.reliable_ and model.reliability_.startswith("Not reliable: only 17 repurchase events for ")


def _separated(n=400, seed=0):
    """Every "web" customer churns before any "app" customer does: the hazard ratio of web is infinite."""
    rng = np.random.default_rng(seed)
    web = rng.random(n) < 0.4
    days = np.where(web, rng.integers(90, 100, n), rng.integers(150, 400, n))
    return pl.DataFrame({"customer_id": np.arange(n), "duration_days": days, "churned": web | (rng.random(n) < 0.5),
                         "first_channel": np.where(web, "web", "app"), "first_order_value": rng.gamma(2.0, 30.0, n)})


def test_forced_cox_failure_is_a_specific_error_and_its_fix_works():
    sf = _separated()
    with pytest.raises(CoxFitError) as caught:
        churn.CoxChurnModel(["first_channel", "first_order_value"]).fit(sf)
    error = caught.value
    assert str(error).startswith("CoxChurnModel cannot be fitted: the Cox fit did not converge (")
    assert error.reason.startswith("the Cox fit did not converge") and error.fix.startswith("Fit again with penalizer=0.1")
    model = churn.CoxChurnModel(["first_channel", "first_order_value"], **error.retry_with).fit(sf)
    web = model.hazard_ratios_.filter(pl.col("term") == "first_channel=web").row(0, named=True)
    assert web["hazard_ratio"] > 5 and np.isfinite([web["lower"], web["upper"]]).all()


def test_no_event_in_the_training_customers_suggests_test_size_0():
    sf = _cox_data(400).with_columns(churned=pl.col("customer_id").is_in([3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377]))
    with pytest.raises(CoxFitError) as caught:
        churn.CoxChurnModel(["first_channel"], test_size=0.9, seed=0).fit(sf)
    assert caught.value.retry_with == {"test_size": 0.0}
    assert "Fit on all customers with test_size=0" in str(caught.value)
    model = churn.CoxChurnModel(["first_channel"], seed=0, **{"test_size": 0.9, **caught.value.retry_with}).fit(sf)
    assert model.events_train_ == 11 and model.concordance_test_ is None


def test_too_few_events_needs_more_data():
    sf = _cox_data(200).with_columns(churned=pl.col("customer_id") < 6)
    with pytest.raises(CoxFitError, match=re.escape(
        "only 4 churn event(s) among the training customers (6 in all); a Cox model needs at least 10. "
        "The data must hold more churn events: a longer history before as_of."
    )) as caught:
        churn.CoxChurnModel(["first_channel"]).fit(sf)
    assert caught.value.retry_with == {}


def test_aliased_columns_are_dropped_like_r():
    sf = _cox_data(1000).with_columns(channel_copy=pl.col("first_channel"), value_twice=pl.col("first_order_value") * 2)
    with pytest.warns(ChurnDataWarning, match=re.escape("left out 1 design column(s) that are constant or a linear")):
        model = churn.CoxChurnModel(["first_channel", "channel_copy", "first_order_value"]).fit(sf)
    assert len(model.aliased_) == 1 and model.hazard_ratios_.height == 2
    reference = churn.CoxChurnModel(["first_channel", "first_order_value"]).fit(sf)
    np.testing.assert_allclose(np.sort(model.hazard_ratios_["hazard_ratio"]),
                               np.sort(reference.hazard_ratios_["hazard_ratio"]), rtol=1e-9)


def test_settings_are_checked():
    sf = _cox_data(300)
    with pytest.raises(CustlabError, match=re.escape("penalizer must be a number of 0 or more (try 0.1), got -1.")):
        churn.CoxChurnModel(["first_channel"], penalizer=-1).fit(sf)
    with pytest.raises(CustlabError, match=re.escape("min_customers_per_level must be a whole number of 1 or more")):
        churn.CoxChurnModel(["first_channel"], min_customers_per_level=0).fit(sf)
    model = churn.CoxChurnModel(["first_channel"])
    assert repr(model) == ("CoxChurnModel(covariates=['first_channel'], penalizer=0.0, min_customers_per_level=30) "
                           "[not fitted]")
    assert re.match(r"CoxChurnModel\(penalizer=0.0, min_customers_per_level=30\) fitted on 225 rows \(\d+ events\): "
                    r"1 term\(s\) of \['first_channel'\], held-out concordance 0\.\d{3}$", repr(model.fit(sf)))
