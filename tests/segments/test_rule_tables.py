"""Rule tables: a port of R rfm::rfm_segment, coverage, value tiers, partition properties."""

from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custlab.exceptions import CustlabError, SchemaError
from custlab.segments import (
    R_RFM_SEGMENTS,
    rfm_scores,
    rfm_segments,
    rfm_table,
    rule_coverage,
    segment_summary,
    value_tier_rules,
)

from .helpers import make_tx

R_NAMES = ["Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising", "Need Attention",
           "About To Sleep", "At Risk", "Can't Lose Them", "Lost"]


@pytest.mark.parametrize("rules", ["rfm", "rfm_reachable", "value_tiers"])
def test_online_retail_segments_partition_every_customer(online_retail_clean, retail_rfm, rules):
    seg = rfm_segments(rfm_scores(retail_rfm), rules=rules)
    assert seg.height == 4339 and seg["customer_id"].n_unique() == 4339
    assert seg["segment"].null_count() == 0
    summary = segment_summary(seg)
    assert summary["customers"].sum() == 4339
    assert summary["orders"].sum() == 18536
    assert summary["revenue"].sum() == pytest.approx(online_retail_clean["amount"].sum(), rel=1e-12)
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    assert summary["segment"].to_list()[-1] == "Others"  # the catch-all is listed, even when empty
    if rules == "value_tiers":
        assert summary.filter(pl.col("segment") == "Others")["customers"].item() == 0
        assert seg.filter(pl.col("segment") == "High value")["recency"].max() < 60
        assert seg.filter(pl.col("segment") == "Can't lose them")["recency"].min() >= 60

# --------------------------------------------------------------------------------------------------
# Synthetic shop: the planted high-value group
# --------------------------------------------------------------------------------------------------


def test_value_tiers_find_the_planted_high_value_group(shop):
    truth = shop.truth["high_value"]
    seg = rfm_segments(rfm_scores(rfm_table(shop.transactions)), rules="value_tiers")
    # the top fifth on orders and revenue, recent (High value) or lapsed (Can't lose them), is the planted group:
    # 15% of customers (by expected revenue) with a realised revenue share of ~0.48; "within a few points":
    # 2 points on the customer share, 4 on the revenue share
    top = seg.filter(pl.col("segment").is_in(["High value", "Can't lose them"]))
    assert top.height / seg.height == pytest.approx(truth["customer_share"], abs=0.02)
    assert top["monetary"].sum() / seg["monetary"].sum() == pytest.approx(truth["revenue_share"], abs=0.04)
    ours = set(top["customer_id"].to_list())
    planted = set(truth["customer_ids"].tolist())
    assert len(ours & planted) / len(ours) > 0.5  # chance level is 0.15
    assert len(ours & planted) / len(planted) > 0.5
    # recency gates every tier: no High value customer is silent 60 days or more, no lapsed one is active
    recency = dict(seg.group_by("segment").agg(lo=pl.col("recency").min(), hi=pl.col("recency").max())
                   .select(pl.col("segment").cast(pl.String), pl.struct("lo", "hi")).rows())
    for tier in ("High value", "Potential", "Low value"):
        assert recency[tier]["hi"] < 60
    for tier in ("Can't lose them", "Dormant"):
        assert recency[tier]["lo"] >= 60


def test_value_tiers_on_the_default_synthetic_shop():
    # before recency gated the tiers, 413 of the 681 "High value" customers here had been silent over 60 days
    from custlab.synthetic import make_shop

    seg = rfm_segments(rfm_scores(rfm_table(make_shop().transactions)), rules="value_tiers")
    counts = dict(seg.group_by(pl.col("segment").cast(pl.String)).len().rows())
    assert counts["High value"] + counts["Can't lose them"] == 681
    assert seg.filter(pl.col("segment") == "High value")["recency"].max() < 60
    assert counts["Can't lose them"] == seg.filter((pl.col("f_score") == 5) & (pl.col("m_score") == 5)
                                                   & (pl.col("recency") >= 60)).height


def _r_rfm_segment(r, f, m):
    """Line-by-line port of R rfm::rfm_segment (rfm 0.3.0) with the vignette's ten segments."""
    lower_r, upper_r = [4, 2, 3, 4, 3, 2, 2, 1, 1, 1], [5, 5, 5, 5, 4, 3, 3, 2, 1, 2]
    lower_f, upper_f = [4, 3, 1, 1, 1, 2, 1, 2, 4, 1], [5, 5, 3, 1, 1, 3, 2, 5, 5, 2]
    segment = np.array(["1"] * len(r), dtype=object)
    for i, name in enumerate(R_NAMES):
        hit = ((r >= lower_r[i]) & (r <= upper_r[i]) & (f >= lower_f[i]) & (f <= upper_f[i])
               & (m >= lower_f[i]) & (m <= upper_f[i]) & ~np.isin(segment, R_NAMES))
        segment[hit] = name
    segment[segment == "1"] = "Others"
    return segment


