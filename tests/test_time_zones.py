"""Zone-aware dates read as validate() reads them, in every analysis (audit: a raw polars SchemaError before).

validate() turns a zone-aware ``order_date`` into the naive clock times of its own zone, and rfm_table,
clean_transactions, cohort_retention and survival_frame work on it. The analyses that take canonical tables
without validating them compared the zone-aware column with a naive ``as_of`` and failed with "could not
evaluate '<' comparison between Datetime('us', 'UTC') and Datetime('us')". Each one now reads such a column
through custlab.data.schema.naive_datetimes: the result is the one of the same clock times without the zone.
"""

from __future__ import annotations

import datetime as dt
import warnings

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import custlab as cl
from custlab.data.schema import naive_datetimes, validate

ZONE = "Asia/Shanghai"  # not UTC: a column read as UTC instants instead of the zone's clock would shift by 8 hours


def _aware(frame: pl.DataFrame, column: str = "order_date", zone: str = ZONE) -> pl.DataFrame:
    return frame.with_columns(pl.col(column).dt.replace_time_zone(zone))


@pytest.fixture(scope="module")
def shop():
    return cl.make_shop(600, seed=3, months=12, campaign=True, touches=True)


def test_the_audit_example_recommends_instead_of_a_raw_polars_error():
    tx = pl.DataFrame([dict(customer_id=c, order_id=f"O{c}_{k}", amount=10.0, product_id=f"P{(c + k) % 5}",
                            order_date=dt.datetime(2024, 1 + 2 * k, 1 + c % 27, 12))
                       for c in range(1, 41) for k in range(4)])
    aware = tx.with_columns(pl.col("order_date").dt.replace_time_zone("UTC"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cl.CustlabWarning)
        assert_frame_equal(cl.recommend.recommend(aware, k=2), cl.recommend.recommend(tx, k=2))


def test_naive_datetimes_reads_zones_as_validate_does():
    tx = pl.DataFrame({"customer_id": [1, 2], "order_id": [1, 2], "amount": [1.0, 2.0],
                       "order_date": [dt.datetime(2024, 3, 1, 23, 30), dt.datetime(2024, 3, 2, 0, 30)]})
    for zone in ("UTC", ZONE, "America/New_York"):
        aware = _aware(tx, zone=zone)
        assert_frame_equal(naive_datetimes(aware), validate(aware))
        assert_frame_equal(naive_datetimes(aware.lazy()).collect(), tx)
    assert naive_datetimes(tx) is tx  # nothing to do: the frame itself
    assert naive_datetimes(None) is None


def _naive(value):
    if not isinstance(value, pl.DataFrame):
        return value
    return value.with_columns(pl.col(c).dt.replace_time_zone(None) for c, d in value.schema.items()
                              if isinstance(d, pl.Datetime) and d.time_zone)


def _same(function, *args, **kwargs):
    """``function`` on tables with zone-aware dates, and on the same clock times without the zone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cl.CustlabWarning)
        return (function(*args, **kwargs),
                function(*map(_naive, args), **{k: _naive(v) for k, v in kwargs.items()}))


def test_recommendations_and_reminders(shop):
    tx = _aware(shop.transactions)
    aware, naive = _same(cl.recommend.recommend, tx, k=3)
    assert_frame_equal(aware, naive)
    aware, naive = _same(cl.recommend.replenishment_due, tx)
    assert_frame_equal(aware, naive)
    aware, naive = _same(cl.recommend.replenishable_items, tx, min_repeaters=2)
    assert_frame_equal(aware, naive)
    events = _aware(shop.events, "event_time")
    aware, naive = _same(cl.recommend.interaction_matrix, tx, events=events)
    assert aware.as_of == naive.as_of and (aware.strength != naive.strength).nnz == 0
    aware, naive = _same(cl.recommend.evaluate, tx, split_date="2023-10-01", models=("popularity",), n_boot=5)
    assert_frame_equal(aware.table, naive.table)


def test_next_best_action(shop):
    aware, naive = _same(cl.recommend.next_best_action, _aware(shop.transactions))
    assert aware.as_of == naive.as_of
    assert_frame_equal(aware.to_frame(), naive.to_frame())


def test_demand_outlook(shop):
    aware, naive = _same(cl.forecast.demand_outlook, _aware(shop.transactions))
    assert aware.as_of == naive.as_of and aware.groups == naive.groups
    assert_frame_equal(aware.alerts.table, naive.alerts.table)


def test_early_warning(shop):
    aware, naive = _same(cl.churn.early_warning, _aware(shop.transactions))
    assert aware.as_of == naive.as_of
    assert_frame_equal(aware.to_frame(), naive.to_frame())


def test_campaign_measures(shop):
    tx = _aware(shop.transactions)
    aware, naive = _same(cl.campaigns.campaign_effect, shop.campaigns, tx)
    assert_frame_equal(aware.to_frame(), naive.to_frame())
    assert aware.to_frame().height > 0
    aware, naive = _same(cl.campaigns.did, shop.campaigns.filter(pl.col("group") != "control"), tx)
    assert_frame_equal(aware.to_frame(), naive.to_frame())
    sent = shop.campaigns["sent_date"].min()
    aware, naive = _same(cl.campaigns.rfm_at, tx, sent)
    assert_frame_equal(aware.sort("customer_id"), naive.sort("customer_id"))


def test_attribution(shop):
    tx, touches = _aware(shop.transactions), _aware(shop.touches, "touch_time")
    aware, naive = _same(cl.attribution.channel_quality, shop.customers, tx)
    assert_frame_equal(aware, naive)
    aware, naive = _same(cl.attribution.journeys, touches, tx)
    assert_frame_equal(aware, naive)  # clock times of the zone, not UTC instants: the same journeys
