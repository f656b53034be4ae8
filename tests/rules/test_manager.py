"""Rules for managers: product variants grouped, one rule per set of products, across first."""

from __future__ import annotations

import polars as pl
import pytest

from custlab import rules as R
from custlab.exceptions import CustlabError


@pytest.fixture(scope="module")
def retail_manager(online_retail_clean):
    return R.manager_rules(online_retail_clean, min_support=0.01, min_confidence=0.4, min_lift=1.5, top_n=10)


def test_regency_tea_plates_are_one_family(retail_manager):
    plates = retail_manager.families.filter(pl.col("family") == "REGENCY TEA PLATE")
    assert sorted(plates["item"].to_list()) == ["REGENCY TEA PLATE GREEN", "REGENCY TEA PLATE PINK",
                                                "REGENCY TEA PLATE ROSES"]
    assert plates["n_variants"].to_list() == [3, 3, 3]
    # A product alone keeps its whole name, colour included.
    alone = retail_manager.families.filter(pl.col("item") == "REGENCY SUGAR BOWL GREEN")
    assert alone["family"].item() == "REGENCY SUGAR BOWL GREEN" and alone["n_variants"].item() == 1


def test_no_rule_between_variants_and_one_rule_per_set(retail_manager, online_retail_clean):
    everything = retail_manager.all_rules
    family_of = dict(retail_manager.families.select("item", "family").iter_rows())
    members = {f for f in family_of.values()}
    for row in everything.iter_rows(named=True):
        assert not set(row["antecedent"]) & set(row["consequent"])
        assert set(row["antecedent"]) | set(row["consequent"]) <= members
    sets = everything.select(pl.concat_list("antecedent", "consequent").list.sort())
    assert sets.n_unique() == everything.height
    # The strongest item-level rule of the shop (pink => green tea plate, lift 62) links two variants.
    item_rules = R.association_rules(
        R.frequent_itemsets(R.baskets(online_retail_clean, item="product_name"), min_support=0.01, max_len=2),
        min_confidence=0.4)
    top = item_rules.row(0, named=True)
    assert family_of[top["antecedent"][0]] == family_of[top["consequent"][0]] == "REGENCY TEA PLATE"
    assert retail_manager.rules.height == 10 and everything.height > 10
    assert retail_manager.rules.equals(everything.head(10))


def test_family_rule_counts_baskets_holding_any_variant(retail_manager, online_retail_clean):
    row = retail_manager.rules.row(0, named=True)
    assert row["across"] == "across products"
    family = retail_manager.families.select(pl.col("item").alias("product_name"), "family")
    lines = online_retail_clean.join(family, on="product_name").select("order_id", "family", "product_id")
    has = lines.group_by("order_id").agg(pl.col("family"))
    n = has.height

    def holding(sides: list[str]) -> int:
        return has.filter(pl.all_horizontal([pl.col("family").list.contains(f) for f in sides])).height

    both = holding(row["antecedent"] + row["consequent"])
    assert row["count"] == both
    assert row["support"] == pytest.approx(both / n, rel=1e-12)
    assert row["confidence"] == pytest.approx(both / holding(row["antecedent"]), rel=1e-12)
    assert row["lift"] == pytest.approx(row["confidence"] / (holding(row["consequent"]) / n), rel=1e-12)
    codes = lines.filter(pl.col("family").is_in(row["antecedent"]))["product_id"].cast(pl.String).unique().sort()
    assert row["antecedent_codes"] == codes.to_list()
    assert row["text"].startswith(f"{row['confidence']:.0%} of the baskets with {' + '.join(row['antecedent'])}")


def test_related_products_rank_after_other_products(retail_manager):
    order = retail_manager.all_rules["across"].to_list()
    assert "related products" in order and "across products" in order
    assert order.index("related products") > max(i for i, v in enumerate(order) if v == "across products")
    cushions = retail_manager.all_rules.filter(
        pl.col("antecedent").list.first().str.starts_with("FELTCRAFT CUSHION"),
        pl.col("consequent").list.first().str.starts_with("FELTCRAFT CUSHION"))
    assert cushions.height >= 1 and set(cushions["across"]) == {"related products"}
    summary = retail_manager.summary
    assert summary["rules"].sum() == retail_manager.all_rules.height and summary["shown"].sum() == 10
    top = retail_manager.rules.row(0, named=True)  # the top rule, across products (a REGENCY pair is related)
    assert top["antecedent"][0] in repr(retail_manager) and "shown of" in repr(retail_manager)


def test_rules_across_categories_come_first_in_chinese():
    tx = pl.DataFrame({
        "order_id": [1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5],
        "product_name": ["tea red", "tea green", "cup", "tea red", "cup", "mug", "cup", "mug", "tea red", "mug",
                         "cup", "mug"],
        "product_id": ["T1", "T2", "C1", "T1", "C1", "M1", "C1", "M1", "T1", "M1", "C1", "M1"],
        "category": ["drinks", "drinks", "kitchen", "drinks", "kitchen", "kitchen", "kitchen", "kitchen", "drinks",
                     "kitchen", "kitchen", "kitchen"],
    })
    found = R.manager_rules(tx, min_support=0.2, min_confidence=0.3, min_lift=0.0, language="zh")
    assert found.rules["across"].to_list()[0] == "跨品类"
    assert set(found.rules["across"]) <= {"跨品类", "跨商品", "相关商品"}
    assert found.rules["text"][0].endswith("倍)。")
    assert dict(found.families.select("item", "family").iter_rows())["tea green"] == "tea"


def test_a_rule_table_is_collapsed_to_families():
    rules = pl.DataFrame({
        "antecedent": [["TEA PLATE PINK"], ["TEA PLATE GREEN"], ["TEA PLATE PINK"], ["SUGAR BOWL"]],
        "consequent": [["TEA PLATE GREEN"], ["SUGAR BOWL"], ["SUGAR BOWL"], ["TEA PLATE PINK"]],
        "support": [0.3, 0.2, 0.25, 0.25], "confidence": [0.9, 0.5, 0.6, 0.7], "lift": [3.0, 2.0, 2.2, 2.2],
        "count": [30, 20, 25, 25],
    })
    found = R.manager_rules(rules, min_lift=1.0)
    assert found.all_rules.select("antecedent", "consequent", "confidence").rows() == [
        (["SUGAR BOWL"], ["TEA PLATE"], 0.7)]
    assert found.rules["antecedent_codes"].to_list() == [[]]  # a rule table carries no codes


def test_manager_rules_arguments():
    tx = pl.DataFrame({"order_id": [1], "product_name": ["a"]})
    with pytest.raises(CustlabError, match="metric must be 'lift', 'confidence', 'support' or 'count', got 'score'"):
        R.manager_rules(tx, metric="score")
    with pytest.raises(CustlabError, match="top_n must be an integer >= 1, got 0"):
        R.manager_rules(tx, top_n=0)
    with pytest.raises(CustlabError, match="item='name' is not a column"):
        R.manager_rules(tx, item="name")
