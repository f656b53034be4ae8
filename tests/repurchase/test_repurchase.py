"""Repurchase frame, cycles and reminders exactly on small data; planted cycles of the synthetic shop."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from custlab import repurchase
from custlab.churn import ChurnDataWarning
from custlab.exceptions import SchemaError
from tests.churn.helpers import _cycle_tx


def test_planted_repurchase_cycles_come_back(shop):
    planted = shop.truth["repurchase_cycle_days"]
    end = shop.truth["period"]["end"]
    cycles = repurchase.repurchase_cycles(shop.transactions, by="category", as_of=end)
    medians = dict(zip(cycles["category"].to_list(), cycles["median_days"].to_list(), strict=True))
    formula = shop.transactions.filter(pl.col("product_name") == "baby_formula")
    medians["baby_formula"] = repurchase.repurchase_cycles(formula, by="product_name", as_of=end)["median_days"][0]
    for name, days in planted.items():
        assert medians[name] == pytest.approx(days, rel=0.10), name


# ---------------------------------------------------------------------------
# Repurchase cycles and reminders (exact on small data)
# ---------------------------------------------------------------------------


def test_inter_purchase_times_by_category_and_overall():
    by_cat = repurchase.inter_purchase_times(_cycle_tx(), by="category").sort("customer_id", "category", "purchase_date")
    assert by_cat.select("customer_id", "category", "gap_days").rows() == [
        (1, "cream", 9), (1, "cream", 16), (1, "cream", 25), (2, "food", 10),
    ]
    overall = repurchase.inter_purchase_times(_cycle_tx())
    assert overall["gap_days"].to_list() == [9, 16, 25, 10, 10]


def test_repurchase_cycles_quartiles_match_numpy():
    cycles = repurchase.repurchase_cycles(_cycle_tx(), by=None)
    gaps = np.array([9, 16, 25, 10, 10], dtype=float)
    row = cycles.row(0, named=True)
    assert row["group"] == "all" and (row["customers"], row["gaps"]) == (2, 5)
    assert (row["median_days"], row["q1_days"], row["q3_days"]) == (
        np.median(gaps), np.quantile(gaps, 0.25), np.quantile(gaps, 0.75))
    assert row["mean_days"] == pytest.approx(gaps.mean())


def test_the_default_grouping_falls_back_to_the_product_without_a_category():
    # Audit: Online Retail has no category, and the defaults failed with "by='category' is neither ... Pass
    # customers= or segments=" although the user never passed by=.
    tx = _cycle_tx().rename({"category": "product_id"})
    cycles = repurchase.repurchase_cycles(tx)
    assert_frame_equal(cycles, repurchase.repurchase_cycles(tx, by="product_id"))
    assert cycles.columns[0] == "product_id" and set(cycles["product_id"]) == {"cream", "food"}
    due = repurchase.next_purchase_due(tx, as_of="2024-03-01")
    assert_frame_equal(due, repurchase.next_purchase_due(tx, by="product_id", as_of="2024-03-01"))
    # with a category (in the transactions, or a customer attribute of that name) the default is the category
    assert repurchase.repurchase_cycles(_cycle_tx()).columns[0] == "category"
    people = pl.DataFrame({"customer_id": [1, 2, 3], "category": ["vip", "new", "new"]})
    assert repurchase.repurchase_cycles(tx, customers=people).columns[0] == "category"
    # without a product either, the message says what to pass
    with pytest.raises(SchemaError, match=re.escape(
            "Pass by=None for one cycle over all purchases, another column of the transactions, or customers= / "
            "segments= to group by customer attributes.")):
        repurchase.next_purchase_due(tx.drop("product_id"))
    with pytest.raises(SchemaError, match=re.escape('Pass by="product_id" for the cycle of each product, by=None')):
        repurchase.repurchase_cycles(tx, by="colour")


def test_the_default_grouping_on_online_retail(online_retail_clean):
    assert "category" not in online_retail_clean.columns
    due = repurchase.next_purchase_due(online_retail_clean)
    assert due.columns[:2] == ["customer_id", "product_id"] and due.height > 0
    cycles = repurchase.repurchase_cycles(online_retail_clean)
    assert cycles.columns[0] == "product_id" and cycles["gaps"].sum() == due["own_gaps"].sum()


def test_repurchase_cycles_by_customer_group():
    customers = pl.DataFrame({"customer_id": [1, 2], "city_tier": ["tier1", "tier2"]})
    cycles = repurchase.repurchase_cycles(_cycle_tx(), by="city_tier", customers=customers)
    assert dict(cycles.select("city_tier", "median_days").rows()) == {"tier1": 16.0, "tier2": 10.0}
    with pytest.raises(SchemaError, match=re.escape("by='tier' is neither a transactions column")):
        repurchase.repurchase_cycles(_cycle_tx(), by="tier", customers=customers)


def test_next_purchase_due_dates_and_reminders():
    due = repurchase.next_purchase_due(_cycle_tx(), by="category", as_of="2024-03-01", remind_days_before=15)
    rows = {(r["customer_id"], r["category"]): r for r in due.iter_rows(named=True)}
    cream1 = rows[(1, "cream")]  # own gaps 9, 16, 25: median 16 from the last purchase on 2024-02-20
    assert (cream1["own_gaps"], cream1["cycle_days"], cream1["cycle_source"]) == (3, 16.0, "customer")
    assert (cream1["due_date"], cream1["remind_date"]) == (dt.date(2024, 3, 7), dt.date(2024, 2, 21))
    assert (cream1["days_until_due"], cream1["status"]) == (6, "remind now")
    cream2 = rows[(2, "cream")]  # no gap of its own: the cream median of all customers, 16
    assert (cream2["cycle_source"], cream2["due_date"], cream2["status"]) == ("group", dt.date(2024, 2, 17), "overdue")
    food1 = rows[(1, "food")]  # one purchase; food median (10) from customer 2
    assert (food1["due_date"], food1["status"]) == (dt.date(2024, 1, 20), "overdue")
    missing = rows[(3, "(missing)")]  # no cycle anywhere for the missing category
    assert (missing["cycle_days"], missing["due_date"], missing["status"]) == (None, None, "no cycle yet")
    assert due["status"].to_list()[0] == "remind now" and due["status"].to_list()[-1] == "no cycle yet"
    zh = repurchase.next_purchase_due(_cycle_tx(), by="category", as_of="2024-03-01", language="zh")
    assert set(zh["status"].to_list()) == {"立即提醒", "已逾期", "暂无周期"}
    with pytest.warns(ChurnDataWarning, match="2 dated at or after as_of=2024-02-21"):
        later = repurchase.next_purchase_due(_cycle_tx(), by="category", as_of="2024-02-21", remind_days_before=0)
    assert later.filter(pl.col("customer_id") == 1, pl.col("category") == "cream")["status"].item() == "upcoming"


# ---------------------------------------------------------------------------


def test_repurchase_frame_rows():
    gaps = repurchase.repurchase_frame(_cycle_tx(), as_of="2024-03-01")
    one = gaps.filter(pl.col("customer_id") == 1)
    assert one.select("purchase_number", "days_since_first", "gap_days", "repurchased", "orders").rows() == [
        (1, 0, 9, True, 1), (2, 9, 16, True, 2), (3, 25, 25, True, 1), (4, 50, 10, False, 1),
    ]
    assert one["first_category"].unique().to_list() == ["cream"]


def test_inter_purchase_plot_boxes_are_the_cycle_quartiles():
    tx = _cycle_tx()
    gaps = repurchase.inter_purchase_times(tx, by="category")
    ax = repurchase.plot_inter_purchase_times(gaps, by="category").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cream (3 gaps)", "food (1 gaps)"]
    cycles = repurchase.repurchase_cycles(tx, by="category")
    medians = [line.get_xdata()[0] for line in ax.get_lines() if line.get_gid() == "median"]
    assert medians == cycles.sort("median_days", descending=True)["median_days"].to_list()


def test_inter_purchase_plot_in_chinese_on_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    gaps = repurchase.inter_purchase_times(_cycle_tx(), by="category")
    assert repurchase.plot_inter_purchase_times(gaps, by="category", ax=ax, language="zh", max_days=20) is fig
    from custlab._i18n import label

    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{label(c, 'zh')}（{n} 个间隔）"
                                                           for c, n in (("cream", 3), ("food", 1))]
    assert ax.get_xlabel() == "两次购买间隔天数" and ax.get_xlim()[1] == 20


def test_order_values_do_not_depend_on_the_order_of_the_lines():
    from tests.churn.test_frames import _order_lines

    tx = _order_lines(n_orders=20_000)
    want = repurchase.repurchase_frame(tx)
    for seed in (1, 2, 3):  # lines summed in another order: the same bits (whole millionths)
        got = repurchase.repurchase_frame(tx.sample(fraction=1.0, shuffle=True, seed=seed))
        assert got.equals(want)
