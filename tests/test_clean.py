"""Cleaning: every removed row has one reason, and the counts reconcile."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from custlab.clean import RULES, clean_transactions
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
    assert removed == {
        "cancelled": 1, "returned": 1, "missing_customer": 1, "missing_value": 0, "non_positive_price": 1,
        "non_product": 1, "after_as_of": 1, "duplicate": 1,
    }
    assert clean["order_id"].to_list() == ["1", "6", "8"]
    assert report.rows_in == 10 and report.rows_kept == 3 and report.reconciles
    assert report.removed_rows.height == 7
    assert set(report.removed_rows["reason"]) == set(removed) - {"missing_value"}
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
    assert clean.collect().height == report.rows_kept == 3


def test_report_text_and_dict():
    _, report = clean_transactions(_tx(), as_of="2024-02-01")
    text = str(report)
    assert text.startswith("10 lines in, 3 kept, 7 removed (analysis date 2024-02-01)")
    assert "- non_product: 1 lines (10.00%)" in text
    assert report.to_dict()["rows_removed"] == 7


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
