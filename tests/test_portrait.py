"""Customer portrait (custlab.portrait): geography and demographics.

References: Online Retail's Country column (counts computed directly per country),
Ta Feng's age groups and residence areas (README: 626 customers without an age
group), and the synthetic shop's planted city-tier shares (exact counts, revenue
share of tier1 + new_tier1 solved to 0.65).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from custlab.data.schema import validate
from custlab.exceptions import CustlabError, SchemaError
from custlab.portrait import Breakdown, demographics, geography, portrait


def _tx(**extra):
    return pl.DataFrame({"customer_id": [1, 1, 2, 3, 4], "order_id": ["a", "b", "c", "d", "e"],
                         "order_date": [dt.datetime(2024, 1, d) for d in range(1, 6)],
                         "amount": [10.0, 20.0, 30.0, 40.0, 100.0], **extra})


def test_geography_of_online_retail_by_country(online_retail_clean):
    g = geography(online_retail_clean)
    assert isinstance(g, Breakdown) and g.attribute == "country" and g.source == "transactions"
    table = g.to_frame()
    direct = online_retail_clean.group_by("country").agg(
        customers=pl.col("customer_id").n_unique(), orders=pl.col("order_id").n_unique(), revenue=pl.col("amount").sum()
    )
    got = {r["country"]: (r["customers"], r["orders"], r["revenue"]) for r in table.iter_rows(named=True)}
    want = {r["country"]: (r["customers"], r["orders"], r["revenue"]) for r in direct.iter_rows(named=True)}
    assert got.keys() == want.keys() and len(got) == 37
    for country, (customers, orders, revenue) in want.items():
        assert got[country][:2] == (customers, orders) and got[country][2] == pytest.approx(revenue, rel=1e-12)
    assert table["country"][0] == "United Kingdom" and table["customers"][0] == 3_921
    assert table["customers"].is_sorted(descending=True)
    assert table["revenue_share"].sum() == pytest.approx(1.0) and table["order_share"].sum() == pytest.approx(1.0)
    assert g.customers_total == 4_339 and g.customers_covered == 4_339
    several = online_retail_clean.group_by("customer_id").agg(pl.col("country").n_unique()).filter(pl.col("country") > 1)
    assert g.customers_in_several == several.height
    assert g.describe().startswith("Country is known for 4,339 of 4,339 customers (100.0%); the largest group, "
                                   "United Kingdom, has 90.4% of the customers and 82.0% of the revenue")
    # the five biggest by revenue and the rest merged: totals unchanged, customers counted once in "Others"
    top = geography(online_retail_clean, top_n=5, language="zh").to_frame()
    assert top.height == 6 and top["country"][-1] == "其他"
    assert top["revenue"].sum() == pytest.approx(table["revenue"].sum())
    rest = online_retail_clean.filter(~pl.col("country").is_in(top["country"].head(5).implode()))
    assert top["customers"][-1] == rest["customer_id"].n_unique()


@pytest.fixture(scope="module")
def ta_feng_file():
    from conftest import shared_file

    return shared_file("ta_feng", "ta_feng.parquet")


def test_demographics_of_ta_feng_age_groups_and_areas(ta_feng_file):
    raw = pl.read_parquet(ta_feng_file)
    people = validate(raw.select(customer_id="CUSTOMER_ID", age="AGE_GROUP", region="PIN_CODE").unique("customer_id"),
                      "customers")
    tx = raw.select(customer_id="CUSTOMER_ID", order_id=pl.concat_str("CUSTOMER_ID", pl.col("TRANSACTION_DT").cast(pl.String)),
                    amount=pl.col("SALES_PRICE").cast(pl.Float64))
    p = portrait(tx, people)
    assert [b.attribute for b in p.breakdowns] == ["region", "age"]
    age = p["age"]
    assert age.customers_total == 32_266 and age.customers_total - age.customers_covered == 626
    table = age.to_frame()
    assert table["age_band"].to_list() == ["<25", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54", "55-59",
                                           "60-64", ">65", "(unknown)"]
    direct = dict(raw.group_by("AGE_GROUP").agg(pl.col("CUSTOMER_ID").n_unique()).iter_rows())
    assert dict(zip(table["age_band"], table["customers"], strict=True)) == {
        (k if k is not None else "(unknown)"): v for k, v in direct.items()}
    assert table["revenue"].sum() == pytest.approx(107_840_076)
    region = p["region"].to_frame()
    assert region["customers"].sum() == 32_266  # each customer has one PIN_CODE
    assert dict(zip(region["region"], region["customers"], strict=True))["Unknown"] == 1_453
    assert p.summary["coverage"].to_list() == pytest.approx([1.0, 31_640 / 32_266])


def test_synthetic_shop_city_tiers_come_back():
    from custlab.synthetic import make_shop

    shop = make_shop(3000, seed=2)
    p = portrait(shop.transactions, shop.customers)
    assert [b.attribute for b in p.breakdowns] == ["region", "age", "gender", "occupation", "acquisition_channel"]
    tiers = geography(shop.transactions, shop.customers, by="city_tier")
    assert tiers.source == "customers" and tiers.coverage == 1.0
    shares = dict(zip(tiers.to_frame()["city_tier"], tiers.to_frame()["customer_share"], strict=True))
    for tier, share in shop.truth["customers"]["city_tiers"].items():
        assert shares[tier] == pytest.approx(share, abs=1 / 3000)  # exact counts, to rounding
    revenue = dict(zip(tiers.to_frame()["city_tier"], tiers.to_frame()["revenue_share"], strict=True))
    assert revenue["tier1"] + revenue["new_tier1"] == pytest.approx(0.65, abs=2e-3)
    zh = geography(shop.transactions, shop.customers, by="city_tier", language="zh")
    assert set(zh.to_frame()["city_tier"]) == {"一线城市", "新一线城市", "二线城市", "三线及以下城市"}
    assert zh.describe().startswith("已知城市等级的客户 3,000 位, 共 3,000 位 (100.0%)")
    genders = dict(zip(*demographics(shop.transactions, shop.customers, attributes=["gender"],
                                     language="zh")[0].to_frame().select("gender", "customers")))
    assert set(genders) == {"男", "女"}


def test_age_and_income_numbers_are_banded():
    people = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5], "age": [19.0, 27.0, 33.0, 61.0, None],
                           "income": [1000.0, 2000.0, 3000.0, 4000.0, 5000.0]})
    age, income = demographics(_tx(), people, attributes=["age", "income"])
    assert age.to_frame().select("age_band", "customers").rows() == [("<25", 1), ("25-29", 1), ("30-34", 1),
                                                                     ("50+", 1)]
    assert age.customers_covered == 4 and age.customers_total == 4
    assert income.to_frame()["income_band"].to_list() == ["1,000-2,000", "2,000-3,000", "3,000-4,000"]
    assert income.to_frame()["customers"].sum() == 4


def test_buyers_missing_from_the_customers_table_are_unknown():
    people = pl.DataFrame({"customer_id": [1, 2], "region": ["east", None]})
    g = geography(_tx(), people)
    assert g.to_frame().select("region", "customers", "revenue").rows() == [("east", 1, 30.0), ("(unknown)", 3, 170.0)]
    assert (g.customers_covered, g.customers_total) == (1, 4)
    assert "None" not in repr(g.to_frame().rows()) and "nan" not in repr(g.to_frame().rows())


def test_portrait_errors_name_the_fix():
    with pytest.raises(SchemaError, match=r"No place column for a geography: looked for \['country', 'region'"):
        geography(_tx())
    with pytest.raises(CustlabError, match="more than once"):
        geography(_tx(), pl.DataFrame({"customer_id": [1, 1], "region": ["a", "b"]}))
    with pytest.raises(CustlabError, match="customers.customer_id is String but the transactions' customer_id is Int64"):
        geography(_tx(), pl.DataFrame({"customer_id": ["1"], "region": ["a"]}))
    with pytest.raises(CustlabError, match="top_n must be None or a whole number"):
        geography(_tx(country=["a"] * 5), top_n=0)
    assert repr(portrait(_tx())) == "Portrait(4 customers; breakdowns: none)"
