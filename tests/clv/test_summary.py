"""clv_summary and calibration_holdout against the published CDNOW summary, lifetimes and pandas."""

from __future__ import annotations

import datetime as dt
import re
import warnings

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pandas as pd
import polars as pl
import pytest

from polars.testing import assert_frame_equal

from custlab import clv
from custlab.clv import summary as summary_module
from custlab.exceptions import CustlabError, EmptyDataError, SchemaError

from .helpers import CAL_END, LT_CAL_END, LT_OBS_END, OBS_END, _assert_same_summary, _lifetimes_summary


def test_summary_reproduces_the_published_cdnow_calibration_summary(summary, published):
    # The published file prints t_x, T and zbar with two decimals: our exact values round to them.
    joined = summary.join(published, on="customer_id", how="full", suffix="_pub")
    assert summary.height == published.height == joined.height == 2357
    assert (joined["frequency"].cast(pl.Float64) == joined["frequency_pub"]).all()
    for column in ("recency", "T", "monetary_value"):
        gap = (joined[column] - joined[f"{column}_pub"]).abs().max()
        assert gap <= 0.005 + 1e-9, column
    assert int(summary["frequency"].sum()) == 2457  # repeat purchases in the 39 calibration weeks


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({"freq": "D"}, {"freq": "D"}),
        ({"freq": "W"}, {"freq": "D", "freq_multiplier": 7}),  # weeks as days / 7: the papers' unit
        ({"freq": "W", "grain": "period"}, {"freq": "W"}),  # lifetimes' calendar weeks
    ],
)
@pytest.mark.parametrize("as_of", [None, CAL_END])
def test_summary_equals_lifetimes_helper(lt, sample, ours, theirs, as_of):
    # Same numbers as lifetimes' summary_data_from_transaction_data (1e-9 relative).
    # as_of is the first instant not in history; lifetimes' observation_period_end is the last day included.
    kwargs = {} if as_of is None else {"observation_period_end": LT_CAL_END}
    data = sample if as_of is None else sample.filter(pl.col("order_date") < dt.datetime(1997, 10, 1))
    _assert_same_summary(clv.clv_summary(sample, as_of=as_of, **ours), _lifetimes_summary(lt, data, **kwargs, **theirs))


def test_summary_months_and_quarters():
    tx = pl.DataFrame({
        "customer_id": [1, 1, 1, 2],
        "order_date": [dt.date(2023, 1, 31), dt.date(2023, 2, 1), dt.date(2023, 7, 15), dt.date(2023, 3, 30)],
        "amount": [10.0, 20.0, 40.0, 5.0],
    })
    days = clv.clv_summary(tx, as_of="2024-01-01", freq="D")
    # grain="day": months of 365.25/12 days, quarters of 365.25/4 days.
    months = clv.clv_summary(tx, as_of="2024-01-01", freq="M")
    quarters = clv.clv_summary(tx, as_of="2024-01-01", freq="Q")
    np.testing.assert_allclose(months["T"], days["T"] / 30.4375)
    np.testing.assert_allclose(quarters["recency"], days["recency"] / 91.3125)
    assert months["frequency"].to_list() == [2, 0]
    # grain="period": calendar months (Jan 31 and Feb 1 are two purchases a month apart), calendar quarters.
    cal_m = clv.clv_summary(tx, as_of="2024-01-01", freq="M", grain="period")
    assert cal_m.rows() == [(1, 2, 6.0, 11.0, 30.0), (2, 0, 0.0, 9.0, 0.0)]
    cal_q = clv.clv_summary(tx, as_of="2024-01-01", freq="Q", grain="period")
    assert cal_q.rows() == [(1, 1, 2.0, 3.0, 40.0), (2, 0, 0.0, 3.0, 0.0)]


def test_summary_period_grain_matches_pandas_periods(sample):
    # An independent computation with pandas Periods (lifetimes cannot do months: np.timedelta64(1, "M") fails).
    ours = clv.clv_summary(sample, as_of=OBS_END, freq="M", grain="period")
    df = sample.to_pandas()
    df["p"] = df["order_date"].dt.to_period("M")
    end = pd.Period("1998-06", "M")
    per = df.groupby(["customer_id", "p"])["amount"].sum().reset_index()
    rows = []
    for cid, g in per.groupby("customer_id"):
        g = g.sort_values("p")
        first, last = g["p"].iloc[0], g["p"].iloc[-1]
        rows.append((cid, len(g) - 1, float((last - first).n), float((end - first).n),
                     float(g["amount"].iloc[1:].mean()) if len(g) > 1 else 0.0))
    ref = pl.DataFrame(rows, schema=["customer_id", "frequency", "recency", "T", "monetary_value"], orient="row")
    _assert_same_summary(ours, ref)


