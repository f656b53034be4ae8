"""Segment summary, concentration curve and top share (the planted top-15% share)."""

from __future__ import annotations

import re

import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.segments import concentration_curve, rfm_table, segment_summary, top_share


def test_concentration_curve_reproduces_the_planted_top15_share(shop):
    table = rfm_table(shop.transactions)
    curve = concentration_curve(table)
    k = round(0.15 * table.height)
    assert curve.filter(pl.col("customers") == k)["revenue_share"].item() == pytest.approx(
        shop.truth["high_value"]["top15_revenue_share"], abs=1e-12
    )
    share = top_share(table, 0.5)
    assert 0.10 < share < 0.15  # "top 15% bring 50%" is the documents' figure; here a little fewer
    assert curve.filter(pl.col("customer_share") >= share)["revenue_share"][0] >= 0.5

# --------------------------------------------------------------------------------------------------
# Summary and concentration
# --------------------------------------------------------------------------------------------------


def test_segment_summary_figures():
    seg = pl.DataFrame({"segment": pl.Series(["A", "A", "B"], dtype=pl.Enum(["A", "B", "C"])),
                        "recency": [2, 4, 50], "frequency": [4, 2, 1], "monetary": [80.0, 20.0, 100.0]})
    out = segment_summary(seg)
    assert out.rows() == [
        ("A", 2, 2 / 3, 100.0, 0.5, 6, 100 / 6, 3.0, 3.0, 50.0),
        ("B", 1, 1 / 3, 100.0, 0.5, 1, 100.0, 50.0, 1.0, 100.0),
        ("C", 0, 0.0, 0.0, 0.0, 0, None, None, None, None),
    ]


def test_concentration_curve_and_top_share():
    table = pl.DataFrame({"monetary": [10.0, 50.0, 10.0, 30.0]})
    curve = concentration_curve(table)
    assert curve["customer_share"].to_list() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve["revenue_share"].to_list() == pytest.approx([0.0, 0.5, 0.8, 0.9, 1.0])
    assert top_share(table, 0.5) == 0.25 and top_share(table, 0.8) == 0.5 and top_share(table, 1.0) == 1.0
    with pytest.raises(CustlabError, match=re.escape("revenue_share must be in (0, 1], got 1.5")):
        top_share(table, 1.5)
    with pytest.raises(CustlabError, match="must be non-negative"):
        concentration_curve(pl.DataFrame({"monetary": [1.0, -1.0]}))

