"""Per-customer aggregations pushed down (RFM, CLV summaries and patterns, survival base, gaps) equal custlab's own.

Each test runs on polars (the engine layer itself on a LazyFrame) and on DuckDB
(custlab's public function on a relation, through the dispatch), and compares
with custlab's polars path: integers exactly, floats to 1e-9. The published
CDNOW fits (Fader, Hardie & Lee 2005) are reproduced from the pushed-down
summary and patterns.
"""

from __future__ import annotations

import warnings

import polars as pl
import pytest

import custlab as cl
from custlab import engine
from custlab.churn import ChurnDataWarning
from custlab.exceptions import CustlabError, EmptyDataError

from .helpers import same


@pytest.mark.parametrize("as_of", [None, "2011-09-01", "2011-06-15 13:30"])
def test_rfm_table_bit_for_bit(backend, retail, as_of):
    expected = cl.segments.rfm_table(retail, as_of=as_of)
    got = backend("rfm_table", retail, as_of=as_of)
    assert got.equals(expected)  # money is added in whole millionths: same bits on every engine
    assert expected.height == (4339 if as_of is None else expected.height)


def test_rfm_table_refuses_what_custlab_refuses(backend, retail):
    returns = retail.head(1000).with_columns(amount=pl.when(pl.col("order_id") == pl.col("order_id").first())
                                             .then(-pl.col("amount")).otherwise(pl.col("amount")))
    bad = returns.filter(pl.col("amount") < 0).height
    with pytest.raises(CustlabError, match=f"{bad} line\\(s\\) with a negative amount.*'cancelled', 'returned'"):
        backend("rfm_table", returns)
    with pytest.raises(EmptyDataError, match="on or before the first order"):
        backend("rfm_table", retail, as_of="2010-01-01")


@pytest.mark.parametrize(("freq", "grain"), [("W", "day"), ("D", "day"), ("M", "period"), ("Q", "period"),
                                             ("1w", "period")])
def test_clv_summary(backend, retail, freq, grain):
    same(cl.clv.clv_summary(retail, freq=freq, grain=grain), backend("clv_summary", retail, freq=freq, grain=grain))


def test_calibration_holdout(backend, retail):
    kwargs = {"calibration_end": "2011-09-01", "observation_end": "2011-12-01", "freq": "W"}
    same(cl.clv.calibration_holdout(retail, **kwargs), backend("calibration_holdout", retail, **kwargs))


def test_cdnow_published_fits_from_the_engine(backend, cdnow_sample):
    # BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 (Fader, Hardie & Lee 2005a), from a
    # summary pushed down, and from the patterns alone (1,016 rows for 2,357 customers).
    own = cl.clv.clv_summary(cdnow_sample, as_of="1997-10-01", freq="W")
    pushed = backend("clv_summary", cdnow_sample, as_of="1997-10-01", freq="W")
    same(own, pushed)
    patterns = engine.clv_patterns(backend.convert(cdnow_sample), as_of="1997-10-01", freq="W")
    assert patterns["weight"].sum() == 2357 and patterns.height == 1016
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    by_customer, by_pattern = (cl.clv.BetaGeo(freq="W").fit(s) for s in (pushed, patterns))
    for key, value in expected.items():
        assert by_customer.params_[key] == pytest.approx(value, abs=0.0005), key
        assert by_pattern.params_[key] == pytest.approx(by_customer.params_[key], rel=1e-6), key
    assert by_pattern.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert by_pattern.n_customers_ == 2357
    # Gamma-Gamma p = 6.25, q = 3.74, gamma = 15.44, LL = -4055.92 on 946 repeat customers, r(x, m) = 0.11 (2005b).
    spend = engine.spend_patterns(backend.convert(cdnow_sample), as_of="1997-10-01", freq="W")
    ggf = cl.clv.GammaGamma().fit(spend)
    assert ggf.n_customers_ == 946
    assert (ggf.params_["p"], ggf.params_["q"], ggf.params_["v"]) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    assert ggf.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)
    assert ggf.spend_frequency_correlation_ == pytest.approx(0.11, abs=0.005)


