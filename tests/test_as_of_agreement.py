"""One ``as_of`` (issue 12): rfm, clv, churn, rules and cohorts agree on who is a customer and on the last order.

Repurchase, the churn threshold table and the K-means features are held to the same answer.

``as_of`` is the first instant that is not history (``order_date < as_of``; a date means its midnight;
default the midnight after the last order). Each analysis is compared with a reference computed here
from the lines before ``as_of``, on a synthetic shop and on a hand-made table with orders exactly at
``as_of`` midnight and one second before it.
"""

from __future__ import annotations

import datetime as dt
import warnings

import polars as pl
import pytest

import custlab as cl
from custlab._dates import as_datetime, as_of_after, last_day_included

AS_OF = dt.datetime(2024, 3, 1)
SECOND = dt.timedelta(seconds=1)


def _hand_made() -> pl.DataFrame:
    rows = [  # customer, order, when, product, amount
        (1, 10, dt.datetime(2024, 1, 5, 10), "tea", 10.0),
        (1, 11, dt.datetime(2024, 2, 10, 9), "cup", 4.0),
        (2, 20, dt.datetime(2024, 1, 20, 12), "tea", 12.0),
        (2, 20, dt.datetime(2024, 1, 20, 12), "pot", 30.0),
        (2, 21, AS_OF - SECOND, "cup", 5.0),          # a second before as_of: history, and the last order
        (3, 30, AS_OF, "tea", 9.0),                     # exactly at as_of: not history, so not a customer
        (4, 40, dt.datetime(2024, 2, 1, 8), "tea", 11.0),
        (4, 41, AS_OF, "cup", 6.0),                     # at as_of: customer 4's last order is the one before
        (5, 50, dt.datetime(2023, 12, 31, 23, 59, 59), "pot", 25.0),
        (5, 51, dt.datetime(2024, 1, 1), "tea", 8.0),
        (6, 60, dt.datetime(2024, 3, 5, 15), "tea", 7.0),
    ]
    return pl.DataFrame(rows, schema=["customer_id", "order_id", "order_date", "product_id", "amount"], orient="row")


@pytest.fixture(scope="module")
def shop_tx() -> pl.DataFrame:
    return cl.make_shop(1500, seed=3, months=12).transactions


def _reference(tx: pl.DataFrame, as_of: dt.datetime) -> pl.DataFrame:
    """Who is a customer at ``as_of`` and their first and last order, from the lines before it."""
    return (
        tx.filter(pl.col("order_date") < as_of)
        .group_by("customer_id")
        .agg(first=pl.col("order_date").min(), last=pl.col("order_date").max(), revenue=pl.col("amount").sum())
        .sort("customer_id")
    )


def _resolved(tx: pl.DataFrame, as_of) -> dt.datetime:
    return as_of_after(tx["order_date"].max()) if as_of is None else as_datetime(as_of)


def _check_agreement(tx: pl.DataFrame, as_of) -> None:
    moment = _resolved(tx, as_of)
    ref = _reference(tx, moment)
    ids = ref["customer_id"].to_list()
    last = dict(zip(ids, ref["last"].to_list(), strict=True))
    day = moment.date()

    # rfm: the customers, their last order and the days since it (to the as_of date)
    rfm = cl.segments.rfm_table(tx, as_of=as_of)
    assert rfm["customer_id"].to_list() == ids
    assert rfm["last_order"].to_list() == ref["last"].to_list()
    assert rfm["first_order"].to_list() == ref["first"].to_list()
    assert rfm["recency"].to_list() == [(day - v.date()).days for v in ref["last"]]
    assert rfm["monetary"].to_list() == pytest.approx(ref["revenue"].to_list(), rel=1e-12)

    # clv: the same customers; T - recency runs from the last purchase day to the last day included
    summary = cl.clv.clv_summary(tx, as_of=as_of, freq="D")
    assert summary["customer_id"].to_list() == ids
    end = last_day_included(moment)
    last_days = [end - dt.timedelta(days=round(g)) for g in (summary["T"] - summary["recency"]).to_list()]
    assert last_days == [v.date() for v in ref["last"]]

    # churn: the same customers, last purchase and days since it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        survival = cl.churn.survival_frame(tx, as_of=as_of)
    later = tx.filter(pl.col("order_date") >= moment).height
    if later:  # the lines at or after as_of are left out and counted, not dropped silently
        assert any(f"{later:,} dated at or after as_of" in str(w.message) for w in caught)
    assert survival["customer_id"].to_list() == ids
    assert survival["last_purchase"].to_list() == ref["last"].to_list()
    assert survival["days_since_last"].to_list() == rfm["recency"].to_list()

    # repurchase: the same customers; each one's last purchase day, its open gap censored at the as_of date
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cl.CustlabWarning)
        gaps = cl.repurchase.repurchase_frame(tx, as_of=as_of)
        thresholds = cl.churn.churn_threshold_table(tx, as_of=as_of)
    open_gaps = gaps.sort("customer_id", "purchase_number").group_by("customer_id", maintain_order=True).last()
    assert open_gaps["customer_id"].to_list() == ids
    assert open_gaps["purchase_date"].to_list() == [v.date() for v in ref["last"]]
    assert open_gaps["gap_days"].to_list() == rfm["recency"].to_list()
    assert thresholds["customers"].unique().to_list() == [len(ids)]

    # K-means features describe the same customers at the same moment
    features = cl.segments.customer_features(tx, as_of=as_of)
    assert features.sort("customer_id")["customer_id"].to_list() == ids
    assert features.sort("customer_id")["last_order"].to_list() == ref["last"].to_list()

    # rules: baskets at as_of hold the same customers and last orders
    table = cl.rules.baskets(tx, as_of=as_of)
    per_customer = table.group_by("customer_id").agg(pl.col("order_date").max()).sort("customer_id")
    assert per_customer["customer_id"].to_list() == ids
    assert dict(per_customer.iter_rows()) == last
    # ... and sequential rules count supports over the same customers
    rules = cl.rules.sequential_rules(tx, as_of=as_of, within="60d", min_support=1e-9, complete_window=False,
                                      item="product_id")
    assert rules.height > 0
    assert (rules["count"] / rules["support"]).round(6).unique().to_list() == [float(len(ids))]

    # cohorts: the same customers in their first month's cohort, the same revenue, the same active months
    retention = cl.cohorts.cohort_retention(tx, as_of=as_of)
    sizes = retention.filter(pl.col("period") == 0).select("cohort", "cohort_size").sort("cohort")
    expected = (
        ref.group_by(cohort=pl.col("first").dt.truncate("1mo").dt.date())
        .agg(cohort_size=pl.len().cast(pl.Int64))
        .sort("cohort")
    )
    assert sizes.rows() == expected.rows()
    assert retention["revenue"].sum() == pytest.approx(ref["revenue"].sum(), rel=1e-12)
    last_month = max(v for v in last.values()).date().replace(day=1)
    assert retention["month"].max() == (moment - dt.timedelta(microseconds=1)).date().replace(day=1)
    active = retention.filter(pl.col("active_customers") > 0)
    assert active["month"].max() == last_month


