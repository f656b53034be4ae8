"""Cleaning: every removed row has one reason, and the counts reconcile."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custlab.data.clean import RULES, clean_transactions
from custlab.exceptions import CustlabError


def _tx() -> pl.DataFrame:
    d = dt.datetime
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 2, None, 3, 3, 4, 5, 6, 6],
            "order_id": ["1", "C1", "2", "3", "4", "5", "6", "7", "8", "8"],
            "order_date": [d(2024, 1, 1), d(2024, 1, 2), d(2024, 1, 3), d(2024, 1, 4), d(2024, 1, 5),
                           d(2024, 1, 6), d(2024, 1, 7), d(2024, 3, 1), d(2024, 1, 8), d(2024, 1, 8)],
            "amount": [10.0, -10.0, -4.0, 7.0, 0.0, 5.0, 9.0, 6.0, 3.0, 3.0],
            "quantity": [1.0, -1.0, -2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
            "unit_price": [10.0, 10.0, 2.0, 7.0, 0.0, 5.0, 9.0, 6.0, 3.0, 3.0],
            "product_id": ["A", "A", "B", "C", "D", "POST", " E ", "F", "G", "G"],
        }
    )


def test_each_rule_and_the_reconciliation():
    clean, report = clean_transactions(_tx(), as_of="2024-02-01")
    removed = dict(report.removed.select("reason", "rows").iter_rows())
    # order 1 (customer 1, product A, 1 x 10.0) is undone by C1 of the same customer, product, quantity and price
    assert removed == {
        "invalid_amount": 0, "cancelled": 1, "returned": 1, "reversed": 1, "missing_customer": 1, "missing_value": 0,
        "non_positive_price": 1, "non_product": 1, "outlying_date": 0, "after_as_of": 1, "duplicate": 1,
    }
    assert clean["order_id"].to_list() == ["6", "8"]
    assert report.rows_in == 10 and report.rows_kept == 2 and report.reconciles
    assert report.removed_rows.height == 8
    assert set(report.removed_rows["reason"]) == set(removed) - {"missing_value", "invalid_amount", "outlying_date"}
    assert report.reversed_pairs.select("order_id", "reversal_order_id").rows() == [("1", "C1")]
    assert dict(report.changed.select("change", "rows").iter_rows()) == {"trimmed_whitespace": 1}
    assert clean.filter(pl.col("order_id") == "6")["product_id"].item() == "E"


def test_first_matching_rule_wins():
    # a cancelled line without a customer counts as cancelled, once
    tx = _tx().with_columns(customer_id=pl.when(pl.col("order_id") == "C1").then(None).otherwise(pl.col("customer_id")))
    _, report = clean_transactions(tx, rules=("cancelled", "missing_customer"))
    assert dict(report.removed.select("reason", "rows").iter_rows()) == {"cancelled": 1, "missing_customer": 1}


def test_rules_not_applicable_are_not_listed():
    _, report = clean_transactions(_tx().drop("product_id"))
    assert "non_product" not in report.removed["reason"].to_list()
    assert "after_as_of" not in report.removed["reason"].to_list()


def test_lazy_in_lazy_out():
    clean, report = clean_transactions(_tx().lazy(), as_of=dt.date(2024, 2, 1))
    assert isinstance(clean, pl.LazyFrame)
    assert clean.collect().height == report.rows_kept == 2


def test_report_text_and_dict():
    _, report = clean_transactions(_tx(), as_of="2024-02-01")
    text = str(report)
    assert text.startswith("10 lines in, 2 kept, 8 removed (analysis date 2024-02-01)")
    assert "- non_product: 1 lines (10.00%)" in text
    assert report.to_dict()["rows_removed"] == 8


def test_bad_arguments():
    with pytest.raises(CustlabError, match=re.escape("Unknown cleaning rule(s) ['typos']; choose from")):
        clean_transactions(_tx(), rules=("typos",))
    with pytest.raises(CustlabError, match=re.escape("as_of must be a date such as '2011-12-10', got 'last week'.")):
        clean_transactions(_tx(), as_of="last week")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 5)), st.integers(-2, 3), st.sampled_from(["A", "POST", "B"])),
                min_size=1, max_size=40))
def test_rows_in_equal_rows_kept_plus_removed(rows):
    assume(any(r[0] is not None for r in rows))  # an all-null customer column is refused by validation
    tx = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_id": [str(i % 7) for i in range(len(rows))],
            "order_date": [dt.datetime(2024, 1, 1 + i % 20) for i in range(len(rows))],
            "amount": [float(r[1]) for r in rows],
            "quantity": [float(r[1]) for r in rows],
            "product_id": [r[2] for r in rows],
        },
        schema_overrides={"customer_id": pl.Int64},
    )
    clean, report = clean_transactions(tx, as_of="2024-01-15")
    assert report.reconciles
    assert clean.height + report.removed_rows.height == tx.height
    assert set(report.removed["reason"]) <= set(RULES)


def test_online_retail_published_figures(online_retail):
    assert online_retail.height == 541_909
    clean, report = clean_transactions(online_retail, rules=("cancelled", "returned", "missing_customer"))
    assert report.reconciles
    assert clean["customer_id"].n_unique() == 4_339
    assert clean["order_id"].n_unique() == 18_536
    assert clean["product_id"].n_unique() == 3_665
    removed = dict(report.removed.select("reason", "rows").iter_rows())
    assert removed["cancelled"] == 9_288
    # 1,336 negative-quantity lines that are not cancellations, plus two negative bad-debt adjustments
    assert removed["returned"] == 1_338


def test_online_retail_duplicates_and_full_cleaning(online_retail):
    _, dup = clean_transactions(online_retail, rules=("duplicate",))
    assert dict(dup.removed.select("reason", "rows").iter_rows()) == {"duplicate": 5_268}
    clean, report = clean_transactions(online_retail, as_of="2011-12-10")
    assert report.reconciles and report.rows_kept == clean.height
    assert clean.filter(pl.col("product_id").is_in(["POST", "DOT", "M", "B"])).height == 0
    assert clean["amount"].min() > 0


def test_rules_see_trimmed_text():
    d = dt.datetime(2024, 1, 1)
    tx = pl.DataFrame({"customer_id": [1, 1, 2], "order_id": ["1", "1", "2"], "order_date": [d, d, d],
                       "amount": [5.0, 5.0, 4.0], "product_id": ["A", "A ", " POST"]})
    clean, report = clean_transactions(tx)
    removed = dict(report.removed.select("reason", "rows").iter_rows())
    assert removed["duplicate"] == 1 and removed["non_product"] == 1
    assert clean["product_id"].to_list() == ["A"]


# --- cancellations and returns matched to the purchases they undo (issue 13) ----------------------------------

def _lines(rows):
    """(customer, order, day, quantity, price, product) rows as transactions."""
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows], "order_id": [r[1] for r in rows],
            "order_date": [dt.datetime(2024, 1, 1) + dt.timedelta(hours=r[2]) for r in rows],
            "quantity": [float(r[3]) for r in rows], "unit_price": [float(r[4]) for r in rows],
            "amount": [float(r[3] * r[4]) for r in rows], "product_id": [r[5] for r in rows],
        },
        schema_overrides={"customer_id": pl.Int64},
    )


def test_a_cancellation_takes_the_latest_earlier_purchase_once():
    tx = _lines([
        (1, "10", 0, 2, 5.0, "A"), (1, "11", 5, 2, 5.0, "A"),  # two identical purchases
        (1, "C12", 6, -2, 5.0, "A"),  # undoes "11" only
        (1, "13", 7, 3, 5.0, "A"), (1, "C14", 8, -1, 5.0, "A"),  # a partial return: nothing paired
        (1, "C15", 1, -4, 2.0, "B"), (1, "16", 2, 4, 2.0, "B"),  # a cancellation before the purchase: no pair
        (2, "17", 3, 1, 9.0, "A"), (2, "C18", 3, -1, 9.0, "A"),  # same instant: paired
        (3, "19", 4, 1, 9.0, "A"), (2, "C20", 9, -1, 8.0, "A"),  # other customer / other price: no pair
    ])
    clean, report = clean_transactions(tx, rules=("cancelled", "returned", "reversed"))
    assert report.reversed_pairs.select("order_id", "reversal_order_id").rows() == [("17", "C18"), ("11", "C12")]
    assert sorted(clean["order_id"].to_list()) == ["10", "13", "16", "19"]
    removed = dict(report.removed.select("reason", "rows").iter_rows())
    assert removed == {"cancelled": 5, "returned": 0, "reversed": 2}
    assert report.reconciles


def test_returns_without_a_cancellation_mark_also_reverse():
    tx = _lines([(1, "1", 0, 2, 5.0, "A"), (1, "2", 3, -2, 5.0, "A")])
    clean, report = clean_transactions(tx, rules=("returned", "reversed"))
    assert clean.height == 0 and dict(report.removed.select("reason", "rows").iter_rows()) == {
        "returned": 1, "reversed": 1}


def test_reversed_needs_the_rule_that_removes_the_reversing_line():
    tx = _lines([(1, "1", 0, 2, 5.0, "A"), (1, "C2", 3, -2, 5.0, "A")])
    _, report = clean_transactions(tx, rules=("reversed", "missing_customer"))
    assert "reversed" not in report.removed["reason"].to_list() and report.reversed_pairs is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 3), st.integers(0, 30), st.sampled_from([-2, -1, 1, 2]),
                          st.sampled_from([1.0, 2.0]), st.sampled_from(["A", "B"])), min_size=1, max_size=40))
def test_reversed_pairs_match_on_every_key_and_use_each_line_once(rows):
    tx = _lines([(c, ("C" if q < 0 else "") + str(i), h, q, p, prod) for i, (c, h, q, p, prod) in enumerate(rows)])
    clean, report = clean_transactions(tx, rules=("cancelled", "returned", "reversed"))
    pairs = report.reversed_pairs.join(tx.select("order_id", "customer_id", "product_id", "quantity", "unit_price",
                                                 "order_date").rename(lambda c: "r_" + c),
                                       left_on="reversal_order_id", right_on="r_order_id")
    assert (pairs["customer_id"] == pairs["r_customer_id"]).all()
    assert (pairs["product_id"] == pairs["r_product_id"]).all()
    assert (pairs["quantity"] == -pairs["r_quantity"]).all() and (pairs["unit_price"] == pairs["r_unit_price"]).all()
    assert (pairs["order_date"] <= pairs["r_order_date"]).all()
    assert pairs["order_id"].is_unique().all() and pairs["reversal_order_id"].is_unique().all()
    assert report.reconciles and clean.height + report.removed_rows.height == tx.height


def test_a_cancellation_after_the_analysis_date_undoes_nothing_yet():
    """As of 2024-02-01 the cancellation of 2024-02-03 has not happened: the purchase stays, so the month's figures
    are the same whether or not the data reach beyond it."""
    tx = _lines([(1, "1", 0, 2, 5.0, "A"), (1, "C2", 24 * 33, -2, 5.0, "A")])
    as_of = dt.datetime(2024, 2, 1)
    clean, report = clean_transactions(tx, as_of=as_of)
    assert clean["order_id"].to_list() == ["1"] and report.reversed_pairs.height == 0
    assert dict(report.removed.filter(pl.col("rows") > 0).select("reason", "rows").iter_rows()) == {"cancelled": 1}
    cut, _ = clean_transactions(tx.filter(pl.col("order_date") < as_of), as_of=as_of)
    assert cut.equals(clean)
    later, _ = clean_transactions(tx)  # with the cancellation in the past, the purchase is undone
    assert later.height == 0


def test_a_month_of_online_retail_does_not_change_when_later_months_are_added(online_retail):
    """June 2011 from the whole file and from the file cut at 2011-07-01: the same clean lines of June (later
    cancellations of June purchases had removed them from the whole file's June: 644,503.87 against 649,411.48)."""
    as_of = dt.datetime(2011, 7, 1)
    whole, _ = clean_transactions(online_retail, as_of=as_of)
    cut, _ = clean_transactions(online_retail.filter(pl.col("order_date") < as_of), as_of=as_of)
    june = pl.col("order_date") >= dt.datetime(2011, 6, 1)
    assert whole.filter(june)["amount"].sum() == pytest.approx(cut.filter(june)["amount"].sum())
    assert whole.sort(whole.columns, nulls_last=True).equals(cut.sort(cut.columns, nulls_last=True))


def test_lines_without_an_order_id_are_missing_values():
    tx = _lines([(1, "1", 0, 1, 5.0, "A"), (1, None, 24 * 30, 1, 6.0, "A"), (1, None, 24 * 60, 1, 7.0, "A")])
    clean, report = clean_transactions(tx)
    assert clean["order_id"].to_list() == ["1"] and report.reconciles
    assert dict(report.removed.filter(pl.col("rows") > 0).select("reason", "rows").iter_rows()) == {"missing_value": 2}


def test_online_retail_cancellations_are_matched_to_their_orders(online_retail):
    clean, report = clean_transactions(online_retail, rules=("cancelled", "returned", "reversed", "missing_customer"))
    pairs = report.reversed_pairs
    assert pairs.height == 2_787 and report.reconciles
    big = pairs.filter(pl.col("customer_id").is_in([12346, 16446])).select(
        "customer_id", "order_id", "reversal_order_id", "quantity", "unit_price")
    assert big.rows() == [(12346, "541431", "C541433", 74_215.0, 1.04), (16446, "581483", "C581484", 80_995.0, 2.08)]
    spend = dict(clean.group_by("customer_id").agg(pl.col("amount").sum()).iter_rows())
    assert 12346 not in spend  # its one order was cancelled entirely: monetary 0
    assert spend[16446] == pytest.approx(2.90)  # what remains is order 553573 (1.65 + 1.25)
    # against the published 4,339 customers and 18,536 invoices: 11 customers (12346 among them) whose every
    # purchase was cancelled, and 137 invoices cancelled line for line, are gone
    assert clean["customer_id"].n_unique() == 4_328 and clean["order_id"].n_unique() == 18_399


def test_online_retail_default_cleaning_by_reason(online_retail):
    clean, report = clean_transactions(online_retail, as_of="2011-12-10")
    assert dict(report.removed.select("reason", "rows").iter_rows()) == {
        "invalid_amount": 0, "cancelled": 9_288, "returned": 1_338, "reversed": 2_787, "missing_customer": 133_359,
        "missing_value": 0, "non_positive_price": 40, "non_product": 1_500, "outlying_date": 0, "after_as_of": 0,
        "duplicate": 5_142,
    }
    assert report.rows_kept == clean.height == 388_455


def test_removals_counted_for_an_analysed_period(online_retail):
    _, report = clean_transactions(online_retail, as_of="2011-12-10")
    november = report.for_period("2011-11-01", "2011-12-01")
    assert (november.rows_in, november.rows_kept, november.rows_removed) == (84_711, 62_726, 21_985)
    assert november.reconciles and november.period == (dt.datetime(2011, 11, 1), dt.datetime(2011, 12, 1))
    assert november.removed_rows["order_date"].dt.month().unique().to_list() == [11]
    assert str(november).startswith("84,711 lines in, 62,726 kept, 21,985 removed (lines dated 2011-11-01 to "
                                    "2011-11-30) (analysis date 2011-12-10)")
    months = [report.for_period(dt.date(2010 + (m > 0), (11 + m) % 12 + 1, 1),
                                dt.date(2010 + (m + 1 > 0) + (m >= 12), (12 + m) % 12 + 1, 1)) for m in range(13)]
    assert sum(m.rows_in for m in months) == report.rows_in - report.undated
    assert sum(m.rows_removed for m in months) == report.rows_removed


# --- numbers and dates that cannot be right (issue 14) --------------------------------------------------------

def test_non_finite_and_absurd_amounts_have_their_own_reason():
    d = dt.datetime(2024, 1, 1)
    tx = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6], "order_id": ["1", "2", "3", "4", "C5", "6"],
                       "order_date": [d] * 6,
                       "amount": [float("inf"), float("-inf"), float("nan"), 1e15, float("-inf"), 5.0]})
    clean, report = clean_transactions(tx)
    removed = dict(report.removed.select("reason", "rows").iter_rows())
    assert removed["invalid_amount"] == 5 and removed["cancelled"] == 0
    assert clean["order_id"].to_list() == ["6"]
    assert report.removed["amount"].is_finite().all()  # no inf or NaN reaches the table


