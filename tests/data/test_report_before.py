"""DataQualityReport.before: every reason counted over the same lines, those dated before the analysis date."""

from __future__ import annotations

import datetime as dt

import polars as pl

from custlab.data import clean_transactions


def _counts(report) -> dict[str, int]:
    return {r: n for r, n in report.removed.select("reason", "rows").iter_rows() if n and r != "after_as_of"}


def test_before_the_analysis_date_counts_what_cleaning_the_cut_file_counts(online_retail):
    """Online Retail II 2010-03's Methods read "over the whole file, 105,605 of 525,461 lines were kept" with the
    cancellations and missing customers of the whole file but the duplicates and undone purchases before April only;
    here, the same cut at 2011-04-01 of Online Retail."""
    as_of = dt.datetime(2011, 4, 1)
    _, whole = clean_transactions(online_retail, as_of=as_of)
    cut = online_retail.filter(pl.col("order_date") < as_of)
    _, alone = clean_transactions(cut, as_of=as_of)
    before = whole.before(as_of)
    assert (before.rows_in, before.rows_kept) == (alone.rows_in, alone.rows_kept) == (cut.height, alone.rows_kept)
    assert _counts(before) == _counts(alone)
    later = online_retail.filter(pl.col("order_date") >= as_of).height
    assert before.rows_in + later + whole.undated == whole.rows_in


def test_before_a_date_leaves_out_every_later_line_whatever_its_reason():
    day = dt.datetime
    tx = pl.DataFrame({
        "customer_id": [1, 1, None, 1, 1, 2],
        "order_id": ["1", "1", "2", "C3", "4", "4"],
        "order_date": [day(2024, 1, 5), day(2024, 1, 5), day(2024, 2, 3), day(2024, 2, 4), day(2024, 2, 9),
                       day(2024, 1, 20)],
        "amount": [5.0, 5.0, 6.0, -5.0, 8.0, 9.0],
    })
    _, report = clean_transactions(tx, as_of="2024-02-01")
    before = report.before("2024-02-01")
    assert (before.rows_in, before.rows_kept) == (3, 2)
    assert _counts(before) == {"duplicate": 1}
    assert report.rows_in - before.rows_in == 3  # the later no-customer line and cancellation are not in it
