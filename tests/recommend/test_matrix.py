"""The customer x item matrices: purchase days, weighted events, as_of, refusals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import CustlabError, EmptyDataError, SchemaError
from custlab.recommend import EVENT_WEIGHTS, interaction_matrix


def test_strength_counts_purchase_days_and_bought_is_binary(tiny):
    data = interaction_matrix(tiny)
    assert data.items.to_list() == ["cup", "jam", "tea"]
    assert data.names.to_list() == ["Cup", "Jam", "Tea"]
    jam = data.columns_of(["jam"])[0]
    row = data.rows_of([4])[0]
    assert data.strength[row, jam] == 2.0 and data.bought[row, jam] == 1.0
    assert data.buyers.tolist() == [2, 1, 3]
    assert data.as_of == dt.datetime(2024, 1, 5)


def test_events_weigh_less_than_purchases_and_count_once_per_day(tiny):
    day = dt.datetime(2024, 1, 2)
    events = pl.DataFrame({"customer_id": [3, 3, 3, 5], "event_time": [day, day, day, day],
                           "event": ["view", "view", "cart", "view"], "product_id": ["cup", "cup", "cup", "unknown"]})
    data = interaction_matrix(tiny, events=events)
    row, cup = data.rows_of([3])[0], data.columns_of(["cup"])[0]
    assert data.strength[row, cup] == pytest.approx(EVENT_WEIGHTS["view"] + EVENT_WEIGHTS["cart"])
    assert data.bought[row, cup] == 0.0  # a view is not a purchase
    assert any(" on products nobody bought" in note for note in data.notes)


def test_as_of_cuts_history_and_before_matches_rebuilding(tiny):
    cut = interaction_matrix(tiny, as_of="2024-01-02")
    jam = cut.columns_of(["jam"])[0]
    assert cut.strength[cut.rows_of([4])[0], jam] == 1.0
    full = interaction_matrix(tiny)
    earlier = full.before((dt.date(2024, 1, 2) - dt.date(1970, 1, 1)).days)
    assert np.array_equal(earlier.strength.toarray(), cut.strength.toarray())
    assert earlier.buyers.tolist() == cut.buyers.tolist()


def test_refusals_name_the_column_and_count(tiny):
    with pytest.raises(CustlabError, match=r"'customer_id' .* 1 null"):
        interaction_matrix(tiny.with_columns(customer_id=pl.when(pl.col("order_id") == 3).then(None)
                                             .otherwise(pl.col("customer_id"))))
    with pytest.raises(SchemaError, match="product_id"):
        interaction_matrix(tiny.drop("product_id"))
    with pytest.raises(EmptyDataError, match="empty"):
        interaction_matrix(tiny.clear())
    with pytest.raises(EmptyDataError, match="No order is before"):
        interaction_matrix(tiny, as_of="2023-01-01")
    with pytest.raises(CustlabError, match="event_weights"):
        interaction_matrix(tiny, events=pl.DataFrame({"customer_id": [1], "event_time": [dt.datetime(2024, 1, 1)],
                                                      "event": ["view"], "product_id": ["tea"]}),
                           event_weights={"view": -1})


def test_to_frame_lists_every_cell(tiny):
    data = interaction_matrix(tiny)
    frame = data.to_frame()
    assert frame.columns == ["customer_id", "product_id", "product_name", "bought", "strength"]
    assert frame.height == data.strength.nnz == 6
    expected = tiny.group_by("customer_id", "product_id").agg(days=pl.col("order_date").dt.date().n_unique())
    got = frame.join(expected, on=["customer_id", "product_id"])
    assert got.height == 6 and (got["strength"] == got["days"]).all() and got["bought"].all()


def test_every_event_left_out_is_counted_by_reason(tiny):
    day = dt.datetime(2024, 1, 1)
    events = pl.DataFrame({
        "customer_id": ["1", "x", None, "2", "2", "2", "2"],
        "event_time": [day] * 7,
        "event": ["view", "view", "view", "purchase", None, "view", "ignored"],
        "product_id": ["tea", "tea", "cup", "cup", "cup", "no-such-product", "tea"],
    })
    notes = interaction_matrix(tiny, events=events, event_weights={"view": 0.1, "ignored": 0.0}).notes
    assert "Left out 1 event without a customer_id, product_id or event_time." in notes
    assert any(n.startswith("Left out 2 events of kinds without a weight") and "'purchase' 1" in n
               and "'(none)' 1" in n for n in notes)  # a weight of 0 is the caller's choice: not listed
    assert "Left out 1 event on products nobody bought before as_of." in notes
    assert any(n.startswith("Left out 1 customer-product-day of events") and "'x'" in n for n in notes)


def test_events_of_a_kind_weighted_zero_are_left_out_whatever_else_is_there(tiny):
    day = dt.datetime(2024, 1, 1)
    events = pl.DataFrame({"customer_id": [9, 1], "event_time": [day] * 2, "event": ["view"] * 2,
                           "product_id": ["tea", "cup"]})
    alone = interaction_matrix(tiny, events=events, event_weights={"view": 0.0})
    with_click = interaction_matrix(tiny, events=pl.concat([events, events.head(1).with_columns(event=pl.lit("click"))]),
                                    event_weights={"view": 0.0})
    assert alone.customers.to_list() == with_click.customers.to_list() == [1, 2, 3, 4]  # no row for customer 9
    assert np.array_equal(alone.strength.toarray(), interaction_matrix(tiny).strength.toarray())
