"""Power and sample size (checked by simulation), and CUPED (checked against its closed form and on Hillstrom)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from custlab.campaigns import cuped, lift, minimum_detectable_lift, power, pre_period_spend, sample_size
from custlab.campaigns.stats import compare_rates
from custlab.exceptions import CustlabError


def test_textbook_sample_size_for_two_rates():
    # Fleiss, Levin & Paik (2003) eq. 4.14 without continuity correction: 10% vs 12%, alpha 0.05, power 0.8 -> 3,841.
    plan = sample_size(0.10, lift=0.20)
    assert (plan.n_treatment, plan.n_control) == (3841, 3841)
    assert power(3841, 0.10, lift=0.20) == pytest.approx(0.80, abs=2e-4)
    assert minimum_detectable_lift(3841, 0.10) == pytest.approx(0.20, abs=1e-3)


def test_planned_power_holds_in_simulation():
    """At the planned sizes, the score test rejects in about 80% of simulated tests (80/20 split)."""
    plan = sample_size(0.04, lift=0.28, ratio=0.25)
    rng = np.random.default_rng(0)
    rejected = 0
    for _ in range(1000):
        x1 = rng.binomial(plan.n_treatment, 0.04 * 1.28)
        x0 = rng.binomial(plan.n_control, 0.04)
        rejected += compare_rates(x1, plan.n_treatment, x0, plan.n_control).p_value < 0.05
    assert rejected / 1000 == pytest.approx(0.80, abs=0.04)


def test_mean_outcomes_need_a_standard_deviation():
    plan = sample_size(100.0, lift=0.05, kind="mean", sd=80.0)
    assert plan.n_treatment == int(np.ceil((1.959964 + 0.841621) ** 2 * 80 ** 2 * 2 / 5.0 ** 2))
    assert "send to" in plan.describe() and "位顾客" in plan.describe("zh")
    with pytest.raises(CustlabError, match="standard deviation"):
        sample_size(100.0, lift=0.05, kind="mean")
    with pytest.raises(CustlabError, match="strictly between 0 and 1"):
        sample_size(0.9, lift=0.2)
    with pytest.raises(CustlabError, match="must not be 0"):
        sample_size(0.1, lift=0.0)


def test_cuped_variance_reduction_is_rho_squared():
    rng = np.random.default_rng(4)
    n = 20_000
    x = rng.gamma(2.0, 50.0, n)
    arm = np.where(rng.random(n) < 0.5, "t", "c")
    y = 0.5 * x + rng.normal(0, 40, n) + np.where(arm == "t", 3.0, 0.0)
    frame = pl.DataFrame({"arm": arm, "y": y, "x": x})
    result = cuped(frame, outcome="y", covariate="x", group="arm", control="c")
    rho = np.corrcoef(x, y)[0, 1]
    assert result.variance_reduction == pytest.approx(rho ** 2, abs=1e-3)
    s = result.summary.row(0, named=True)
    assert s["width_cuped"] / s["width"] == pytest.approx(np.sqrt(1 - rho ** 2), rel=0.02)
    assert s["ci_low_cuped"] < 3.0 < s["ci_high_cuped"]
    # CUPED with a pooled theta equals the regression-adjusted difference with the same slope
    adjusted = y - result.theta * (x - x.mean())
    assert s["abs_lift_cuped"] == pytest.approx(adjusted[arm == "t"].mean() - adjusted[arm == "c"].mean())
    assert "narrows the interval" in result.describe()


def test_cuped_on_hillstrom_history(hillstrom):
    frame = hillstrom.filter(pl.col("segment") != "Womens E-Mail")
    result = cuped(frame, outcome="spend", covariate="history", group="segment", control="No E-Mail")
    raw = lift(frame, group="segment", control="No E-Mail", outcomes="spend").row(0, named=True)
    s = result.summary.row(0, named=True)
    assert result.variance_reduction > 0 and s["width_cuped"] <= s["width"]
    assert s["abs_lift_cuped"] == pytest.approx(raw["abs_lift"], abs=0.05)  # randomised: adjustment moves little


def test_pre_period_spend(small_campaign_shop):
    pre = pre_period_spend(small_campaign_shop.campaigns, small_campaign_shop.transactions, within="365d")
    assert pre.height == small_campaign_shop.campaigns.height
    assert pre["pre_spend"].null_count() == 0 and (pre["pre_spend"] > 0).mean() > 0.9  # dormant, but bought in the year


def test_constant_covariate_is_refused():
    frame = pl.DataFrame({"arm": ["t", "c"] * 5, "y": list(range(10)), "x": [1.0] * 10})
    with pytest.raises(CustlabError, match="does not vary"):
        cuped(frame, outcome="y", covariate="x", group="arm", control="c")
