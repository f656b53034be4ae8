"""Counts pushed down (cohorts, weekday x hour, funnels, demand series) equal custlab's own, on polars and DuckDB."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import custlab as cl
from custlab import engine

from .helpers import OWN_SERIES, same


@pytest.fixture(scope="module")
def rees46(rees46_file):
    return cl.data.read_events(rees46_file, columns=cl.funnel.REES46_COLUMNS)


@pytest.mark.parametrize(("as_of", "max_periods"), [(None, None), ("2011-07-15", 3)])
def test_cohort_retention(backend, retail, as_of, max_periods):
    same(cl.cohorts.cohort_retention(retail, as_of=as_of, max_periods=max_periods),
         backend("cohort_retention", retail, as_of=as_of, max_periods=max_periods))


@pytest.mark.parametrize(("measure", "by"), [("orders", None), ("revenue", "country"), ("customers", None)])
def test_weekday_hour_of_orders(backend, retail, measure, by):
    same(cl.activity.weekday_hour(retail, measure=measure, by=by),
         backend("weekday_hour", retail, measure=measure, by=by))


def test_weekday_hour_of_events_in_chinese(backend, shop):
    kwargs = {"measure": "events", "by": "channel", "event": ["click", "pay"], "language": "zh"}
    same(cl.activity.weekday_hour(shop.events, **kwargs), backend("weekday_hour", shop.events, **kwargs))


@pytest.mark.parametrize("kwargs", [
    {"mode": "both"},
    {"unit": "customer"},
    {"within": "10m"},
    {"within": "30m", "by": "brand", "mode": "both"},
])
def test_funnel_on_rees46(backend, rees46, kwargs):
    steps = ["view", "cart", "purchase"]
    same(cl.funnel.funnel(rees46, steps, **kwargs), backend("funnel", rees46, steps, **kwargs))


def test_funnel_of_the_shop_with_four_steps(backend, shop):
    steps = ["exposure", "click", "cart", "pay"]
    for kwargs in ({"by": "channel", "mode": "both"}, {"within": "7d", "unit": "customer"}):
        same(cl.funnel.funnel(shop.events, steps, **kwargs), backend("funnel", shop.events, steps, **kwargs))


def test_funnel_refuses_unknown_steps(backend, rees46):
    with pytest.raises(cl.CustlabError, match=r"step\(s\) \['basket'\] never occur.*'view' \(17,055\)"):
        backend("funnel", rees46, ["view", "basket"])


@pytest.mark.filterwarnings("ignore:The whole shop sold nothing")  # Online Retail's Christmas week, both paths
@pytest.mark.parametrize("kwargs", [{"freq": "1w"}, {"freq": "1mo", "by": "country", "incomplete": "flag"},
                                    {"freq": "1w", "as_of": "2011-10-01", "measure": "units"}])
def test_series(backend, retail, kwargs):
    same(OWN_SERIES(retail, **kwargs), backend("series", retail, **kwargs))


@pytest.mark.filterwarnings("ignore::custlab.churn.ChurnDataWarning")
def test_report_tables_are_the_small_tables_of_the_polars_calls(duck, shop):
    tx = shop.transactions
    tables = engine.report_tables(duck.from_arrow(tx.to_arrow()), as_of="2024-09-01")
    assert tables["clv_patterns"].equals(engine.clv_patterns(tx, as_of="2024-09-01"))
    same(tables["cohort_retention"], cl.cohorts.cohort_retention(tx, as_of="2024-09-01"))
    same(tables["weekday_hour"], cl.activity.weekday_hour(tx.filter(pl.col("order_date") < dt.datetime(2024, 9, 1))))
    same(tables["series"], cl.forecast.series(tx, as_of="2024-09-01"))
    assert tables["survival_counts"]["customers"].sum() == tables["clv_patterns"]["weight"].sum()
    assert max(t.height for t in tables.values()) < 20_000
    with pytest.raises(TypeError, match="custlab.engine.report_tables: transactions must be a lazy table"):
        engine.report_tables(tx)