def test_rfm_rules_reproduce_r_rfm_segment_on_every_cell():
    cells = np.array(list(np.ndindex(5, 5, 5))) + 1
    scores = pl.DataFrame({"r_score": cells[:, 0], "f_score": cells[:, 1], "m_score": cells[:, 2]})
    ours = rfm_segments(scores, rules="rfm")["segment"].cast(pl.String).to_numpy()
    expected = _r_rfm_segment(cells[:, 0], cells[:, 1], cells[:, 2])
    np.testing.assert_array_equal(ours, expected)
    assert R_RFM_SEGMENTS["segment"].to_list() == R_NAMES


def test_rule_coverage_reports_gaps_overlaps_and_shadowed_segments():
    cov = rule_coverage("rfm")
    assert cov.height == 125
    assert cov.filter(pl.col("segment") == "Others").height == 36
    assert cov.filter(pl.col("matches").list.len() > 1).height == 39
    never = set(R_NAMES) - set(cov["segment"].to_list())
    assert never == {"New Customers", "Promising", "Can't Lose Them"}  # shadowed in R's order, as in R
    reach = rule_coverage("rfm_reachable")
    assert set(R_NAMES) <= set(reach["segment"].to_list())
    assert reach.filter(pl.col("segment") == "Others").height == 36


def test_rule_table_with_gaps_is_refused_when_asked():
    message = ("The rule table leaves 36 of 125 score cells uncovered, e.g. ['R1 F1 M3', 'R1 F1 M4', 'R1 F1 M5', "
               "'R1 F3 M1', 'R1 F4 M1']. Add rules for them, or pass gaps='catch_all'")
    with pytest.raises(CustlabError, match=re.escape(message)):
        rule_coverage("rfm", gaps="raise")
    scores = pl.DataFrame({"r_score": [1], "f_score": [3], "m_score": [1]})
    with pytest.raises(CustlabError, match="leaves 36 of 125 score cells uncovered"):
        rfm_segments(scores, gaps="raise")


def test_rule_table_with_overlaps_is_refused_when_asked():
    table = pl.DataFrame({
        "segment": ["Top", "Rest"],
        "recency_lower": [4, 1], "recency_upper": [5, 5],
        "frequency_lower": [4, 1], "frequency_upper": [5, 5],
        "monetary_lower": [1, 1], "monetary_upper": [5, 5],
    })
    message = ("The rule table covers 20 of 125 score cells with more than one segment, e.g. "
               "['R4 F4 M1 (Top, Rest)'")
    with pytest.raises(CustlabError, match=re.escape(message)):
        rule_coverage(table, overlaps="raise")
    disjoint = rule_coverage(table)  # first match: no complaint, Rest takes the other 105 cells
    assert disjoint.group_by("segment").len().sort("segment").rows() == [("Rest", 105), ("Top", 20)]


def test_malformed_rule_tables_get_clear_messages():
    good = R_RFM_SEGMENTS.select("segment", "recency_lower", "recency_upper", "frequency_lower",
                                 "frequency_upper", "monetary_lower", "monetary_upper")
    with pytest.raises(SchemaError, match=re.escape("The rule table is missing column(s) ['monetary_upper']")):
        rule_coverage(good.drop("monetary_upper"))
    with pytest.raises(CustlabError, match=re.escape(
            "Rule 0 ('Champions') has recency interval 4-6; score intervals must lie within 1-5")):
        rule_coverage(good.with_columns(recency_upper=pl.when(pl.col("segment") == "Champions").then(6)
                                        .otherwise(pl.col("recency_upper"))))
    with pytest.raises(CustlabError, match=re.escape("catch_all='Lost' is also the name of a rule")):
        rule_coverage(good, catch_all="Lost")
    with pytest.raises(CustlabError, match=re.escape("Unknown rule table 'rmf'")):
        rule_coverage("rmf")


def test_a_user_rule_that_can_never_match_warns():
    table = [
        {"segment": "All", "recency_lower": 1, "recency_upper": 5, "frequency_lower": 1, "frequency_upper": 5,
         "monetary_lower": 1, "monetary_upper": 5},
        {"segment": "Best", "recency_lower": 5, "recency_upper": 5, "frequency_lower": 5, "frequency_upper": 5,
         "monetary_lower": 5, "monetary_upper": 5},
    ]
    with pytest.warns(UserWarning, match=re.escape("Rule(s) for ['Best'] can never match")):
        rule_coverage(table)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rule_coverage("rfm")  # the built-in R table is shadowed by design (as in R) and stays quiet