def test_summary_accepts_lazy_frames_and_dates(sample):
    eager = clv.clv_summary(sample, as_of=CAL_END)
    assert clv.clv_summary(sample.lazy(), as_of=dt.date(1997, 10, 1)).equals(eager)
    as_dates = sample.with_columns(pl.col("order_date").cast(pl.Date))
    # An as_of inside a day: orders before it count and T runs to that day (CDNOW has no times of day).
    assert clv.clv_summary(as_dates, as_of=dt.datetime(1997, 9, 30, 23, 59)).equals(eager)
    assert clv.clv_summary(sample, as_of=CAL_END, freq="1w").equals(eager)  # polars duration strings too
    assert eager.schema == pl.Schema({"customer_id": pl.String, "frequency": pl.Int64, "recency": pl.Float64,
                                      "T": pl.Float64, "monetary_value": pl.Float64})


# Amounts are money, in cents: custlab adds spend in whole millionths (custlab._money), so that a sum does not
# depend on the order in which the engine meets the lines; amounts with more than six decimals are rounded.
_transactions = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 60), st.integers(0, 23), st.integers(50, 50_000).map(lambda c: c / 100)),
    min_size=1, max_size=40,
)


def _frame(rows) -> pl.DataFrame:
    return pl.DataFrame({
        "customer_id": [r[0] for r in rows],
        "order_date": [dt.datetime(2024, 1, 1) + dt.timedelta(days=r[1], hours=r[2]) for r in rows],
        "amount": [r[3] for r in rows],
    })


@settings(max_examples=40, deadline=None)
@given(_transactions, st.sampled_from(["D", "W", "M", "Q"]), st.sampled_from(["day", "period"]), st.randoms())
def test_summary_invariants(rows, freq, grain, rnd):
    tx = _frame(rows)
    out = clv.clv_summary(tx, as_of="2024-03-16", freq=freq, grain=grain)
    assert out.height == tx["customer_id"].n_unique()
    assert (out["frequency"] >= 0).all() and (out["recency"] >= 0).all()
    assert (out["recency"] <= out["T"] + 1e-12).all()
    assert out.filter(pl.col("frequency") == 0)["recency"].eq(0).all()
    assert out.filter(pl.col("frequency") == 0)["monetary_value"].eq(0).all()
    assert (out["monetary_value"] >= 0).all()
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10**6))
    reordered = clv.clv_summary(shuffled, as_of="2024-03-16", freq=freq, grain=grain)
    np.testing.assert_allclose(reordered.select(pl.exclude("customer_id")).to_numpy(),
                               out.select(pl.exclude("customer_id")).to_numpy(), rtol=1e-12)


def _summary_or_error(tx, **kwargs):
    try:
        return clv.clv_summary(tx, **kwargs)
    except EmptyDataError as error:
        return str(error)


