"""Seasonal rules and the planted associations of the synthetic shop."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from custlab import rules as R
from custlab.exceptions import CustlabError, SchemaError

# --------------------------------------------------------------------------- synthetic shop: planted rules


def test_synthetic_sunscreen_umbrella(shop):
    planted = shop.truth["associations"]["sunscreen=>umbrella"]["confidence"]
    b = R.baskets(shop.transactions, item="product_name")
    rules = R.association_rules(R.frequent_itemsets(b, min_support=0.002, max_len=2), min_confidence=0.3)
    row = rules.filter(pl.col("antecedent") == ["sunscreen"], pl.col("consequent") == ["umbrella"])
    n_sunscreen = round(row["antecedent_support"].item() * b["basket_id"].n_unique())
    tolerance = 3 * math.sqrt(planted * (1 - planted) / n_sunscreen)  # 3 binomial standard errors
    assert row["confidence"].item() == pytest.approx(planted, abs=tolerance)
    # Umbrellas are rare without sunscreen (0.4% of the other baskets): a strong lift.
    alone = shop.truth["associations"]["umbrella_alone"]
    s = row["antecedent_support"].item()
    expected_lift = planted / (planted * s + alone * (1 - s))
    assert row["lift"].item() == pytest.approx(expected_lift, rel=0.1)


def test_synthetic_festival_lift(shop):
    truth = shop.truth["associations"]["gifts=>home_decor"]
    windows = [(f["window_start"], f["window_end"]) for f in shop.truth["festivals"]]
    b = R.baskets(shop.transactions, item="category")
    out = R.seasonal_rules(b, windows=windows, window_label="festival", min_support=0.002, min_confidence=0.1)
    row = out.filter(pl.col("antecedent") == ["gifts"], pl.col("consequent") == ["home_decor"]).row(0, named=True)
    assert row["period"] == "festival"
    gifts_in = row["count"] / row["confidence"]
    gifts_out = row["support_rest"] * row["n_baskets_rest"] / row["confidence_rest"]
    assert row["confidence"] == pytest.approx(truth["festival"], abs=3 * math.sqrt(0.36 * 0.64 / gifts_in))
    assert row["confidence_rest"] == pytest.approx(truth["base"], abs=3 * math.sqrt(0.3 * 0.7 / gifts_out))
    assert row["confidence"] / row["confidence_rest"] == pytest.approx(truth["lift"], abs=0.12)
    assert row["lift_change"] > 0 and row["lift_ratio"] > 1


def test_seasonal_monthly_and_given_rules(shop):
    b = R.baskets(shop.transactions, item="product_name")
    given = pl.DataFrame({"antecedent": [["sunscreen"]], "consequent": [["umbrella"]]})
    monthly = R.seasonal_rules(b, rules=given)
    assert monthly["period"].to_list()[:3] == ["2023-01", "2023-02", "2023-03"]
    assert monthly.height == 24 and monthly["n_baskets"].sum() == b["basket_id"].n_unique()
    # Sunscreen peaks June-August (truth["seasonality"]): the rule's support follows.
    summer = monthly.filter(pl.col("period_start").dt.month().is_in([6, 7, 8]))["support"].mean()
    winter = monthly.filter(pl.col("period_start").dt.month().is_in([12, 1, 2]))["support"].mean()
    assert summer > 3 * winter
    # Scores of given rules equal association rules mined on that month's baskets alone.
    july = b.filter(pl.col("order_date").dt.strftime("%Y-%m") == "2024-07")
    direct = R.association_rules(R.frequent_itemsets(july, min_support=0.001, max_len=2), min_confidence=0.0)
    ref = direct.filter(pl.col("antecedent") == ["sunscreen"], pl.col("consequent") == ["umbrella"])
    got = monthly.filter(pl.col("period") == "2024-07")
    for col in ("support", "confidence", "lift"):
        assert got[col].item() == pytest.approx(ref[col].item(), rel=1e-12)
    # A month without a sunscreen basket has no confidence or lift: null, not NaN (a NaN sorted first when a reader
    # sorted by lift_change, descending)
    rare = R.seasonal_rules(b.filter(~((pl.col("order_date").dt.month() == 1) & (pl.col("item") == "sunscreen"))),
                            rules=given)
    for col in ("confidence", "lift", "lift_change", "confidence_rest", "lift_rest"):
        assert not rare[col].is_nan().any(), col
    january = rare.filter(pl.col("period_start").dt.month() == 1)
    assert january.height == 2 and january["confidence"].is_null().all() and january["lift_change"].is_null().all()
    assert rare.sort("lift_change", descending=True, nulls_last=True)["lift_change"][0] is not None
    quarters = R.seasonal_rules(b, rules=given, freq="1q")
    assert quarters["period"].to_list()[:2] == ["2023-Q1", "2023-Q2"]
    weeks = R.seasonal_rules(b, rules=given, freq="week")
    assert weeks["period"][0] == "2022-W52" and weeks["period_start"][0] == dt.date(2022, 12, 26)  # ISO week


def test_seasonal_rules_arguments():
    b = pl.DataFrame({"basket_id": [1], "item": ["a"], "order_date": [dt.datetime(2024, 1, 1)]})
    with pytest.raises(CustlabError, match=r"freq must be one of '1w', '1mo', '1q' .*got 'day'"):
        R.seasonal_rules(b, freq="day")
    with pytest.raises(CustlabError, match=r"A window must end after it starts"):
        R.seasonal_rules(b, windows=[("2024-02-01", "2024-01-01")])
    with pytest.raises(SchemaError, match=r"missing column\(s\) for seasonal rules"):
        R.seasonal_rules(b.drop("order_date"))




def test_windows_outside_the_data_warn_and_give_nothing():
    """The notebook's default windows are the synthetic shop's festivals: on Online Retail they hold no basket."""
    from custlab.exceptions import CustlabWarning

    b = pl.DataFrame({"basket_id": [1, 1, 2], "item": ["a", "b", "a"],
                      "order_date": [dt.datetime(2011, 5, 1)] * 2 + [dt.datetime(2011, 6, 1)]})
    with pytest.warns(CustlabWarning, match=r"No basket falls in the windows .*run from 2011-05-01 to 2011-06-01"):
        out = R.seasonal_rules(b, windows=[("2023-01-01", "2023-01-23")], min_support=0.1, min_confidence=0.1)
    assert out.height == 0