def test_patterns_group_the_summary(backend, retail):
    summary = cl.clv.clv_summary(retail, as_of="2011-09-01")
    grouped = (summary.group_by("frequency", "recency", "T").agg(weight=pl.len().cast(pl.Int64))
               .sort("frequency", "recency", "T"))
    same(grouped, engine.clv_patterns(backend.convert(retail), as_of="2011-09-01"))
    repeat = summary.filter(pl.col("frequency") > 0)
    spend = engine.spend_patterns(backend.convert(retail), as_of="2011-09-01")
    assert spend["weight"].sum() == repeat.height
    exact, binned = cl.clv.GammaGamma().fit(repeat), cl.clv.GammaGamma().fit(spend)
    for key in ("p", "q", "v"):
        assert binned.params_[key] == pytest.approx(exact.params_[key], rel=1e-6), key
    # Mean spends grouped into bins 0.1% wide: fewer rows, parameters within 1e-3 of the exact fit.
    coarse = engine.spend_patterns(backend.convert(retail), as_of="2011-09-01", relative_step=1e-3)
    assert coarse.height < spend.height and coarse["weight"].sum() == repeat.height
    approx = cl.clv.GammaGamma().fit(coarse)
    for key in ("p", "q", "v"):
        assert approx.params_[key] == pytest.approx(exact.params_[key], rel=1e-3), key


@pytest.mark.parametrize("as_of", [None, "2024-06-01"])
def test_survival_frame_with_first_category_and_channel(backend, shop, as_of):
    kwargs = {"as_of": as_of, "inactivity_days": 60, "customers": shop.customers}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChurnDataWarning)  # lines after as_of are left out, and counted
        expected = cl.churn.survival_frame(shop.transactions, **kwargs)
        got = backend("survival_frame", shop.transactions, **kwargs)
    assert {"first_category", "first_channel", "age_group"} <= set(expected.columns)
    same(expected, got)


def test_survival_frame_warns_with_the_counts(backend, shop):
    with pytest.warns(ChurnDataWarning, match="dated at or after as_of=2024-06-01"):
        backend("survival_frame", shop.transactions, as_of="2024-06-01")


def test_survival_counts_are_the_frame_grouped(backend, retail):
    frame = cl.churn.survival_frame(retail, inactivity_days=90)
    grouped = (frame.group_by("duration_days", "churned").agg(customers=pl.len().cast(pl.Int64))
               .sort("duration_days", "churned"))
    same(grouped, engine.survival_counts(backend.convert(retail), inactivity_days=90))


@pytest.mark.parametrize("by", [None, "category", "age_group"])
def test_inter_purchase_times(backend, shop, by):
    kwargs = {"by": by, "customers": shop.customers}
    same(cl.repurchase.inter_purchase_times(shop.transactions, **kwargs),
         backend("inter_purchase_times", shop.transactions, **kwargs))


def test_gap_counts_are_the_gaps_grouped(backend, retail):
    gaps = cl.repurchase.inter_purchase_times(retail)
    grouped = gaps.group_by("gap_days").agg(gaps=pl.len().cast(pl.Int64)).sort("gap_days")
    same(grouped, engine.gap_counts(backend.convert(retail)))
    assert grouped["gaps"].sum() == 12_427


@pytest.mark.parametrize("days", [30, 90])
def test_churn_diagnostics(backend, retail, days):
    expected = cl.churn.churn_diagnostics(retail, as_of="2011-12-01", inactivity_days=days)
    got = cl.churn.churn_diagnostics(backend.convert(retail), as_of="2011-12-01", inactivity_days=days)
    assert got == expected and got.silences > 100 and got.intervention_day is not None
