"""Cox models: planted hazard ratios, lifelines as the reference, the PH check, levels and errors."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from custlab import churn
from custlab.churn import ChurnDataWarning, CoxFitError
from custlab.churn._schoenfeld import _scaled_schoenfeld, _schoenfeld_test
from custlab.exceptions import CustlabError

from .helpers import _cox_data


def test_cox_recovers_planted_hazard_ratios_and_matches_lifelines():
    from lifelines import CoxPHFitter
    from lifelines.utils import concordance_index

    sf = _cox_data()
    model = churn.CoxChurnModel(["first_channel", "first_order_value"], test_size=0.25, seed=7).fit(sf)
    hr = {r["term"]: r for r in model.hazard_ratios_.iter_rows(named=True)}
    web = hr["first_channel=web"]
    assert web["reference"] == "app" and web["lower"] < 2.0 < web["upper"]
    assert web["hazard_ratio"] == pytest.approx(2.0, rel=0.15)
    value = hr["log1p(first_order_value)"]
    assert value["lower"] < 0.7 < value["upper"]

    # Reference: lifelines on the same training customers, with the design built by hand.
    ids = np.arange(sf.height)
    test_ids = np.random.default_rng(7).permutation(ids)[: round(0.25 * ids.size)]
    df = pd.DataFrame({
        "first_channel=web": (sf["first_channel"] == "web").cast(pl.Float64).to_numpy(),
        "log1p(first_order_value)": np.log1p(sf["first_order_value"].to_numpy()),
        "T": sf["duration_days"].to_numpy(), "E": sf["churned"].cast(pl.Int8).to_numpy(),
    })
    is_test = np.isin(ids, test_ids)
    ref = CoxPHFitter().fit(df[~is_test], "T", "E")
    np.testing.assert_allclose(model.hazard_ratios_["hazard_ratio"].to_numpy(), np.exp(ref.params_), rtol=1e-9)
    np.testing.assert_allclose(model.hazard_ratios_["p_value"].to_numpy(), ref.summary["p"], rtol=1e-6)
    test = df[is_test]
    c_ref = concordance_index(test["T"], -ref.predict_partial_hazard(test), test["E"])
    assert model.concordance_test_ == pytest.approx(c_ref, abs=1e-12)
    # the training concordance is computed when first read (the report reads only the held-out one)
    assert "_concordance_train" not in vars(model)
    assert model.concordance_train_ == pytest.approx(ref.concordance_index_, abs=1e-12)
    assert "_concordance_train" in vars(model)
    assert (model.n_train_, model.n_test_) == (3000, 1000)
    risk = model.predict_risk(sf.head(5))
    np.testing.assert_allclose(risk["relative_risk"].to_numpy(), ref.predict_partial_hazard(df.head(5)), rtol=1e-9)


def test_schoenfeld_test_matches_lifelines():
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    rng = np.random.default_rng(3)
    n = 800
    x = np.column_stack([rng.normal(size=n), rng.integers(0, 2, n)])
    t = rng.exponential(np.exp(-x @ [0.5, 0.4]) * (1 + 0.5 * x[:, 0] * rng.random(n)).clip(0.1))  # no ties
    e = rng.random(n) < 0.7
    df = pd.DataFrame(x, columns=["a", "b"]).assign(T=t, E=e.astype(int))
    cph = CoxPHFitter().fit(df, "T", "E")
    with warnings.catch_warnings():  # lifelines' residuals change the global warning filters
        ref = proportional_hazard_test(cph, df, time_transform="rank").summary
    stat, p = _schoenfeld_test(x, t, e, cph.params_.to_numpy(), cph.variance_matrix_.to_numpy())
    np.testing.assert_allclose(stat, ref["test_statistic"], rtol=1e-9)
    np.testing.assert_allclose(p, ref["p"], rtol=1e-9)

    # With tied times and strata, the scaled residuals (Efron ties) equal lifelines' too.
    df["T"] = np.ceil(t * 5)
    df["s"] = rng.integers(0, 3, n)
    cph = CoxPHFitter().fit(df, "T", "E", strata=["s"])
    with warnings.catch_warnings():
        ref_res = cph.compute_residuals(df, kind="scaled_schoenfeld").sort_index()
    scaled, rows, _ = _scaled_schoenfeld(x, df["T"].to_numpy(), e, cph.params_.to_numpy(),
                                               cph.variance_matrix_.to_numpy(), df["s"].to_numpy())
    mine = pd.DataFrame(scaled, index=rows).sort_index()
    np.testing.assert_allclose(mine.to_numpy(), ref_res.to_numpy(), atol=1e-10)


def test_proportional_hazards_check_in_plain_words():
    holds = churn.CoxChurnModel(["first_channel"], seed=0).fit(_cox_data(seed=2))
    assert holds.ph_test_["holds"].to_list() == [True]
    assert holds.ph_summary_.startswith("Proportional hazards: no evidence against it for any of the 1 term (")
    breaks = churn.CoxChurnModel(["first_channel", "first_order_value"], seed=0).fit(
        _cox_data(seed=2, ph_breaking=True))
    verdict = dict(breaks.ph_test_.select("term", "holds").rows())
    assert verdict["first_channel=web"] is False
    assert ("compare Kaplan-Meier curves by it, or fit with strata=['first_channel']." in breaks.ph_summary_)
    stratified = churn.CoxChurnModel(["first_order_value"], strata=["first_channel"]).fit(
        _cox_data(seed=2, ph_breaking=True))
    assert stratified.hazard_ratios_["term"].to_list() == ["log1p(first_order_value)"]


def test_cox_levels_missing_rare_and_reference():
    sf = _cox_data(2000).with_columns(
        pl.when(pl.col("customer_id") % 10 == 0).then(None).otherwise(pl.col("first_channel")).alias("first_channel")
    )
    model = churn.CoxChurnModel(["first_channel", "region"], reference={"region": "south"}).fit(sf)
    terms = model.hazard_ratios_["term"].to_list()
    assert terms == ["first_channel=web", "first_channel=(missing)", "region=north", "region=east"]
    assert model.hazard_ratios_.filter(pl.col("covariate") == "region")["reference"].unique().to_list() == ["south"]
    # training customers (1,500 of 2,000): north 772, south 440, east 280, tiny 8
    assert model.merged_levels_ == {"first_channel": {}, "region": {"tiny": "south"}}  # 8: too few for "(other)"
    wide = churn.CoxChurnModel(["region"], min_customers_per_level=285).fit(sf)
    assert wide.merged_levels_ == {"region": {"east": "(other)", "tiny": "(other)"}}
    assert wide.hazard_ratios_["term"].to_list() == ["region=south", "region=(other)"]
    with pytest.raises(CustlabError, match=re.escape("reference={'region': 'west'}: 'west' is not a level")):
        churn.CoxChurnModel(["region"], reference={"region": "west"}).fit(sf)


def test_cox_refuses_constant_and_empty_covariates():
    sf = _cox_data(500).with_columns(one=pl.lit("x"), nothing=pl.lit(None, dtype=pl.Float64))
    with pytest.raises(CustlabError, match=re.escape(
        "Covariates that cannot enter the model (counted on the training customers): 'one' has a single value ('x') "
        "for all 375 rows; 'nothing' is null for all 375 rows. Drop them from covariates= (or fill them) and fit again."
    )):
        churn.CoxChurnModel(["first_channel", "one", "nothing"]).fit(sf)
    with pytest.raises(CustlabError, match=re.escape(
        "'region' has a single level ('north') after merging the 3 levels held by fewer than "
        "min_customers_per_level=300 customers (or beyond max_levels) into it (e.g. ['south', 'east', 'tiny'])"
    )):
        churn.CoxChurnModel(["region"], min_customers_per_level=300).fit(sf)


def test_default_covariates_that_cannot_be_used_are_reported():
    sf = _cox_data(500).with_columns(gender=pl.lit("f"), segment=pl.lit(None, dtype=pl.String))
    with pytest.warns(ChurnDataWarning, match=re.escape(
        "CoxChurnModel: left out default covariate(s) 'segment' (is null for all 375 rows); "
        "'gender' (has a single value ('f') for all 375 rows)."
    )):
        model = churn.CoxChurnModel().fit(sf)
    assert model.covariates_ == ["first_order_value", "first_channel", "region"]
    assert set(model.skipped_covariates_) == {"segment", "gender"}


def test_rows_with_null_numbers_are_counted():
    sf = _cox_data(500).with_columns(
        first_order_value=pl.when(pl.col("customer_id") < 7).then(None).otherwise(pl.col("first_order_value"))
    )
    with pytest.warns(ChurnDataWarning, match=re.escape(
        "CoxChurnModel: 7 of 500 rows left out of the fit: 7 with null first_order_value."
    )):
        model = churn.CoxChurnModel(["first_order_value"], test_size=0).fit(sf)
    assert model.excluded_.rows() == [("null first_order_value", 7)]
    assert model.n_train_ == 493 and model.concordance_test_ is None


def test_cox_needs_events_and_a_fit():
    sf = _cox_data(200).with_columns(churned=pl.lit(False))
    with pytest.raises(CoxFitError, match=re.escape(
        "CoxChurnModel cannot be fitted: there is no churn event in the 200 rows of the survival frame. Check as_of"
    )):
        churn.CoxChurnModel(["first_channel"]).fit(sf)
    with pytest.raises(CustlabError, match=re.escape("This CoxChurnModel is not fitted yet; call .fit(frame) first.")):
        churn.CoxChurnModel().predict_risk(sf)


# ---------------------------------------------------------------------------
# Repurchase model, early warning, BG/NBD comparison


def test_cox_model_fits_when_no_pair_of_customers_can_be_ordered():
    from custlab.synthetic import make_shop

    tx = make_shop(300, seed=1).transactions
    first_orders = tx.filter(pl.col("order_id") == pl.col("order_id").min().over("customer_id"))
    model = churn.CoxChurnModel().fit(churn.survival_frame(first_orders))
    assert model.concordance_train_ is None
