"""Shapley attribution by hand and its channel limit."""

from __future__ import annotations

import polars as pl
import pytest

import custlab.attribution as at
from custlab.exceptions import CustlabError


def test_shapley_by_hand_and_limits():
    paths = at.path_table(pl.DataFrame({"path": ["a", "b", "a > b"], "conversions": [10, 0, 30],
                                        "nulls": [90, 100, 70]}))
    out = dict(at.shapley(paths).select("channel", "shapley_value").iter_rows())
    assert out == pytest.approx({"a": 35.0, "b": 5.0})
    many = at.path_table(pl.DataFrame({"path": [" > ".join(f"c{i}" for i in range(17))], "conversions": [1]}))
    with pytest.raises(CustlabError, match="at most 16"):
        at.shapley(many)
