"""campaign_effect, did, matched and campaign_results on the synthetic shop's planted win-back (+28%)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.campaigns import (
    ContaminatedControlError, NoControlGroupError, campaign_effect, campaign_outcomes, campaign_results, campaign_table,
    did, matched,
)
from custlab.exceptions import CustlabError

PLANTED = 0.28


@pytest.fixture(scope="module")
def effect(campaign_shop):
    return campaign_effect(campaign_shop.campaigns, campaign_shop.transactions, within="30d")


def _conversion(effect):
    return effect.table.filter(pl.col("outcome") == "converted").row(0, named=True)


def test_planted_effect_is_recovered_within_sampling_error(campaign_shop, effect):
    truth = campaign_shop.truth["campaign"]
    row = _conversion(effect)
    # the pipeline finds exactly the planted outcome of every customer ...
    assert (row["n"], row["n_control"]) == (truth["n_treatment"], truth["n_control"])
    assert row["rate"] == pytest.approx(truth["treatment_rate"], abs=1e-12)
    assert row["control_rate"] == pytest.approx(truth["control_rate"], abs=1e-12)
    # ... and its interval covers the planted +28% (the realised lift differs from it by sampling only)
    assert row["rel_ci_low"] < PLANTED < row["rel_ci_high"]
    assert row["rel_ci_low"] > 0 and row["p_value"] < 0.05
    expected_se = np.sqrt(truth["baseline_rate"] * (1 - truth["baseline_rate"]) * (1 / row["n"] + 1 / row["n_control"]))
    assert abs(row["abs_lift"] - PLANTED * truth["baseline_rate"]) < 3 * expected_se


def test_outcomes_and_money(campaign_shop, effect):
    outcomes = set(effect.table["outcome"].to_list())
    assert {"converted", "revenue", "orders", "aov", "reactivated"} <= outcomes
    s = effect.summary.row(0, named=True)
    revenue = effect.table.filter(pl.col("outcome") == "revenue").row(0, named=True)
    assert s["incremental_revenue"] == pytest.approx(revenue["abs_lift"] * revenue["n"])
    assert s["cost"] == pytest.approx(campaign_shop.truth["campaign"]["cost_per_treated"] * s["n"])
    assert s["incremental_profit"] == pytest.approx(s["incremental_revenue"] - s["cost"])
    assert s["roi_increment"] == pytest.approx(s["incremental_profit"] / s["cost"])
    # induced orders carry the increment: treated revenue minus control revenue is about their value
    induced = campaign_shop.truth["campaign"]["induced_revenue"]
    assert s["incremental_revenue_low"] < induced < s["incremental_revenue_high"]


def test_reactivation_counts_dormant_customers(campaign_shop, effect):
    table = campaign_table(campaign_shop.campaigns)
    outcomes = campaign_outcomes(table, campaign_shop.transactions, within="30d", dormant_days=90)
    assert outcomes["dormant"].all()  # the planted campaign targets customers silent for 90-364 days
    assert outcomes["recency_days"].min() >= 90 and outcomes["recency_days"].max() < 365


def test_did_recovers_the_effect_without_the_control_flag(campaign_shop, effect):
    treated_only = campaign_shop.campaigns.filter(pl.col("group") == "treatment")
    result = did(treated_only, campaign_shop.transactions, within="30d")
    row = _conversion(result)
    assert result.evidence == "difference_in_differences"
    assert row["rel_ci_low"] < PLANTED < row["rel_ci_high"]
    assert row["abs_lift"] == pytest.approx(_conversion(effect)["abs_lift"], abs=0.002)
    assert row["n_control"] >= 0.99 * campaign_shop.truth["campaign"]["n_control"]
    assert "Weaker evidence" in result.describe()[0]


def test_did_names_an_argument_that_is_not_a_frame(campaign_shop):
    with pytest.raises(TypeError, match="transactions must be a polars DataFrame or LazyFrame, got list"):
        did(campaign_shop.campaigns, [1, 2])
    with pytest.raises(TypeError, match="campaigns must be a polars DataFrame or LazyFrame, got NoneType"):
        did(None, campaign_shop.transactions)


def test_matching_on_rfm_and_tier_is_weaker_but_covers_the_effect(campaign_shop):
    treated_only = campaign_shop.campaigns.filter(pl.col("group") == "treatment")
    result = matched(treated_only, campaign_shop.transactions, customers=campaign_shop.customers, seed=1)
    row = _conversion(result)
    assert result.evidence == "matched"
    assert row["rel_ci_low"] < PLANTED < row["rel_ci_high"]
    assert result.balance is not None and result.balance["smd_after"].abs().max() < 0.1
    assert "city_tier_tier1" in result.balance["feature"].to_list()


def test_describe_in_both_languages_has_no_missing_numbers(effect):
    for language in ("en", "zh"):
        text = " ".join(effect.describe(language))
        assert "nan" not in text.lower() and "None" not in text and "inf" not in text
    assert "30 days" in effect.describe("en")[0] and "30 天" in effect.describe("zh")[0]
    assert "实验组" in effect.describe("zh")[0]


def test_campaign_results_report_section(campaign_shop):
    results = campaign_results(campaign_shop.campaigns, campaign_shop.transactions)
    assert results.recommendation == "holdout" and results.plan.n_control < results.plan.n_treatment
    assert results.summary["evidence"].to_list() == ["randomised"]
    figures = results.key_figures()
    import json

    json.dumps(figures, allow_nan=False)
    assert figures["next_test"]["n_treatment"] == results.plan.n_treatment
    assert any("20% holdout" in s for s in results.describe("en"))
    fig = results.plot(language="zh")
    assert fig.axes and fig.axes[0].get_xlabel()


def test_campaign_results_without_control_uses_did(small_campaign_shop):
    treated = small_campaign_shop.campaigns.filter(pl.col("group") == "treatment")
    results = campaign_results(treated, small_campaign_shop.transactions)
    assert results.summary["evidence"].to_list() == ["difference_in_differences"]
    assert results.describe()[0].startswith("Weaker evidence")


def test_no_control_group_points_to_the_weaker_designs(small_campaign_shop):
    treated = small_campaign_shop.campaigns.filter(pl.col("group") == "treatment")
    with pytest.raises(NoControlGroupError, match="custlab.campaigns.did"):
        campaign_effect(treated, small_campaign_shop.transactions)


def test_control_that_received_the_offer_is_refused(small_campaign_shop):
    leaked = small_campaign_shop.campaigns.with_columns(pl.lit("20 off 200").alias("offer"))
    with pytest.raises(ContaminatedControlError, match="control group that also received the offer"):
        campaign_effect(leaked, small_campaign_shop.transactions)


def test_customer_in_both_groups_is_refused(small_campaign_shop):
    c = small_campaign_shop.campaigns
    twice = pl.concat([c, c.head(1).with_columns(pl.lit("control").alias("group"), pl.lit(None, pl.String).alias("offer"),
                                                  pl.lit(0.0).alias("cost"))])
    if c["group"][0] == "control":
        twice = pl.concat([c, c.head(1).with_columns(pl.lit("treatment").alias("group"))])
    with pytest.raises(CustlabError, match="more than one group"):
        campaign_effect(twice, small_campaign_shop.transactions)


def test_zero_conversions_campaign_says_so(small_campaign_shop):
    c = small_campaign_shop.campaigns.with_columns(pl.lit(dt.datetime(2030, 1, 1)).alias("sent_date"))
    effect = campaign_effect(c, small_campaign_shop.transactions)
    row = _conversion(effect)
    assert row["rate"] == row["control_rate"] == 0.0 and row["ci_low"] < 0 < row["ci_high"]
    text = effect.describe()
    assert "no customer in either group" in text[0] and "window_open" in effect.notes
    assert "aov_skipped" in effect.notes


def test_unequal_split_is_measured(campaign_shop):
    c = campaign_shop.campaigns
    small_control = pl.concat([c.filter(pl.col("group") == "treatment"), c.filter(pl.col("group") == "control").head(400)])
    with pytest.warns(Warning, match="very different size"):
        effect = campaign_effect(small_control, campaign_shop.transactions)
    row = _conversion(effect)
    assert row["n_control"] == 400
    assert row["ci_high"] - row["ci_low"] > 2 * (_conversion(campaign_effect(c, campaign_shop.transactions))["ci_high"]
                                                 - _conversion(campaign_effect(c, campaign_shop.transactions))["ci_low"])


def test_clv_outcome_from_a_table_and_from_the_model(small_campaign_shop):
    c = small_campaign_shop.campaigns
    clv = c.select("customer_id", (pl.col("customer_id") % 7).cast(pl.Float64).alias("clv"))
    effect = campaign_effect(c, small_campaign_shop.transactions, clv=clv)
    assert "clv" in effect.table["outcome"].to_list()
    modelled = campaign_effect(c, small_campaign_shop.transactions, clv="model")
    row = modelled.table.filter(pl.col("outcome") == "clv").row(0, named=True)
    assert row["rate"] > 0 and row["control_rate"] > 0