@settings(max_examples=40, deadline=None)
@given(_transactions, st.sampled_from(["D", "W", "M"]), st.sampled_from([0, 7, 2**24 - 6]), st.booleans())
def test_counted_per_customer_equals_the_group_by(recorded, rows, freq, shift, as_of):
    """Whole-number ids that can index a table take numpy's counting path; the summary is the group-by's.

    The per-customer aggregates are exact on both paths; the summary's divisions by the unit are polars' and
    may differ in the last bit with the frame's chunks (polars divides a chunk by multiplying by the
    reciprocal, but not every chunk), so the summaries are compared to 1e-15.
    """
    tx = _frame(rows).with_columns(pl.col("customer_id") + shift)
    kwargs = {"as_of": "2024-02-20" if as_of else None, "freq": freq}
    with recorded(summary_module, "_counted_per_customer") as calls:
        got = _summary_or_error(tx, **kwargs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(summary_module, "_counted_per_customer", lambda occasions: None)
        expected = _summary_or_error(tx, **kwargs)
    if isinstance(expected, str):  # every order from as_of on: the same message
        assert got == expected
        return
    assert calls and calls[0] is not None  # the counting path ran
    assert_frame_equal(got, expected, check_exact=False, rtol=1e-15, atol=0)


@pytest.mark.parametrize("ids, counted", [([0, 3, 9, 9], True), ([5, 2**24 - 1, 7, 7], True), ([5, 2**24, 7, 7], False),
                                          ([-1, 2, 3, 3], False)])
def test_counted_per_customer_bounds(ids, counted):
    occasions = pl.DataFrame({"customer_id": ids, "occasion": pl.Series([12, 11, 10, 14], dtype=pl.Int32),
                              "spend": [1e6, 2e6, 3e6, 4e6]})
    per = summary_module._counted_per_customer(occasions)
    assert (per is not None) is counted
    if counted:  # customers ids[0] and ids[1] buy once, ids[2] on occasions 10 (3e6) and 14 (4e6): repeat spend 4e6
        assert per.sort("customer_id").select("customer_id", "n", "first", "last", "repeat_spend").rows() == sorted(
            [(ids[0], 1, 12, 12, 0.0), (ids[1], 1, 11, 11, 0.0), (ids[2], 2, 10, 14, 4e6)])


@settings(max_examples=25, deadline=None)
@given(_transactions)
def test_summary_equals_lifetimes_on_random_data(lt, rows):
    tx = _frame(rows)
    _assert_same_summary(clv.clv_summary(tx, as_of="2024-03-16", freq="D"),
                         _lifetimes_summary(lt, tx, observation_period_end="2024-03-15", freq="D"))


def test_calibration_holdout_equals_lifetimes(lt, sample, calhold):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = lt.utils.calibration_and_holdout_data(sample.to_pandas(), "customer_id", "order_date", LT_CAL_END,
                                                    LT_OBS_END, freq="D", monetary_value_col="amount")
    ref = pl.from_pandas(ref.reset_index())
    ours = clv.calibration_holdout(sample, calibration_end=CAL_END, observation_end=OBS_END, freq="D")
    joined = ours.join(ref, on="customer_id", how="full")
    assert joined.height == ours.height == 2357
    for mine, theirs in (("frequency", "frequency_cal"), ("recency", "recency_cal"), ("T", "T_cal"),
                         ("monetary_value", "monetary_value_cal"), ("holdout_purchases", "frequency_holdout"),
                         ("holdout_duration", "duration_holdout")):
        np.testing.assert_allclose(joined[mine].cast(pl.Float64).to_numpy(), joined[theirs].to_numpy(), rtol=1e-12)
    # Weeks: the 39-week holdout of the papers, 1,882 repeat purchases by the 2,357 customers.
    assert calhold["holdout_duration"].unique().to_list() == [39.0]
    assert int(calhold["holdout_purchases"].sum()) == 1882
    holdout_spend = sample.filter(pl.col("order_date") >= dt.datetime(1997, 10, 1))["amount"].sum()
    assert calhold["holdout_spend"].sum() == pytest.approx(holdout_spend, rel=1e-12)


def test_calibration_holdout_leaves_out_customers_first_seen_in_the_holdout():
    tx = pl.DataFrame({"customer_id": [1, 2], "order_date": [dt.date(2024, 1, 1), dt.date(2024, 3, 1)],
                       "amount": [5.0, 6.0]})
    out = clv.calibration_holdout(tx, calibration_end="2024-02-01", observation_end="2024-04-01", freq="D")
    assert out["customer_id"].to_list() == [1]
    assert out["holdout_duration"].item() == 60.0


def test_summary_bad_input_messages():
    tx = pl.DataFrame({"customer_id": [1, None], "order_date": [dt.datetime(2024, 1, 1)] * 2, "amount": [1.0, 2.0]})
    with pytest.raises(CustlabError, match=re.escape("Column 'customer_id' has 1 missing value(s) out of 2 rows")):
        clv.clv_summary(tx)
    with pytest.raises(SchemaError, match="missing column\\(s\\) for a CLV summary \\['amount'\\]"):
        clv.clv_summary(tx.drop("amount"))
    with pytest.raises(SchemaError, match="Column 'order_date' must hold dates but has dtype String"):
        clv.clv_summary(tx.with_columns(pl.col("order_date").cast(pl.String)))
    good = tx.drop_nulls()
    with pytest.raises(CustlabError, match="freq must be one of '1d', '1w', '1mo', '1q' .* got 'H'"):
        clv.clv_summary(good, freq="H")
    with pytest.raises(CustlabError, match="grain must be 'day' or 'period', got 'order'"):
        clv.clv_summary(good, grain="order")
    with pytest.raises(CustlabError, match="as_of must be a date such as '2011-12-10', got 'yesterday'"):
        clv.clv_summary(good, as_of="yesterday")
    with pytest.raises(EmptyDataError, match="as_of=2024-01-01 is not after the first order \\(2024-01-01\\)"):
        clv.clv_summary(good, as_of="2024-01-01")  # history is order_date < as_of: nothing before it
    with pytest.raises(EmptyDataError, match="empty"):
        clv.clv_summary(good.clear())
    with pytest.raises(TypeError, match="transactions must be a polars DataFrame or LazyFrame, got DataFrame. "
                                        "Convert a pandas frame"):
        clv.clv_summary(good.to_pandas())
    with pytest.raises(CustlabError, match="observation_end=2024-01-02 must be after calibration_end=2024-01-02"):
        clv.calibration_holdout(good, calibration_end="2024-01-02", observation_end="2024-01-02")
    with pytest.raises(EmptyDataError, match="calibration_end=2024-01-01 is not after the first order"):
        clv.calibration_holdout(good, calibration_end="2024-01-01")


@pytest.mark.parametrize("chunks", [1, 2])
def test_counting_path_leaves_its_input_as_it_was(chunks):
    """The first occasions' spend is zeroed in numpy's copy, never in polars' memory (one chunk is seen zero-copy)."""
    from custlab.clv.summary import _counted_per_customer

    rows = pl.DataFrame({"customer_id": [1, 1, 2, 3, 3], "occasion": pl.Series([5, 7, 3, 2, 9], dtype=pl.Int32),
                         "spend": [10.0, 20.0, 5.0, 1.0, 2.0]})
    occasions = rows if chunks == 1 else pl.concat([rows.head(2), rows.tail(3)], rechunk=False)
    before = occasions.clone()
    got = _counted_per_customer(occasions)
    assert occasions.equals(before)
    assert got.select("customer_id", "repeat_spend", "_size").rows() == [(1, 20.0, 30.0), (2, 0.0, 5.0), (3, 2.0, 3.0)]
