"""Kaplan-Meier and log-rank: lifelines on one row per customer is the reference (1e-9)."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from custlab import churn
from custlab.exceptions import CustlabError, SchemaError

from .helpers import _random_frame


def test_kaplan_meier_matches_lifelines_per_customer():
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    sf = _random_frame()
    km = churn.kaplan_meier(sf, by="channel", alpha=0.1, at=[90, 200])
    assert km.summary["group"].to_list() == ["a", "b", "c", "(missing)"]  # largest group first
    for group in km.summary["group"].to_list():
        label = None if group == "(missing)" else group
        part = sf.filter(pl.col("channel").is_null() if label is None else pl.col("channel") == label)
        ref = KaplanMeierFitter(alpha=0.1).fit(part["duration_days"].to_numpy(), part["churned"].to_numpy())
        curve = km.curves.filter(pl.col("group") == group)
        np.testing.assert_allclose(curve["survival"].to_numpy(), ref.survival_function_.iloc[:, 0], atol=1e-12)
        np.testing.assert_allclose(curve["lower"].to_numpy(), ref.confidence_interval_.iloc[:, 0], atol=1e-12)
        np.testing.assert_allclose(curve["upper"].to_numpy(), ref.confidence_interval_.iloc[:, 1], atol=1e-12)
        assert curve["at_risk"].to_list() == ref.event_table["at_risk"].astype(int).to_list()
        assert curve["churned"].to_list() == ref.event_table["observed"].astype(int).to_list()
        row = km.summary.filter(pl.col("group") == group).row(0, named=True)
        assert row["customers"] == part.height and row["churned"] == part["churned"].sum()
        assert row["median_days"] == ref.median_survival_time_
        lo, hi = median_survival_times(ref.confidence_interval_).to_numpy().ravel()
        assert (row["median_lower"], row["median_upper"]) == (lo, hi)
        assert row["survival_200d"] == pytest.approx(float(ref.survival_function_at_times(200).iloc[0]), abs=1e-12)


def test_log_rank_matches_lifelines():
    from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test

    sf = _random_frame()
    km = churn.kaplan_meier(sf, by="channel")
    labels = sf["channel"].fill_null("(missing)").to_numpy()
    T, E = sf["duration_days"].to_numpy(), sf["churned"].to_numpy()
    overall = multivariate_logrank_test(T, labels, E)
    first = km.logrank.row(0, named=True)
    assert (first["group_a"], first["group_b"], first["df"]) == ("(all)", "(all)", 3)
    assert first["statistic"] == pytest.approx(overall.test_statistic, rel=1e-9)
    assert first["p_value"] == pytest.approx(overall.p_value, rel=1e-6, abs=1e-300)
    pairs = pairwise_logrank_test(T, labels, E).summary
    assert km.logrank.height == 1 + 6
    for row in km.logrank.iter_rows(named=True):
        if row["group_a"] == "(all)":
            continue
        key = (row["group_a"], row["group_b"]) if (row["group_a"], row["group_b"]) in pairs.index else (
            row["group_b"], row["group_a"])
        assert row["statistic"] == pytest.approx(pairs.loc[key, "test_statistic"], rel=1e-9)


def test_kaplan_meier_overall_has_no_log_rank_and_bad_groupings_are_refused():
    sf = _random_frame(300)
    km = churn.kaplan_meier(sf)
    assert km.logrank is None and km.summary["group"].to_list() == ["all"]
    with pytest.raises(CustlabError, match=re.escape(
        "by='value' has 300 distinct values; group it first (for example age into age_group) or pick a column "
        "with at most 20 groups."
    )):
        churn.kaplan_meier(sf, by="value")
    with pytest.raises(CustlabError, match=re.escape(
        "by='one' has a single value ('x') for all 300 customers; there is nothing to compare."
    )):
        churn.kaplan_meier(sf.with_columns(one=pl.lit("x")), by="one")
    with pytest.raises(CustlabError, match=re.escape("durations must be known and non-negative")):
        churn.kaplan_meier(sf.with_columns(duration_days=pl.col("duration_days") - 500))
    # Online Retail has no category: the schema's hint had proposed mapping the first purchase's date onto it
    with pytest.raises(CustlabError, match=re.escape("by='first_category' is not a column of the survival frame: "
                                                     "pick one of ")) as refused:
        churn.kaplan_meier(sf, by="first_category")
    assert "by=None for one curve" in str(refused.value) and "columns=" not in str(refused.value)
    as_ints = churn.kaplan_meier(sf.with_columns(pl.col("churned").cast(pl.Int8)))
    assert as_ints.summary.equals(km.summary)
    with pytest.raises(SchemaError, match=re.escape(
        "Column 'churned' must be Boolean (or 0/1); 300 value(s) are neither, e.g. [2]."
    )):
        churn.kaplan_meier(sf.with_columns(churned=pl.lit(2)))


def test_top_groups_pools_the_small_ones_and_matches_lifelines():
    """A category column of dozens of values: the largest keep their curves, the rest are one "(other)" curve."""
    from lifelines import KaplanMeierFitter

    sf = _random_frame(400).with_columns(cat=(pl.int_range(pl.len()) % 30).cast(pl.String).str.zfill(2))
    sf = sf.with_columns(cat=pl.when(pl.int_range(pl.len()) < 120).then(pl.lit("big")).otherwise(pl.col("cat")))
    with pytest.raises(CustlabError, match="more than max_groups=20"):
        churn.kaplan_meier(sf, by="cat")
    km = churn.kaplan_meier(sf, by="cat", top_groups=3)
    sizes = sf.group_by("cat").len().sort(["len", "cat"], descending=[True, False])
    kept = sizes["cat"].head(3).to_list()
    assert kept[0] == "big" and set(km.summary["group"]) == {*kept, "(other)"}
    other = sf.filter(~pl.col("cat").is_in(kept))
    row = km.summary.filter(pl.col("group") == "(other)").row(0, named=True)
    ref = KaplanMeierFitter().fit(other["duration_days"].to_numpy(), other["churned"].to_numpy())
    assert row["customers"] == other.height and row["median_days"] == ref.median_survival_time_
    assert churn.kaplan_meier(sf, by="channel", top_groups=10).summary.equals(churn.kaplan_meier(sf, by="channel").summary)
    with pytest.raises(CustlabError, match="top_groups must be a whole number"):
        churn.kaplan_meier(sf, by="cat", top_groups=0)


def test_survival_beyond_the_longest_follow_up_is_null():
    """Ta-Feng has 120 days: a share at 180 or 365 days would be the last value carried forward."""
    sf = _random_frame(300)
    longest = int(sf["duration_days"].max())
    km = churn.kaplan_meier(sf, at=[30, longest, longest + 1, 10 * longest])
    row = km.summary.row(0, named=True)
    assert row["survival_30d"] is not None and row[f"survival_{longest}d"] is not None
    assert row[f"survival_{longest + 1}d"] is None and row[f"survival_{10 * longest}d"] is None
    assert km.summary.schema[f"survival_{10 * longest}d"] == pl.Float64


def test_survival_beyond_the_data_is_zero_once_everyone_has_churned_and_at_may_repeat():
    sf = pl.DataFrame({"duration_days": [100, 120, 130], "churned": [True, True, True]})
    row = churn.kaplan_meier(sf, at=[90, 90, 500]).summary.row(0, named=True)
    assert row["survival_90d"] == 1.0 and row["survival_500d"] == 0.0  # the curve reached 0: known beyond the data
