"""Which month a report covers: complete months, refused incomplete ones, partial months on request."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.report.months import check_month, last_complete_month, next_month, parse_month, previous_month


def test_online_retail_months(online_retail):
    lazy = online_retail.lazy()
    spec = check_month(lazy, None)
    assert (spec.month, spec.as_of, spec.partial, spec.days) == ("2011-11", dt.datetime(2011, 12, 1), False, 30)
    assert spec.last_data_date == dt.date(2011, 12, 9)
    with pytest.raises(CustlabError, match=re.escape(
            "month 2011-12 is incomplete: the data end on 2011-12-09. The last complete month is 2011-11; "
            "pass --partial to analyse 2011-12 up to 2011-12-09.")):
        check_month(lazy, "2011-12")
    partial = check_month(lazy, "2011-12", partial=True)
    assert (partial.as_of, partial.partial, partial.days, partial.month_days) == (dt.datetime(2011, 12, 10), True, 9, 31)
    assert check_month(lazy, None, partial=True).month == "2011-12"
    assert check_month(lazy, "2011-11", partial=True).partial is False  # a complete month stays complete
    with pytest.raises(CustlabError, match=re.escape(
            "month 2012-02 is outside the data: orders run from 2010-12-01 to 2011-12-09. "
            "Choose a month between 2010-12 and 2011-11 (or 2011-12 with --partial, up to 2011-12-09).")):
        check_month(lazy, "2012-02")


def test_month_text_and_arithmetic():
    assert parse_month("2011-11") == dt.date(2011, 11, 1)
    for bad in ("2024/11", "2024-13", "11-2024", ""):
        with pytest.raises(CustlabError, match=re.escape(f"month must look like 2011-11 (YYYY-MM), got {bad!r}.")):
            parse_month(bad)
    assert next_month(dt.date(2011, 12, 31)) == dt.date(2012, 1, 1)
    assert previous_month(dt.date(2012, 1, 1)) == dt.date(2011, 12, 1)
    assert last_complete_month(dt.date(2024, 12, 29)) == "2024-12"  # the last three days count as the month's end
    assert last_complete_month(dt.date(2024, 12, 28)) == "2024-11"


def test_data_without_a_complete_month_need_partial():
    tx = pl.LazyFrame({"order_date": [dt.datetime(2024, 3, 2), dt.datetime(2024, 3, 20)]})
    with pytest.raises(CustlabError, match="cover no complete month; pass --partial to analyse 2024-03 up to 2024-03-20"):
        check_month(tx, None)
    assert check_month(tx, None, partial=True).days == 20


def _with_lines_on(online_retail: pl.DataFrame, *days: dt.datetime) -> pl.LazyFrame:
    """Online Retail with one more line of customer 12347 on each of ``days``."""
    line = online_retail.filter(pl.col("customer_id") == 12347).head(1)
    extra = [line.with_columns(order_date=pl.lit(day), order_id=pl.lit(f"9{i:05d}")) for i, day in enumerate(days)]
    return pl.concat([online_retail, *extra]).lazy()


def test_stray_lines_after_the_data_do_not_choose_the_month(online_retail):
    """A mistyped year (2012-09-03 for 2011) must not make the report take an empty 2012-08 for a collapse."""
    lazy = _with_lines_on(online_retail, dt.datetime(2012, 9, 3, 10))
    spec = check_month(lazy, None)
    assert (spec.month, spec.as_of, spec.last_data_date) == ("2011-11", dt.datetime(2011, 12, 1), dt.date(2011, 12, 9))
    assert (spec.stray.lines, spec.stray.first, spec.stray.data_end, spec.stray.gap_days) == (
        1, dt.date(2012, 9, 3), dt.date(2011, 12, 9), 269)
    with pytest.raises(CustlabError, match=re.escape(
            "month 2012-08 is after the data: orders run from 2010-12-01 to 2011-12-09, apart from 1 stray line(s) "
            "dated 2012-09-03, 269 days later, too few to report on. Choose a month between 2010-12 and 2011-11 (or 2011-12 with --partial, up to "
            "2011-12-09), or correct the dates of those lines.")):
        check_month(lazy, "2012-08")
    partial = check_month(lazy, "2011-12", partial=True)  # the partial month ends where the rest of the data end
    assert (partial.as_of, partial.days) == (dt.datetime(2011, 12, 10), 9)
    assert check_month(online_retail.lazy(), None).stray is None


def test_a_stray_line_late_in_the_month_does_not_complete_it(online_retail):
    """A line on 2011-12-30 would make December look complete although the orders stop on 2011-12-09."""
    lazy = _with_lines_on(online_retail, dt.datetime(2011, 12, 30, 9), dt.datetime(2011, 12, 31, 9))
    spec = check_month(lazy, None)
    assert (spec.month, spec.stray.lines, spec.stray.first, spec.stray.last) == (
        "2011-11", 2, dt.date(2011, 12, 30), dt.date(2011, 12, 31))
    with pytest.raises(CustlabError, match="month 2011-12 is incomplete: the data end on 2011-12-09"):
        check_month(lazy, "2011-12")


def test_a_closure_followed_by_normal_days_is_not_stray(online_retail):
    """Online Retail closes from 2010-12-23 to 2011-01-04; ending the data on 2011-01-05 keeps those two days."""
    lazy = online_retail.lazy().filter(pl.col("order_date") < dt.datetime(2011, 1, 6))
    spec = check_month(lazy, None)
    assert (spec.month, spec.stray, spec.last_data_date) == ("2010-12", None, dt.date(2011, 1, 5))


@pytest.mark.parametrize("end", [dt.datetime(2010, 1, 5), dt.datetime(2010, 1, 4, 10)])
def test_the_first_day_back_after_a_holiday_closure_is_not_stray(end):
    """Online Retail II closes from 2009-12-24 to 2010-01-03; a file that ends on its first day back (668 lines, or
    the 6 of its first hours: fewer than half a median day) still covers December."""
    from custlab.data import load_online_retail
    from tests.conftest import shared_file

    raw = load_online_retail(shared_file("online_retail_ii", "online_retail_ii_2009_2010.parquet"), lazy=True)
    spec = check_month(raw.filter(pl.col("order_date") < end), None)
    assert (spec.month, spec.stray, spec.last_data_date) == ("2009-12", None, end.date() - dt.timedelta(days=end.hour == 0))


def test_errors_name_the_stray_lines_set_aside(online_retail):
    lazy = _with_lines_on(online_retail, dt.datetime(2012, 1, 20, 9))  # 42 days after the end of the data
    with pytest.raises(CustlabError, match=re.escape(
            "month 2011-12 is incomplete: the data end on 2011-12-09 (apart from 1 stray line(s) dated 2012-01-20, "
            "42 days later, set aside as too few to mark the end of the data)")):
        check_month(lazy, "2011-12")


def test_stray_lines_are_found_on_duckdb_too(online_retail):
    duckdb = pytest.importorskip("duckdb")
    lazy = _with_lines_on(online_retail, dt.datetime(2012, 9, 3, 10))
    relation = duckdb.connect().from_arrow(lazy.collect().to_arrow())
    assert check_month(relation, None) == check_month(lazy, None)