def test_value_tiers_cover_every_cell_and_recency_gates_every_tier():
    table = value_tier_rules()
    # every rule bounds recency in days: below 60 for the active tiers, 60 or more for the lapsed ones
    assert table.select("segment", "recency_days_min", "recency_days_max").rows() == [
        ("High value", None, 59), ("Can't lose them", 60, None), ("Dormant", 60, None), ("Potential", None, 59),
        ("Potential", None, 59), ("Low value", None, 59)]
    cov = rule_coverage("value_tiers", gaps="raise")
    assert cov.height == 250  # 125 score cells x (0-59 days, 60+ days)
    scores = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6, 7], "recency": [59, 60, 200, 10, 10, 59, 60],
                           "r_score": [3, 3, 1, 5, 5, 3, 3], "f_score": [1, 1, 5, 3, 2, 5, 5],
                           "m_score": [1, 1, 5, 1, 2, 5, 5]})
    out = rfm_segments(scores, rules="value_tiers")
    assert out["segment"].cast(pl.String).to_list() == [
        "Low value", "Dormant", "Can't lose them", "Potential", "Low value", "High value", "Can't lose them"]
    assert out["value_rank"].to_list() == [3, 5, 4, 2, 3, 1, 4]
    zh = rfm_segments(scores, rules="value_tiers", language="zh")
    assert zh["segment"].cast(pl.String).to_list() == [
        "低价值客户", "沉睡客户", "重要挽回客户", "潜力客户", "低价值客户", "高价值客户", "重要挽回客户"]
    assert zh["segment"].dtype.categories.to_list() == ["高价值客户", "潜力客户", "低价值客户", "重要挽回客户", "沉睡客户",
                                                         "其他"]
    later = rfm_segments(scores, rules=value_tier_rules(dormant_days=90))
    assert later["segment"].cast(pl.String).to_list() == [
        "Low value", "Low value", "Can't lose them", "Potential", "Low value", "High value", "High value"]
    with pytest.raises(CustlabError, match=re.escape("dormant_days must be a positive whole number of days, got 0")):
        value_tier_rules(dormant_days=0)


def test_rfm_table_output_is_scored_on_the_way():
    tx = make_tx([(1, 1, "2024-01-01", 10.0), (2, 2, "2024-01-05", 50.0), (2, 3, "2024-01-06", 50.0)])
    seg = rfm_segments(rfm_table(tx))
    assert {"r_score", "f_score", "m_score", "segment", "value_rank"} <= set(seg.columns)


# --------------------------------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------------------------------

_line = st.tuples(
    st.integers(1, 12),            # customer
    st.integers(1, 40),            # order
    st.integers(0, 400),           # day offset
    st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 2)),
)


def _lines_frame(lines):
    base = dt.datetime(2023, 1, 1)
    rows = [(c, c * 1000 + o, base + dt.timedelta(days=d, hours=c % 24), a) for c, o, d, a in lines]
    return pl.DataFrame(rows, schema={"customer_id": pl.Int64, "order_id": pl.Int64,
                                      "order_date": pl.Datetime("us"), "amount": pl.Float64}, orient="row")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line, min_size=1, max_size=60), seed=st.integers(0, 2**32 - 1),
       rules=st.sampled_from(["rfm", "rfm_reachable", "value_tiers"]))
def test_properties_hold_and_row_order_does_not_matter(lines, seed, rules):
    tx = _lines_frame(lines)
    table = rfm_table(tx)
    assert (table["recency"] >= 0).all() and (table["tenure"] >= table["recency"]).all()
    assert (table["frequency"] >= 1).all()
    scores = rfm_scores(table)
    for col in ("r_score", "f_score", "m_score"):
        assert scores[col].is_between(1, 5).all()
    seg = rfm_segments(scores, rules=rules)
    assert seg.height == tx["customer_id"].n_unique() and seg["segment"].null_count() == 0
    assert seg["customer_id"].is_unique().all()
    # more money never means a lower M score (ties share one)
    ordered = scores.sort("monetary")
    assert (ordered["m_score"].diff().drop_nulls() >= 0).all()
    if rules == "value_tiers":  # recency gates every tier
        active = seg["segment"].cast(pl.String).is_in(["High value", "Potential", "Low value"])
        assert ((seg["recency"] < 60) == active).all()
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=seed)
    again = rfm_segments(rfm_scores(rfm_table(shuffled)), rules=rules)
    assert again.equals(seg)  # bit for bit, money included