def test_hand_made_orders_at_as_of_midnight_are_not_history():
    tx = _hand_made()
    _check_agreement(tx, AS_OF)
    ref = _reference(tx, AS_OF)
    assert ref["customer_id"].to_list() == [1, 2, 4, 5]
    assert dict(ref.select("customer_id", "last").iter_rows())[2] == AS_OF - SECOND


@pytest.mark.parametrize("as_of", [AS_OF, "2024-03-01", dt.date(2024, 3, 1), "2024-03-01T00:00:00"],
                         ids=["datetime", "text", "date", "iso-datetime"])
def test_every_spelling_of_a_date_means_its_midnight(as_of):
    _check_agreement(_hand_made(), as_of)


def test_hand_made_sequential_rules_see_the_second_before_as_of_and_not_as_of():
    rules = cl.rules.sequential_rules(_hand_made(), as_of=AS_OF, within="60d", min_support=1e-9,
                                      complete_window=False, antecedents=["tea"])
    # tea buyers before as_of: customers 1, 2, 4, 5; a cup followed for 1 and 2 (2's a second before as_of),
    # not for 4 (their cup is at as_of); 2's pot is in the tea basket, which is not "then"
    assert rules.select("consequent", "n_antecedent", "count").rows() == [("cup", 4, 2)]


def test_hand_made_default_as_of_is_the_midnight_after_the_last_order():
    tx = _hand_made()
    _check_agreement(tx, None)
    assert _resolved(tx, None) == dt.datetime(2024, 3, 6)


def test_an_as_of_within_a_day_keeps_that_day_s_earlier_orders():
    tx = _hand_made()
    _check_agreement(tx, dt.datetime(2024, 2, 10, 9, 0, 1))  # customer 1's order at 09:00 is in, recency 0


@pytest.mark.parametrize("which", ["default", "midnight", "date", "an order's instant"])
def test_synthetic_shop(shop_tx, which):
    dates = shop_tx["order_date"].sort()
    as_of = {
        "default": None,
        "midnight": "2023-07-01",
        "date": dt.date(2023, 9, 15),
        "an order's instant": dates[len(dates) // 2],  # orders at that instant are not history
    }[which]
    _check_agreement(shop_tx, as_of)



def _without_a_date() -> pl.DataFrame:
    return _hand_made().with_columns(
        order_date=pl.when(pl.col("order_id") == 11).then(None).otherwise(pl.col("order_date"))
    )


REFUSALS = {
    "rfm": lambda tx: cl.segments.rfm_table(tx, as_of=AS_OF),
    "clv": lambda tx: cl.clv.clv_summary(tx, as_of=AS_OF),
    "cohorts": lambda tx: cl.cohorts.cohort_retention(tx, as_of=AS_OF),
    "baskets": lambda tx: cl.rules.baskets(tx, as_of=AS_OF),
    "sequential": lambda tx: cl.rules.sequential_rules(tx, as_of=AS_OF),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_line_without_a_date_is_refused(name):
    with pytest.raises(cl.CustlabError, match=r"order_date|date"):
        REFUSALS[name](_without_a_date())


def test_a_line_without_a_date_is_counted_by_churn():
    with pytest.warns(cl.CustlabWarning, match="1 without an order_date"):
        cl.churn.survival_frame(_without_a_date(), as_of=AS_OF)
