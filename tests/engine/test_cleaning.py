"""Cleaning rules pushed down give custlab's data-quality report, line for line, and the same clean table."""

from __future__ import annotations

import narwhals as nw
import polars as pl
import pytest

import custlab as cl

from .helpers import same


@pytest.fixture(scope="module")
def retail_raw(online_retail) -> pl.DataFrame:
    """The first 60,000 lines of raw Online Retail: cancellations, returns, reversals, duplicates, postage."""
    return online_retail.head(60_000)


@pytest.fixture(scope="module")
def messy(shop):
    from custlab.synthetic import make_shop

    return make_shop(2_000, seed=5, messy=0.4).transactions


def _lines(frame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else nw.from_native(frame).lazy().collect("polars").to_native()


def _check(backend, data, **kwargs):
    clean, report = cl.data.clean_transactions(data, **kwargs)
    pushed_clean, pushed = backend("clean_transactions", data, **kwargs)
    assert pushed.reconciles and (pushed.rows_in, pushed.rows_kept) == (report.rows_in, report.rows_kept)
    same(report.removed, pushed.removed)
    same(report.by_day.sort("day", "reason"), pushed.by_day.sort("day", "reason"))
    same(report.changed, pushed.changed)
    if report.reversed_pairs is not None:
        own = report.reversed_pairs.drop("_row")
        same(own.sort(own.columns, nulls_last=True), pushed.reversed_pairs.sort(own.columns, nulls_last=True))
    # The clean lines: the same multiset (engines keep no row order).
    columns = clean.columns
    assert _lines(pushed_clean).select(columns).sort(columns, nulls_last=True).equals(
        clean.sort(columns, nulls_last=True))
    removed = _lines(pushed.removed_rows).group_by("reason").agg(pl.col("rows").sum()).sort("reason")
    own = report.removed_rows.group_by("reason").agg(rows=pl.len().cast(pl.Int64)).sort("reason")
    same(own, removed)
    month = pushed.for_period("2011-01-01", "2011-02-01")
    same(report.for_period("2011-01-01", "2011-02-01").removed, month.removed)
    assert _lines(month.removed_rows)["rows"].sum() == month.rows_removed
    return report


def test_online_retail_every_rule(backend, retail_raw):
    report = _check(backend, retail_raw)
    assert report.reversed_pairs.height > 100 and report.removed.filter(pl.col("reason") == "duplicate")["rows"].item()


def test_online_retail_with_as_of_and_some_rules(backend, retail_raw):
    _check(backend, retail_raw, as_of="2011-01-15", rules=("cancelled", "returned", "reversed", "missing_customer",
                                                           "non_product", "after_as_of"))


def test_messy_shop(backend, messy):
    report = _check(backend, messy)
    assert report.rows_removed > 0


def test_lines_without_text_columns(backend, shop):
    """Ids, dates and amounts only (no product or category text to trim), as a warehouse export often is."""
    bare = pl.concat([shop.transactions.head(500), shop.transactions.head(4)]).select(
        pl.col("customer_id").cast(pl.Int64), pl.col("order_id").cast(pl.String), "order_date", "amount")
    _check(backend, bare)
