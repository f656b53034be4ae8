"""RFM scores: quantiles with ties, thresholds."""

from __future__ import annotations

import re

import polars as pl
import pytest

from custlab.exceptions import CustlabError
from custlab.segments import rfm_scores


# --------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------


def test_quantile_scores_share_ties_and_reward_recent():
    table = pl.DataFrame({
        "customer_id": range(10),
        "recency": [1, 1, 5, 9, 20, 20, 20, 60, 200, 300],
        "frequency": [1, 1, 1, 1, 1, 1, 2, 3, 5, 8],
        "monetary": [10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100],
    })
    out = rfm_scores(table)
    # score = 1 + floor(5 * strictly worse / n)
    assert out["r_score"].to_list() == [5, 5, 4, 4, 2, 2, 2, 2, 1, 1]
    assert out["f_score"].to_list() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert out["m_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out["rfm_score"][0] == 511


def test_threshold_scores():
    table = pl.DataFrame({"recency": [0, 29, 30, 89, 180, 400], "frequency": [1, 2, 3, 5, 8, 20],
                          "monetary": [5.0, 50, 99.99, 100, 500, 5000]})
    out = rfm_scores(table, thresholds={"recency": [30, 60, 90, 180], "frequency": [2, 3, 5, 10],
                                        "monetary": [50, 100, 500, 1000]})
    assert out["r_score"].to_list() == [5, 5, 4, 3, 1, 1]
    assert out["f_score"].to_list() == [1, 2, 3, 4, 4, 5]
    assert out["m_score"].to_list() == [1, 2, 2, 3, 4, 5]


@pytest.mark.parametrize(("thresholds", "message"), [
    ({"recency": [30, 60, 90]}, "thresholds['recency'] must be 4 strictly increasing cut points"),
    ({"monetary": [10, 5, 20, 30]}, "thresholds['monetary'] must be 4 strictly increasing cut points"),
    ({"money": [1, 2, 3, 4]}, "thresholds has unknown key(s) ['money']"),
])
def test_bad_thresholds_are_refused(thresholds, message):
    table = pl.DataFrame({"recency": [1], "frequency": [1], "monetary": [1.0]})
    with pytest.raises(CustlabError, match=re.escape(message)):
        rfm_scores(table, thresholds=thresholds)