def test_dates_far_from_the_rest_are_outlying():
    days = [dt.datetime(2024, 1, 1) + dt.timedelta(days=i % 200) for i in range(300)]
    tx = pl.DataFrame({"customer_id": list(range(302)), "order_id": [str(i) for i in range(302)],
                       "order_date": days + [dt.datetime(2099, 1, 1), dt.datetime(1900, 1, 1)],
                       "amount": [1.0] * 302})
    clean, report = clean_transactions(tx)
    outlying = report.removed_rows.filter(pl.col("reason") == "outlying_date")["order_date"].to_list()
    assert sorted(outlying) == [dt.datetime(1900, 1, 1), dt.datetime(2099, 1, 1)]
    assert clean["order_date"].max() < dt.datetime(2025, 1, 1)
    # a gap of a year inside the bulk of the data is no outlier
    two_years = tx.head(300).with_columns(order_date=pl.when(pl.col("customer_id") < 150).then(
        pl.col("order_date")).otherwise(pl.col("order_date").dt.offset_by("2y")))
    assert dict(clean_transactions(two_years)[1].removed.select("reason", "rows").iter_rows())["outlying_date"] == 0


def test_report_in_chinese():
    _, report = clean_transactions(_tx(), as_of="2024-02-01")
    text = report.text("zh")
    assert text.startswith("共读入 10 行，保留 2 行，删除 8 行（分析日期 2024-02-01）")
    assert "  - 被冲销的购买：1 行（10.00%）：被之后同一客户" in text


def test_the_removed_chart_of_a_clean_file_says_nothing_was_removed():
    """Olist's cleaning removed nothing, and the chart drew an axis from -0.04 to 0.04 "lines removed"."""
    import datetime as dt

    from custlab.data import clean_transactions
    from custlab.data.quality import plot_removed

    tx = pl.DataFrame({"customer_id": [1, 2], "order_id": [1, 2], "amount": [5.0, 3.0],
                       "order_date": [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)]})
    _, report = clean_transactions(tx)
    assert report.rows_removed == 0
    ax = plot_removed(report).axes[0]
    assert ax.get_xlim() == (0.0, 1.0) and [t.get_text() for t in ax.texts][-1] == "Nothing was removed."
    ax = plot_removed(clean_transactions(tx.with_columns(customer_id=pl.Series([1, None])))[1], language="zh").axes[0]
    assert ax.get_xlim()[0] == 0 and "没有删除任何行。" not in [t.get_text() for t in ax.texts]
