"""Rule-based attribution (first, last, linear, position-based, time decay), computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import custlab.attribution as at

D = dt.datetime


def test_heuristics_by_hand():
    paths = at.path_table(pl.DataFrame({"path": ["a > b > c", "b > c", "c"], "conversions": [2, 1, 1],
                                        "value": [30.0, 10.0, 5.0]}))
    def credit(table):
        return {c: (round(n, 9), round(v, 9)) for c, n, v in table.iter_rows()}
    assert credit(at.first_touch(paths)) == {"a": (2, 30), "b": (1, 10), "c": (1, 5)}
    assert credit(at.last_touch(paths)) == {"c": (4, 45), "a": (0, 0), "b": (0, 0)}  # every channel, in every model
    assert credit(at.linear(paths)) == {"a": (round(2 / 3, 9), 10), "b": (round(2 / 3 + 0.5, 9), 15),
                                        "c": (round(2 / 3 + 0.5 + 1, 9), 20)}
    assert credit(at.position_based(paths)) == {"a": (0.8, 12), "b": (0.9, 11), "c": (2.3, 22)}
    decay = credit(at.time_decay(paths, half_life=1))  # weights 1/4, 1/2, 1 on a > b > c
    assert decay["a"][0] == pytest.approx(2 * 0.25 / 1.75) and decay["c"][0] == pytest.approx(2 / 1.75 + 1 / 1.5 + 1)


def test_time_decay_uses_touch_times():
    touches = pl.DataFrame({"customer_id": [1, 1], "channel": ["a", "b"], "touch_time": [D(2024, 1, 1), D(2024, 1, 8)]})
    orders = pl.DataFrame({"customer_id": [1], "order_id": [1], "order_date": [D(2024, 1, 15)], "amount": [90.0]})
    j = at.journeys(touches, orders)
    credit = dict(at.time_decay(j, half_life="7d").select("channel", "conversions").iter_rows())
    assert credit == pytest.approx({"a": 1 / 3, "b": 2 / 3})  # 14 and 7 days before: weights 1/4 and 1/2
