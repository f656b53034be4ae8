"""NPS, CSAT and the 'would recommend' answer: figures against direct computation, interval coverage."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest

from custlab.exceptions import ParseError, SchemaError
from custlab.reviews import age_band, csat, nps, nps_interval, recommend_share


def test_nps_interval_covers_the_true_value_at_its_level():
    rng = np.random.default_rng(3)
    for shares, n in (((0.5, 0.3, 0.2), 150), ((0.1, 0.2, 0.7), 60), ((0.9, 0.08, 0.02), 40)):
        truth = 100 * (shares[0] - shares[2])
        draws = rng.multinomial(n, shares, size=2000)
        lo, hi = nps_interval(draws[:, 0], draws[:, 1], draws[:, 2])
        coverage = np.mean((lo <= truth) & (truth <= hi))
        assert 0.93 <= coverage <= 0.985, (shares, n, coverage)


def test_nps_interval_holds_the_observed_nps_at_the_extremes():
    """One promoter is NPS +100; the adjusted-Wald interval around its pulled-in centre ended at +98."""
    for answers in ((1, 0, 0), (0, 0, 1), (5, 0, 0), (0, 3, 4), (2, 1, 0)):
        p, m, d = answers
        observed = 100 * (p - d) / (p + m + d)
        lo, hi = nps_interval(p, m, d)
        assert lo <= observed <= hi, (answers, lo, hi)
    lo, hi = nps_interval(np.array([1, 50]), np.array([0, 30]), np.array([0, 20]))
    assert hi[0] == 100 and [round(float(lo[1]), 1), round(float(hi[1]), 1)] == [14.1, 44.2]  # unchanged inside
    small = nps(pl.DataFrame({"nps_score": [10]}))
    assert small.overall["lower"] <= small.overall["nps"] == 100 <= small.overall["upper"]


def test_nps_by_group_and_month_against_direct_computation(voice_shop):
    sv = voice_shop.surveys
    result = nps(sv, by="channel", freq="1mo")
    row = result.table.filter((pl.col("channel") == "app")).row(0, named=True)
    part = sv.filter((pl.col("channel") == "app") & (pl.col("survey_date").dt.truncate("1mo").dt.date()
                                                      == row["period"]))["nps_score"].to_numpy()
    assert row["responses"] == part.size
    assert row["nps"] == pytest.approx(100 * ((part >= 9).mean() - (part <= 6).mean()))
    assert row["promoters"] + row["passives"] + row["detractors"] == pytest.approx(1.0)
    overall = nps(sv).overall
    assert overall["lower"] < overall["nps"] < overall["upper"]
    # planted: NPS +32 after on-time orders, -20 after late ones; the mix depends on the shop's late share
    by_region = nps(sv, by="region", customers=voice_shop.customers)
    assert set(by_region.table["region"]) == set(voice_shop.customers["region"])


def test_a_star_rating_is_csat_never_nps():
    rv = pl.DataFrame({"rating": [5, 5, 4, 3, 2, 1, 5, 4]})
    result = csat(rv)
    assert result.kind == "csat" and result.overall["csat"] == pytest.approx(5 / 8)
    assert result.overall["mean_rating"] == pytest.approx(np.mean([5, 5, 4, 3, 2, 1, 5, 4]))
    assert "NPS" not in repr(result) and "NPS" not in " ".join(result.describe("en"))
    with pytest.raises(SchemaError, match="nps_score"):
        nps(rv)
    with pytest.raises(ParseError, match="0-10"):
        nps(pl.DataFrame({"nps_score": [3.0, 11.0, 7.5]}))
    with pytest.raises(ParseError, match="1 to 5"):
        csat(pl.DataFrame({"rating": [0, 6]}))


def test_answers_that_are_not_whole_numbers_are_called_so():
    # Audit: 7.5 among 0-10 answers was reported as "outside", though it is inside the scale.
    with pytest.raises(ParseError, match=re.escape(
            "Column 'nps_score' of surveys must hold 0-10 recommendation scores (whole numbers 0 to 10); 1 value(s) "
            "are not whole numbers, e.g. [7.5]. Each answer is a whole number 0 to 10: fractions come from averaging "
            "answers or from another scale, so use the answers themselves; set what cannot be fixed to null.")):
        nps(pl.DataFrame({"nps_score": [10.0, 9.0, 0.0, 7.5]}))
    with pytest.raises(ParseError, match=re.escape(
            "1 value(s) are NaN (not a number); 1 value(s) are outside 0 to 10, e.g. [11.0]; 1 value(s) are not whole "
            "numbers, e.g. [7.5]. Rescale values outside the scale; each answer")):
        nps(pl.DataFrame({"nps_score": [10.0, 11.0, 7.5, float("nan")]}))
    with pytest.raises(ParseError, match=re.escape("1 value(s) are outside 1 to 5, e.g. [6.0]. Rescale values outside "
                                                   "the scale; set what cannot be fixed to null.")):
        csat(pl.DataFrame({"rating": [1.5, 6.0]}))  # stars may be averages: 1.5 is fine, 6 is not


def test_recommend_flag_as_the_survey_answer_it_is(womens):
    overall = recommend_share(womens).overall
    assert overall["responses"] == 23_486 and overall["recommending"] == 19_314  # README: 82.24%
    assert overall["lower"] < 0.8224 < overall["upper"]
    data = womens.with_columns(age_band=age_band(pl.col("age")))
    result = recommend_share(data, by=["department", "age_band"])
    tops = result.table.filter((pl.col("department") == "Tops") & (pl.col("age_band") == "35-44")).row(0, named=True)
    direct = womens.filter((pl.col("department") == "Tops") & pl.col("age").is_between(35, 44))["recommended"]
    assert tops["responses"] == direct.len() and tops["recommend_share"] == pytest.approx(direct.mean())
    assert tops["lower"] < tops["recommend_share"] < tops["upper"] and tops["trusted"]
    # the yes/no answer and the stars disagree sometimes (README: 16 one-star reviews recommend)
    one_star = recommend_share(womens.filter(pl.col("rating") == 1)).overall
    assert one_star["recommending"] == 16
    assert result.table["department"].null_count() == 0  # 14 rows without a department are "(missing)"
