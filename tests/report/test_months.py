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
            "Choose a month between 2010-12 and 2011-12.")):
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
