"""Survival risk against BG/NBD's 1 - P(alive) (lifetimes as the test-only reference)."""

from __future__ import annotations

import datetime as dt
import re
import warnings

import polars as pl
import pytest

from custlab import churn
from custlab.exceptions import CustlabError, SchemaError


def _p_alive_with_lifetimes(transactions: pl.DataFrame, end: dt.datetime) -> pl.DataFrame:
    """P(alive) from lifetimes' BetaGeoFitter on frequency/recency/T in weeks (test-only reference)."""
    with warnings.catch_warnings():  # lifetimes changes warning filters at import and in its likelihoods
        from lifetimes import BetaGeoFitter

        days = transactions.with_columns(day=pl.col("order_date").dt.date()).group_by("customer_id").agg(
            first=pl.col("day").min(), last=pl.col("day").max(), n=pl.col("day").n_unique())
        summary = days.with_columns(
            frequency=(pl.col("n") - 1).cast(pl.Float64),
            recency=(pl.col("last") - pl.col("first")).dt.total_days() / 7,
            T=(pl.lit(end.date()) - pl.col("first")).dt.total_days() / 7,
        )
        f, r, t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
        bg = BetaGeoFitter().fit(f, r, t)
        alive = bg.conditional_probability_alive(f, r, t)
    return summary.select("customer_id", "frequency").with_columns(p_alive=pl.Series(alive))


def test_comparison_with_bgnbd(small_shop):
    from scipy.stats import spearmanr

    end = small_shop.truth["period"]["end"]
    warn = churn.early_warning(small_shop.transactions, as_of=end).to_frame()
    alive = _p_alive_with_lifetimes(small_shop.transactions, end)
    cmp = churn.compare_with_bgnbd(warn, alive)
    assert cmp.customers == warn.height and cmp.only_in_risk == 0
    assert cmp.only_in_p_alive == alive.height - warn.height
    rho = spearmanr(cmp.table["survival_risk"], cmp.table["bgnbd_risk"]).statistic
    assert cmp.spearman == pytest.approx(rho, abs=1e-12)
    # Both views rank repeat buyers alike; BG/NBD keeps one-time buyers at P(alive) = 1.
    assert cmp.spearman_repeat > 0.4
    assert cmp.customers_repeat == cmp.table.filter(pl.col("frequency") > 0).height
    first = cmp.table.row(0, named=True)
    assert first["survival_rank"] == 1.0 and first["survival_risk"] == warn["p_churn"].max()
    assert "Spearman rank correlation" in str(cmp)


def test_comparison_input_errors():
    risk = pl.DataFrame({"customer_id": [1, 2, 3], "p_churn": [0.1, 0.2, 0.3]})
    with pytest.raises(SchemaError, match=re.escape("The p_alive table is missing column(s) (each customer's BG/NBD")):
        churn.compare_with_bgnbd(risk, pl.DataFrame({"customer_id": [1, 2, 3], "alive": [0.5, 0.5, 0.5]}))
    with pytest.raises(CustlabError, match=re.escape(
        "p_alive['p_alive'] must be a probability in [0, 1] for every customer; 1 value(s) are not, e.g. [1.5]."
    )):
        churn.compare_with_bgnbd(risk, pl.DataFrame({"customer_id": [1, 2, 3], "p_alive": [0.5, 1.5, 0.2]}))
    with pytest.raises(CustlabError, match=re.escape("Only 0 customer(s) are in both tables")):
        churn.compare_with_bgnbd(risk, pl.DataFrame({"customer_id": [7, 8, 9], "p_alive": [0.5, 0.5, 0.2]}))


def test_no_p_alive_at_all_compares_nothing_and_says_why():
    """``choose_model`` keeps the historical formula (p_alive null) when BG/NBD cannot be used, as on Online Retail."""
    risk = pl.DataFrame({"customer_id": [1, 2, 3], "p_churn": [0.1, 0.2, 0.3]})
    none = pl.DataFrame({"customer_id": [1, 2, 3], "p_alive": [None, None, None]}, schema_overrides={"p_alive": pl.Float64})
    cmp = churn.compare_with_bgnbd(risk, none)
    assert (cmp.customers, cmp.spearman, cmp.top_overlap, cmp.only_in_risk, cmp.table.height) == (0, None, None, 0, 0)
    other = churn.compare_with_bgnbd(risk, none.with_columns(customer_id=pl.Series([1, 2, 9]), frequency=pl.lit(1.0)))
    assert (other.only_in_risk, other.only_in_p_alive) == (1, 1) and "frequency" in other.table.columns
    assert str(cmp).startswith("Nothing to compare: no customer has a P(alive)") and "overlap n/a" in repr(cmp)
    with pytest.raises(CustlabError, match="must be a probability"):  # some nulls among values: still an error
        churn.compare_with_bgnbd(risk, none.with_columns(p_alive=pl.Series([0.5, None, 0.2])))


# ---------------------------------------------------------------------------
# Plots: artists, not pixels
# ---------------------------------------------------------------------------
