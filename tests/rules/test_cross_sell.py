"""Cross-sell suggestions."""

from __future__ import annotations

import polars as pl
import pytest

from custlab import rules as R
from custlab.exceptions import CustlabError, SchemaError

# --------------------------------------------------------------------------- cross-sell


def test_cross_sell_by_hand():
    rules = pl.DataFrame({
        "antecedent": [["tea"], ["tea", "cup"], ["cake"], []],
        "consequent": [["cup"], ["saucer"], ["cup"], ["milk"]],
        "support": [0.2, 0.1, 0.1, 0.5], "confidence": [0.6, 0.5, 0.9, 0.5], "lift": [2.0, 3.0, 2.5, 1.0],
    })
    history = pl.DataFrame({"customer_id": [1, 2, 2, 3, 3, 4], "item": ["tea", "tea", "cup", "tea", "cake", "milk"]})
    out = R.cross_sell(rules, history, top_n=2)
    got = {(r[0], r[1]): (r[2], r[3], r[4]) for r in
           out.select("customer_id", "rank", "item", "lift", "antecedent").iter_rows()}
    assert got == {
        (1, 1): ("cup", 2.0, ["tea"]), (1, 2): ("milk", 1.0, []),  # cup via tea; milk for everyone
        (2, 1): ("saucer", 3.0, ["tea", "cup"]), (2, 2): ("milk", 1.0, []),  # owns the cup already
        (3, 1): ("cup", 2.5, ["cake"]), (3, 2): ("milk", 1.0, []),  # best of two rules for cup
    }  # customer 4 bought milk and fires nothing else
    assert out.columns == ["customer_id", "rank", "item", "support", "confidence", "lift", "antecedent",
                           "consequent", "reason"]  # no column repeats another
    reasons = dict(zip(zip(out["customer_id"], out["rank"]), out["reason"]))
    assert reasons[(2, 1)] == "Bought tea + cup; 50% of such baskets also hold saucer (3.0 times the usual rate)."
    assert reasons[(1, 2)] == "50% of all baskets hold milk."
    zh = R.cross_sell(rules, history, top_n=2, language="zh")
    assert zh["reason"][0] == "已购买tea；此类购物篮中有 60% 同时含有cup（是平常比例的 2.0 倍）。"  # full-width, as Chinese text
    top1 = R.cross_sell(rules, history, top_n=1, metric="confidence")
    assert top1.filter(pl.col("customer_id") == 1)["item"].to_list() == ["cup"]
    with pytest.raises(CustlabError, match=r"top_n must be an integer >= 1, got 0"):
        R.cross_sell(rules, history, top_n=0)


def test_cross_sell_never_suggests_what_was_bought(shop):
    b = R.baskets(shop.transactions, item="category")
    rules = R.association_rules(R.frequent_itemsets(b, min_support=0.005), min_confidence=0.2)
    out = R.cross_sell(rules, b, top_n=3)
    assert out.height > 0 and out.group_by("customer_id").len()["len"].max() <= 3
    bought = b.select("customer_id", "item").unique()
    assert out.join(bought, on=["customer_id", "item"]).height == 0
    fired = out.select("customer_id", pl.col("antecedent").alias("item")).explode("item").drop_nulls()
    assert fired.join(bought, on=["customer_id", "item"], how="anti").height == 0




def test_cross_sell_puts_product_codes_beside_names_and_keeps_other_metrics():
    rules = pl.DataFrame({"antecedent": [["tea"]], "consequent": [["cup"]], "support": [0.2],
                          "confidence": [0.6], "lift": [2.0], "leverage": [0.05]})
    history = pl.DataFrame({"customer_id": [1], "item": ["tea"]})
    lines = pl.DataFrame({"product_name": ["tea", "cup", "cup", "cup"], "product_id": [10, 22, 21, 22]})
    out = R.cross_sell(rules, history, products=lines.rename({"product_name": "item"}), metric="leverage")
    assert out.columns[:4] == ["customer_id", "rank", "item", "item_code"]
    assert out["item_code"].to_list() == ["21 / 22"]  # a name sold under two codes keeps both, as text
    assert out["leverage"].to_list() == [0.05] and "score" not in out.columns
    with pytest.raises(SchemaError, match="product_id"):
        R.cross_sell(rules, history, products=lines.rename({"product_name": "item"}).drop("product_id"))
