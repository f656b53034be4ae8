"""Segment migration on a small shop and on Online Retail."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.segments import rfm_scores, rfm_segments, segment_migration

from .helpers import make_tx


# --------------------------------------------------------------------------------------------------
# Migration
# --------------------------------------------------------------------------------------------------

_THRESHOLDS = {"recency": [7, 14, 30, 60], "frequency": [2, 3, 4, 5], "monetary": [50, 100, 200, 400]}


def test_migration_on_a_small_shop():
    tx = make_tx([
        (1, 1, "2024-01-03", 500.0), (1, 2, "2024-01-20", 500.0),        # high value from January on
        (1, 3, "2024-02-10", 10.0), (1, 4, "2024-02-25", 10.0), (1, 5, "2024-03-30", 10.0),
        (2, 6, "2024-01-10", 30.0), (2, 7, "2024-04-20", 200.0),          # dormant by March, back in April
        (3, 8, "2024-02-15", 120.0),                                      # new in February
        (4, 9, "2024-01-25", 40.0), (4, 10, "2024-02-20", 40.0),          # low value -> potential (3 orders)
        (4, 11, "2024-03-20", 40.0),
    ])
    mig = segment_migration(tx, thresholds=_THRESHOLDS)
    assert mig.periods == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31), dt.date(2024, 4, 20)]
    segs = {(p, c): s for p, c, s in mig.segments.select("period_end", "customer_id", pl.col("segment")
                                                           .cast(pl.String)).rows()}
    assert segs[(dt.date(2024, 1, 31), 1)] == "Potential"   # 2 orders: F2, M 1000: M5 -> not high value yet
    assert segs[(dt.date(2024, 3, 31), 1)] == "High value"  # 5 orders, 1030
    assert segs[(dt.date(2024, 3, 31), 2)] == "Dormant"     # 81 days since 2024-01-10
    assert segs[(dt.date(2024, 4, 20), 2)] == "Potential"   # bought again: 230 -> M4
    moves = {(p, c): m for p, c, m in mig.moves.select("period_end", "customer_id", "movement").rows()}
    assert moves[(dt.date(2024, 2, 29), 3)] == "new"
    assert moves[(dt.date(2024, 3, 31), 1)] == "moved_up"
    assert moves[(dt.date(2024, 3, 31), 2)] == "slipped"
    assert moves[(dt.date(2024, 4, 20), 2)] == "reactivated"
    assert mig.to_frame() is mig.moves
    assert repr(mig) == ("Migration(4 period ends 2024-01-31 .. 2024-04-20; into 2024-04-20: 4 customers, "
                         "new 0, reactivated 1, moved_up 0, slipped 1, stayed 2)")
    last = mig.summary.filter(pl.col("period_end") == dt.date(2024, 4, 20))
    assert last.select("customers", "new", "reactivated").row(0) == (4, 0, 1)
    matrix = mig.matrix(share=False)
    assert matrix.columns == ["from_segment", "High value", "Potential", "Low value", "Can't lose them", "Dormant"]
    assert matrix.filter(pl.col("from_segment") == "Dormant")["Potential"].item() == 1
    shares = mig.matrix("2024-03-31", share=True)
    assert shares.select(pl.sum_horizontal(pl.exclude("from_segment"))).to_series().to_list() == pytest.approx(
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]  # nobody was new, high value or lapsed at the end of February
    )
    with pytest.raises(CustlabError, match=re.escape("period_end=2024-01-31 is not a period end with a previous")):
        mig.matrix("2024-01-31")
    with pytest.raises(CustlabError, match=re.escape("freq must be one of '1d', '1w', '1mo', '1q', '1y' (or 'day', "
                                                     "'week', 'month', ...), got 'monthly'")):
        segment_migration(tx, freq="monthly")
    weekly = segment_migration(tx, freq="2w", thresholds=_THRESHOLDS)
    assert weekly.periods[0] == dt.date(2024, 1, 7) and weekly.periods[-1] == dt.date(2024, 4, 20)


def test_online_retail_migration_is_consistent(online_retail_clean, retail_rfm):
    mig = segment_migration(online_retail_clean)
    assert len(mig.periods) == 13 and mig.periods[-1] == dt.date(2011, 12, 9)
    last = mig.segments.filter(pl.col("period_end") == dt.date(2011, 12, 9)).drop("period_end")
    direct = rfm_segments(rfm_scores(retail_rfm), rules="value_tiers")
    assert last.select("customer_id", "segment").equals(direct.select("customer_id", "segment"))
    # new customers per month = customers whose first order falls in that month
    first = retail_rfm.select(month=pl.col("first_order").dt.truncate("1mo")).group_by("month").len()
    summary = mig.summary.with_columns(month=pl.col("period_end").dt.truncate("1mo").cast(pl.Datetime("us")))
    joined = summary.join(first, on="month")
    assert (joined["new"] == joined["len"]).all() and joined.height == 12
    assert (mig.summary.select(pl.sum_horizontal("new", "reactivated", "moved_up", "slipped", "stayed"))
            .to_series() == mig.summary["customers"]).all()

