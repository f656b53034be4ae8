"""lift() and its interval arithmetic: Hillstrom's published rates, independent implementations, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custlab.campaigns import LIFT_COLUMNS, CampaignWarning, NoControlGroupError, lift
from custlab.campaigns.stats import compare_means, compare_rates, newcombe_interval, wilson_interval
from custlab.exceptions import CustlabError

Z95 = 1.959963984540054

# The README of ../shared/data/hillstrom_email: per-customer rates of each arm.
HILLSTROM = {
    "Mens E-Mail": {"n": 21307, "visit": 0.18276, "conversion": 0.012531, "spend": 1.4226},
    "Womens E-Mail": {"n": 21387, "visit": 0.15140, "conversion": 0.008837, "spend": 1.0772},
    "No E-Mail": {"n": 21306, "visit": 0.10617, "conversion": 0.005726, "spend": 0.6528},
}
# ... and the lifts against No E-Mail: (absolute, relative).
HILLSTROM_LIFTS = {
    ("Mens E-Mail", "visit"): (0.0766, 0.721), ("Mens E-Mail", "conversion"): (0.00681, 1.188),
    ("Mens E-Mail", "spend"): (0.770, 1.179), ("Womens E-Mail", "visit"): (0.0452, 0.426),
    ("Womens E-Mail", "conversion"): (0.00311, 0.543), ("Womens E-Mail", "spend"): (0.424, 0.650),
}


@pytest.fixture(scope="module")
def hillstrom_lift(hillstrom):
    return lift(hillstrom, group="segment", control="No E-Mail", outcomes=["visit", "conversion", "spend"])


def test_hillstrom_rates_and_lifts_reproduce_the_published_table(hillstrom_lift):
    table = hillstrom_lift
    assert table.columns == list(LIFT_COLUMNS)
    assert table.height == 6
    for row in table.iter_rows(named=True):
        arm, outcome = row["group"], row["outcome"]
        assert row["n"] == HILLSTROM[arm]["n"] and row["n_control"] == HILLSTROM["No E-Mail"]["n"]
        digits = 4 if outcome == "spend" else 5 if outcome == "visit" else 6
        assert round(row["rate"], digits) == pytest.approx(HILLSTROM[arm][outcome], abs=10 ** -digits)
        assert round(row["control_rate"], digits) == pytest.approx(HILLSTROM["No E-Mail"][outcome], abs=10 ** -digits)
        absolute, relative = HILLSTROM_LIFTS[(arm, outcome)]
        assert row["abs_lift"] == pytest.approx(absolute, rel=5e-3)
        assert row["rel_lift"] == pytest.approx(relative, abs=1e-3)
        assert row["ci_low"] < row["abs_lift"] < row["ci_high"] and row["ci_low"] > 0  # every e-mail effect is real
        assert row["rel_ci_low"] < row["rel_lift"] < row["rel_ci_high"]
        assert row["p_value"] < 0.002
    mens = table.filter(pl.col("group") == "Mens E-Mail", pl.col("outcome") == "visit").row(0, named=True)
    assert f"{mens['rate']:.3%}" == "18.276%" and f"{mens['control_rate']:.3%}" == "10.617%"
    assert f"{mens['abs_lift'] * 100:+.2f}" == "+7.66"
    spend = table.filter(pl.col("group") == "Mens E-Mail", pl.col("outcome") == "spend").row(0, named=True)
    assert (f"{spend['rate']:.4f}", f"{spend['control_rate']:.4f}") == ("1.4226", "0.6528")
    assert spend["kind"] == "mean" and spend["test"] == "welch_t"


def test_hillstrom_intervals_match_statsmodels(hillstrom, hillstrom_lift):
    sm_prop = pytest.importorskip("statsmodels.stats.proportion")
    sm_means = pytest.importorskip("statsmodels.stats.weightstats")
    control = hillstrom.filter(pl.col("segment") == "No E-Mail")
    for row in hillstrom_lift.iter_rows(named=True):
        arm = hillstrom.filter(pl.col("segment") == row["group"])
        if row["kind"] == "rate":
            x1, x0 = arm[row["outcome"]].sum(), control[row["outcome"]].sum()
            low, high = sm_prop.confint_proportions_2indep(x1, arm.height, x0, control.height, method="newcomb")
            ratio_low, ratio_high = sm_prop.confint_proportions_2indep(x1, arm.height, x0, control.height,
                                                                       compare="ratio", method="log")
            assert (row["rel_ci_low"], row["rel_ci_high"]) == pytest.approx((ratio_low - 1, ratio_high - 1), rel=1e-9)
            _, p = sm_prop.test_proportions_2indep(x1, arm.height, x0, control.height, method="score",
                                                   correction=False)
            assert row["p_value"] == pytest.approx(p, rel=1e-6)
        else:
            cm = sm_means.CompareMeans.from_data(arm["spend"].to_numpy(), control["spend"].to_numpy())
            low, high = cm.tconfint_diff(alpha=0.05, usevar="unequal")
            assert row["p_value"] == pytest.approx(cm.ttest_ind(usevar="unequal")[1], rel=1e-9)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)


def test_published_newcombe_and_wilson_examples():
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10: 56/70 - 48/80 -> 0.0524 to 0.3339.
    assert newcombe_interval(56, 70, 48, 80, Z95) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    # Newcombe (1998) Statistics in Medicine 17:857-872, Table I: 0/10 -> 0 to 0.2775 (Wilson score).
    assert wilson_interval(0, 10, Z95) == pytest.approx((0.0, 0.2775), abs=5e-5)
    # ... and Table II, 9/10 vs 3/10 -> 0.1705 to 0.8090
    assert newcombe_interval(9, 10, 3, 10, Z95) == pytest.approx((0.1705, 0.8090), abs=5e-5)


def test_bootstrap_intervals_agree_with_the_analytic_ones(hillstrom, hillstrom_lift):
    boot = lift(hillstrom, group="segment", control="No E-Mail", outcomes=["visit", "spend"], method="bootstrap",
                n_boot=1000, seed=3)
    for row in boot.iter_rows(named=True):
        ref = hillstrom_lift.filter(pl.col("group") == row["group"], pl.col("outcome") == row["outcome"]).row(0, named=True)
        width = ref["ci_high"] - ref["ci_low"]
        assert row["ci_low"] == pytest.approx(ref["ci_low"], abs=0.1 * width)
        assert row["ci_high"] == pytest.approx(ref["ci_high"], abs=0.1 * width)
        assert row["test"].endswith("+bootstrap")


def test_zero_conversions_give_valid_intervals_and_no_nan():
    data = pl.DataFrame({"arm": ["t"] * 50 + ["c"] * 50, "bought": [0] * 100})
    row = lift(data, group="arm", control="c", outcomes="bought").row(0, named=True)
    assert row["abs_lift"] == 0.0 and row["p_value"] == 1.0 and row["test"] == "fisher_exact"
    assert row["ci_low"] < 0 < row["ci_high"]
    assert row["rel_lift"] is None and row["rel_ci_low"] is None
    one_side = pl.DataFrame({"arm": ["t"] * 50 + ["c"] * 50, "bought": [1] * 5 + [0] * 95})
    row = lift(one_side, group="arm", control="c", outcomes="bought").row(0, named=True)
    assert row["rate"] == 0.1 and row["control_rate"] == 0.0 and row["rel_lift"] is None
    assert row["ci_low"] > 0  # 5 of 50 against 0 of 50: Newcombe's interval excludes 0
    assert not any(isinstance(v, float) and math.isnan(v) for v in row.values())


def test_very_different_group_sizes_warn_and_keep_correct_intervals():
    rng = np.random.default_rng(0)
    data = pl.DataFrame({"arm": ["t"] * 20_000 + ["c"] * 500,
                         "bought": np.r_[rng.random(20_000) < 0.06, rng.random(500) < 0.05].astype(int)})
    with pytest.warns(CampaignWarning, match="very different size"):
        row = lift(data, group="arm", control="c", outcomes="bought").row(0, named=True)
    x1, x0 = data.filter(pl.col("arm") == "t")["bought"].sum(), data.filter(pl.col("arm") == "c")["bought"].sum()
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(newcombe_interval(x1, 20_000, x0, 500, Z95))
    assert row["ci_high"] - row["ci_low"] > 0.03  # the small control dominates the width


def test_interval_coverage_with_unequal_groups_is_nominal():
    """Simulated 95% intervals cover the true difference about 95% of the time (groups 5,000 and 250)."""
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(400):
        x1, x0 = rng.binomial(5000, 0.08), rng.binomial(250, 0.05)
        c = compare_rates(x1, 5000, x0, 250)
        covered += c.ci_low <= 0.03 <= c.ci_high
    assert 0.92 <= covered / 400 <= 0.98


def test_no_control_group_is_a_clear_error():
    data = pl.DataFrame({"arm": ["a", "b"], "bought": [1, 0]})
    with pytest.raises(NoControlGroupError, match="did or custlab.campaigns.matched"):
        lift(data, group="arm", control="control", outcomes="bought")


@pytest.mark.parametrize(("frame", "kwargs", "message"), [
    (pl.DataFrame({"arm": ["t", "c"], "x": [1, None]}), {"outcomes": "x"}, "missing value"),
    (pl.DataFrame({"arm": ["t", None], "x": [1, 0]}), {"outcomes": "x"}, "without a group"),
    (pl.DataFrame({"arm": ["t", "c"], "x": ["a", "b"]}), {"outcomes": "x"}, "numeric or boolean"),
    (pl.DataFrame({"arm": ["t", "c"], "x": [1, 0]}), {"outcomes": "y"}, "not in the table"),
    (pl.DataFrame({"arm": ["c", "c"], "x": [1, 0]}), {"outcomes": "x"}, "nothing to compare"),
    (pl.DataFrame({"arm": ["t", "c"], "x": [1, 0]}), {"outcomes": "x", "ci": 1.5}, "confidence level"),
])
def test_bad_input_is_named(frame, kwargs, message):
    with pytest.raises(CustlabError, match=message):
        lift(frame, group="arm", control="c", **kwargs)


def test_lazy_frames_and_booleans_are_accepted():
    data = pl.DataFrame({"arm": ["t", "t", "c", "c"], "bought": [True, True, False, True]})
    eager = lift(data, group="arm", control="c", outcomes="bought")
    assert eager.equals(lift(data.lazy(), group="arm", control="c", outcomes="bought"))
    assert eager["kind"][0] == "rate" and eager["rate"][0] == 1.0


@given(st.integers(0, 200), st.integers(1, 200), st.integers(0, 200), st.integers(1, 200))
def test_interval_properties(x1, n1, x0, n0):
    x1, x0 = min(x1, n1), min(x0, n0)
    c = compare_rates(x1, n1, x0, n0)
    assert -1 <= c.ci_low <= c.abs_lift <= c.ci_high <= 1
    assert 0 <= c.p_value <= 1
    if c.rel_lift is not None:
        assert c.rel_ci_low <= c.rel_lift <= c.rel_ci_high


def test_welch_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(2)
    a, b = rng.gamma(2, 10, 300), rng.gamma(2, 12, 80)
    c = compare_means(a.mean(), a.var(ddof=1), a.size, b.mean(), b.var(ddof=1), b.size)
    assert c.p_value == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lift(pl.DataFrame({"arm": ["t"] * 300 + ["c"] * 80, "y": np.r_[a, b]}), group="arm", control="c", outcomes="y")
