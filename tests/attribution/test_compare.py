"""Path conversion comparison with intervals."""

from __future__ import annotations

import polars as pl
import pytest

import custlab.attribution as at
from custlab.exceptions import CustlabError


def test_path_comparison_with_interval():
    data = pl.DataFrame({"path": ["live > mini", "live > live > mini", "ads > app", "ads > x > app"],
                         "conversions": [200, 50, 150, 10], "nulls": [600, 150, 650, 90]})
    cmp_ = at.compare_paths(data, "live > mini", "ads > app")
    row = cmp_.to_frame().row(0, named=True)
    assert (row["journeys_a"], row["journeys_b"]) == (1000, 800)
    assert row["rate_a"] == 0.25 and row["rate_b"] == pytest.approx(150 / 800)
    assert row["rel_diff"] == pytest.approx(0.25 / (150 / 800) - 1) and row["rel_ci_low"] > 0
    assert "convert 33% better" in cmp_.describe() and "高 33%" in cmp_.describe("zh")
    contains = at.compare_paths(data, "live > mini", "ads > app", match="contains")
    assert contains.journeys_b == 900
    with pytest.raises(CustlabError, match="no journey matches"):
        at.compare_paths(data, "tv", "ads")
    table = at.path_conversion(data)
    assert table["path"].to_list()[0] == "live > mini" and table["journeys"][0] == 1000
