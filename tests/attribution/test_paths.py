"""Touches -> journeys -> path table: the lookback window, UTM channels, bad input."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import custlab.attribution as at
from custlab.exceptions import CustlabError, SchemaError

D = dt.datetime


def test_journeys_lookback_and_gaps():
    touches = pl.DataFrame({"customer_id": [1, 1, 1, 1, 2], "channel": ["a", "b", "c", "d", "a"],
                            "touch_time": [D(2024, 1, 1), D(2024, 3, 1), D(2024, 3, 2), D(2024, 6, 1), D(2024, 1, 1)]})
    orders = pl.DataFrame({"customer_id": [1], "order_id": [9], "order_date": [D(2024, 3, 5)], "amount": [20.0]})
    j = at.journeys(touches, orders, within="30d")
    rows = j.select("customer_id", "path", "converted").rows()
    # a is 64 days before the order (outside the window): its own non-converting journey; d comes after the order
    assert rows == [(1, ["a"], False), (1, ["b", "c"], True), (1, ["d"], False), (2, ["a"], False)]
    longer = at.journeys(touches, orders, within="90d")
    assert longer.filter(pl.col("converted"))["path"].to_list() == [["a", "b", "c"]]


def test_utm_columns_give_the_same_channels(shop, planted):
    from_utm = at.attribute(shop.touches.drop("channel"), shop.transactions, conversions="first")
    assert from_utm.markov.removal_effects.equals(planted.markov.removal_effects)


def test_bad_input():
    with pytest.raises(CustlabError, match="no path converts"):
        at.path_table(pl.DataFrame({"path": ["a"], "conversions": [0], "nulls": [3]}))
    with pytest.raises(SchemaError, match="UTM"):
        at.journeys(pl.DataFrame({"customer_id": [1], "touch_time": [D(2024, 1, 1)]}),
                    pl.DataFrame({"customer_id": [1], "order_id": [1], "order_date": [D(2024, 1, 2)], "amount": [1.0]}))
    with pytest.raises(CustlabError, match="negative"):
        at.path_table(pl.DataFrame({"path": ["a"], "conversions": [-1]}))
    with pytest.raises(CustlabError, match="need the transactions"):
        at.attribute(pl.DataFrame({"customer_id": [1], "touch_time": [D(2024, 1, 1)], "channel": ["a"]}))
