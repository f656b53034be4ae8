"""The synthetic shop's planted preferences come back: formula -> stroller, cosmetics -> personal care."""

from __future__ import annotations

import polars as pl
import pytest

from custlab.recommend import Complements, interaction_matrix, recommend


def _who(tx: pl.DataFrame) -> pl.DataFrame:
    return tx.group_by("customer_id").agg(
        cosmetics=(pl.col("category") == "cosmetics").any(), care=(pl.col("category") == "personal_care").any(),
        formula=(pl.col("product_name") == "baby_formula").any(), stroller=(pl.col("product_name") == "stroller").any())


def test_sequential_rule_recovers_the_planted_share(shop):
    rules = Complements().fit(interaction_matrix(shop.transactions)).rules_
    rule = rules.filter(pl.col("antecedent") == "BAB-BABY_FORMULA", pl.col("consequent") == "BAB-STROLLER")
    assert rule.height == 1
    assert rule["confidence"][0] == pytest.approx(0.5, abs=0.05)  # planted: 50% within 90 days
    assert rule["lift"][0] > 5


@pytest.mark.parametrize(("model", "share"), [("knn", 0.9), ("complements", 0.9), ("ease", 0.8)])
def test_formula_buyers_are_offered_a_stroller(shop, model, share):
    tx = shop.transactions
    out = recommend(tx, k=5, model=model, replenish=False)
    got = out.group_by("customer_id").agg(stroller_offered=(pl.col("product_id") == "BAB-STROLLER").any())
    who = _who(tx).join(got, on="customer_id")
    target = who.filter(pl.col("formula"), ~pl.col("stroller"))["stroller_offered"].mean()
    others = who.filter(~pl.col("formula"), ~pl.col("stroller"))["stroller_offered"].mean()
    assert target >= share and others <= 0.05  # EASE: 91% measured


@pytest.mark.parametrize("model", ["knn", "ease", "default"])
def test_cosmetics_buyers_are_offered_personal_care(shop, model):
    tx = shop.transactions
    out = recommend(tx, k=5, model=model, replenish=False)
    care = tx.filter(pl.col("category") == "personal_care")["product_id"].unique()
    got = out.group_by("customer_id").agg(care_items=pl.col("product_id").is_in(care.implode()).sum())
    who = _who(tx).join(got, on="customer_id").filter(~pl.col("care"))
    cosmetics = who.filter(pl.col("cosmetics"))["care_items"].mean()
    others = who.filter(~pl.col("cosmetics"))["care_items"].mean()
    assert cosmetics > 2.5 * others
