"""Tests of custlab.synthetic: schema, determinism, messy counts, argument checks, doctests.

The tables of fixed seeds are pinned in test_pinned.py; the planted figures are
measured back in test_planted.py.
"""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import pkgutil
import re

import numpy as np
import polars as pl
import pytest

import custlab.synthetic as synthetic
from custlab.synthetic import Shop, make_shop

from .helpers import SCHEMAS


# ----------------------------------------------------------------------------
# contract
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("fixture", ["small", "messy"])
def test_schema_exact(fixture: str, request: pytest.FixtureRequest) -> None:
    shop = request.getfixturevalue(fixture)
    for name, schema in SCHEMAS.items():
        frame = shop.tables()[name]
        assert frame.columns == list(schema), name
        assert dict(frame.schema) == schema, name
        assert frame.height > 0, name


def test_tables_and_repr(small: Shop) -> None:
    assert list(small.tables()) == list(SCHEMAS)
    text = repr(small)
    assert text.startswith("Shop(2000 customers,") and "transaction lines" in text
    with pytest.raises(AttributeError):
        small.transactions = small.customers  # type: ignore[misc]


def test_module_doctests() -> None:
    attempted = 0
    for info in pkgutil.iter_modules(synthetic.__path__, "custlab.synthetic."):
        result = doctest.testmod(importlib.import_module(info.name), optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, info.name
        attempted += result.attempted
    assert attempted >= 4


def test_determinism_and_seed_dependence() -> None:
    a = make_shop(1_500, seed=3, messy=0.2)
    b = make_shop(1_500, seed=3, messy=0.2)
    c = make_shop(1_500, seed=4, messy=0.2)
    for name in SCHEMAS:
        assert a.tables()[name].equals(b.tables()[name]), name
    assert a.truth["messy_counts"] == b.truth["messy_counts"]
    assert a.truth["latent"].equals(b.truth["latent"])
    assert np.array_equal(a.truth["high_value"]["customer_ids"], b.truth["high_value"]["customer_ids"])
    for name in ("transactions", "customers", "events", "reviews"):
        assert not a.tables()[name].equals(c.tables()[name]), name


def test_clean_part_does_not_depend_on_messy_or_events(small: Shop, messy: Shop) -> None:
    for name in ("customers", "events", "marketing_spend", "reviews"):
        assert small.tables()[name].equals(messy.tables()[name]), name
    fewer = make_shop(2_000, seed=5, events_per_customer=1.0)
    assert fewer.transactions.equals(small.transactions)
    assert fewer.events.height < small.events.height / 2


def test_start_forms_agree() -> None:
    a = make_shop(300, start="2022-03-01", months=5, seed=2)
    b = make_shop(300, start=dt.date(2022, 3, 1), months=5, seed=2)
    c = make_shop(300, start=dt.datetime(2022, 3, 1), months=5, seed=2)
    assert a.transactions.equals(b.transactions) and a.transactions.equals(c.transactions)
    assert a.truth["period"]["end"] == dt.datetime(2022, 8, 1)
    assert a.marketing_spend["month"].unique().sort().to_list() == [
        dt.date(2022, m, 1) for m in range(3, 8)
    ]


def test_tiny_and_short_shops_work() -> None:
    one = make_shop(1, months=1, seed=0)
    assert one.customers.height == 1 and one.transactions.height >= 1
    short = make_shop(50, start="2023-01-31", months=1, messy=0.5)
    assert short.truth["period"]["end"] == dt.datetime(2023, 2, 28)


def test_internal_consistency(small: Shop) -> None:
    tx, cu, tr = small.transactions, small.customers, small.truth
    start, end = tr["period"]["start"], tr["period"]["end"]
    assert tx.null_count().sum_horizontal().item() == 0
    assert ((tx["amount"] - tx["quantity"] * tx["unit_price"]).abs() < 1e-6).all()
    assert (tx["quantity"] >= 1).all() and (tx["unit_price"] > 0).all()
    assert tx["order_date"].is_sorted()
    assert tx["order_date"].min() >= start and tx["order_date"].max() < end
    per_order = tx.group_by("order_id").agg(
        pl.col("customer_id").n_unique(), pl.col("order_date").n_unique(), pl.col("channel").n_unique(),
        pl.col("product_id").is_duplicated().any().alias("dup"),
    )
    assert (per_order["customer_id"] == 1).all() and (per_order["order_date"] == 1).all()
    assert (per_order["channel"] == 1).all() and not per_order["dup"].any()
    # at most one order per customer and day (the distinct-day BG/NBD rule)
    days = tx.group_by("customer_id", pl.col("order_date").dt.date()).agg(pl.col("order_id").n_unique())
    assert (days["order_id"] == 1).all()
    # every customer buys; signup before the first purchase, inside the period
    first = tx.group_by("customer_id").agg(pl.col("order_date").min().alias("first"))
    joined = cu.join(first, on="customer_id")
    assert joined.height == cu.height == tr["n_customers"]
    assert (joined["signup_date"] <= joined["first"]).all() and (joined["signup_date"] >= start).all()
    assert cu["customer_id"].to_list() == list(range(1, cu.height + 1))
    # catalogue: ids and names agree with it
    cat = tr["catalog"]
    assert tx.join(cat, on=["product_id", "product_name", "category"], how="anti").height == 0
    assert set(tx["channel"].unique()) <= {"app", "mini_program", "web"}


def test_events_are_ordered_funnels(small: Shop) -> None:
    ev = small.events
    assert set(ev["event"].unique()) <= {"exposure", "click", "cart", "pay"}
    assert ev["customer_id"].is_sorted()
    step = ev["event"].replace_strict({"exposure": 0, "click": 1, "cart": 2, "pay": 3}, return_dtype=pl.Int64)
    ev = ev.with_columns(step.alias("step"))
    per = ev.group_by("session_id").agg(
        pl.col("step"), pl.col("event_time").is_sorted().alias("timed"), pl.col("customer_id").n_unique(),
        pl.col("channel").n_unique().alias("nch"), pl.col("product_id").n_unique().alias("npr"),
    )
    assert per["timed"].all() and (per["customer_id"] == 1).all()
    assert (per["nch"] == 1).all() and (per["npr"] == 1).all()
    assert all(s == list(range(len(s))) for s in per["step"].to_list())
    assert ev["event_time"].max() < small.truth["period"]["end"]
    signup = ev.join(small.customers, on="customer_id")
    assert (signup["event_time"] >= signup["signup_date"]).all()


def test_reviews_consistent(small: Shop) -> None:
    rv = small.reviews.join(
        small.transactions.select("order_id", "product_id", "customer_id", "order_date"),
        on=["order_id", "product_id"],
    )
    assert rv.height == small.reviews.height
    assert (rv["customer_id"] == rv["customer_id_right"]).all()
    assert (rv["review_date"] > rv["order_date"]).all()
    assert (rv["review_date"] < small.truth["period"]["end"]).all()
    assert set(small.reviews["rating"].unique()) <= {1, 2, 3, 4, 5}


# ----------------------------------------------------------------------------
# messy data
# ----------------------------------------------------------------------------
def test_clean_data_have_no_problems(small: Shop) -> None:
    tx = small.transactions
    counts = small.truth["messy_counts"]
    assert all(v == 0 for v in counts.values())
    assert tx.height == tx.unique().height
    assert (tx["product_id"] != "POST").all()


def test_messy_counts_match_truth(small: Shop, messy: Shop) -> None:
    tx, mc = messy.transactions, messy.truth["messy_counts"]
    end = messy.truth["period"]["end"]
    assert tx.height == small.transactions.height + mc["added_lines"]
    assert tx["customer_id"].null_count() == mc["missing_customer_lines"]
    assert tx.filter(pl.col("customer_id").is_null())["order_id"].n_unique() == mc["missing_customer_orders"]
    neg = tx.filter(pl.col("quantity") < 0)
    assert neg.height == mc["cancellation_lines"]
    assert neg["order_id"].n_unique() == mc["cancelled_orders"]
    assert (neg["amount"] < 0).all()
    assert tx.height - tx.unique().height == mc["duplicate_lines"]
    assert tx.filter((pl.col("unit_price") == 0) & (pl.col("amount") == 0)).height == mc["zero_price_lines"]
    assert tx.filter(pl.col("product_id") == "POST").height == mc["postage_lines"]
    assert tx.filter(pl.col("order_date") >= end).height == mc["future_lines"]
    assert mc["future_lines"] >= 1
    n_orders = small.transactions["order_id"].n_unique()
    assert mc["cancelled_orders"] == round(0.4 * 0.10 * n_orders)
    assert mc["postage_lines"] == round(0.4 * 0.20 * n_orders)
    # cleaning them away gives back the clean lines (less those without a customer)
    cleaned = (
        tx.unique(maintain_order=True)
        .filter(
            pl.col("customer_id").is_not_null(), pl.col("quantity") > 0, pl.col("unit_price") > 0,
            pl.col("product_id") != "POST", pl.col("order_date") < end,
        )
        .filter(~pl.col("order_id").is_in(neg["order_id"].implode()))
    )
    expected = small.transactions.filter(
        ~pl.col("order_id").is_in(
            pl.concat([neg["order_id"], tx.filter(pl.col("customer_id").is_null())["order_id"]]).implode()
        )
    )
    assert cleaned.sort("order_id", "product_id").equals(expected.sort("order_id", "product_id"))


# ----------------------------------------------------------------------------
# arguments
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": -5}, "n_customers must be a positive integer, got -5"),
        ({"n_customers": 0}, "n_customers must be a positive integer, got 0"),
        ({"n_customers": 2.5}, "n_customers must be a positive integer, got 2.5"),
        ({"n_customers": True}, "n_customers must be a positive integer, got True"),
        ({"months": 0}, "months must be an integer >= 1, got 0"),
        ({"months": "3"}, "months must be an integer >= 1, got '3'"),
        ({"messy": 1.0}, "messy must be a number in [0, 1), got 1.0"),
        ({"messy": -0.1}, "messy must be a number in [0, 1), got -0.1"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"events_per_customer": -2}, "events_per_customer must be a non-negative number, got -2"),
        (
            {"start": "2023-13-01"},
            "start must be a date such as '2023-01-01' (an ISO 'YYYY-MM-DD' string, "
            "datetime.date or datetime.datetime), got '2023-13-01'",
        ),
        (
            {"start": 20230101},
            "start must be a date such as '2023-01-01' (an ISO 'YYYY-MM-DD' string, "
            "datetime.date or datetime.datetime), got 20230101",
        ),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"n_customers": 10, **kwargs}
    n = args.pop("n_customers")
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_shop(n, **args)
