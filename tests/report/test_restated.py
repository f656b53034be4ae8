"""Earlier months restated by later cancellations: the trend table says how much, against each month's own report."""

from __future__ import annotations

import datetime as dt
import json
import math

import polars as pl
import pytest

from custlab.data import clean_transactions
from custlab.report.context import Context
from custlab.report.exports import _strict_json
from custlab.report.figures_sales import trend
from custlab.report.months import check_month
from custlab.report.text import render


def _trend(raw: pl.DataFrame, month: str):
    spec = check_month(raw.lazy(), month)
    clean, quality = clean_transactions(raw, as_of=spec.as_of)
    return trend(Context({"transactions": clean}, month=spec, quality=quality, currency="GBP")), clean


def _own_report(raw: pl.DataFrame, month: dt.date) -> tuple[float, int]:
    """Revenue and orders of ``month`` as its own report counts them: cleaned at the month's end."""
    end = (dt.datetime(month.year, month.month, 28) + dt.timedelta(days=4)).replace(day=1)
    clean, _ = clean_transactions(raw, as_of=end)
    lines = clean.filter(pl.col("order_date") >= dt.datetime(month.year, month.month, 1), pl.col("order_date") < end)
    return math.fsum(lines["amount"].to_list()), lines["order_id"].n_unique()


def test_each_earlier_month_is_restated_against_its_own_report(retail_sample):
    """Online Retail: June 2011 read 649,411 / 1,382 orders in June's report, 644,901 / 1,380 in September's."""
    part, _ = _trend(retail_sample, "2011-09")
    table = part.tables[0].frame
    months = part.values["restated_months"]
    assert months, "the sample has purchases cancelled in a later month"
    for row in table.filter(pl.col("month") < dt.date(2011, 9, 1)).iter_rows(named=True):
        revenue, orders = _own_report(retail_sample, row["month"])
        said = months.get(f"{row['month']:%Y-%m}", {"revenue": 0.0, "orders": 0, "own_revenue": row["revenue"],
                                                      "own_orders": row["orders"]})
        assert said["own_revenue"] == pytest.approx(revenue, abs=0.01)
        assert said["revenue"] == pytest.approx(revenue - row["revenue"], abs=0.01)
        assert said["own_orders"] == orders
        assert said["orders"] == orders - row["orders"]
    assert part.values["restated_revenue"] == pytest.approx(sum(m["revenue"] for m in months.values()))
    assert part.values["restated_orders"] == sum(m["orders"] for m in months.values())
    json.loads(_strict_json(part.values))  # strict JSON: no NaN, no None
    note = {lang: render(part.tables[0].note, lang, "GBP") for lang in ("en", "zh")}
    assert "Earlier months are net of cancellations made since" in note["en"]
    assert "早前月份已扣除其后发生的取消" in note["zh"]
    most = max(months, key=lambda k: months[k]["revenue"])
    assert f"£{months[most]['own_revenue']:,.0f}" in note["en"] and f"£{months[most]['own_revenue']:,.0f}" in note["zh"]


def _lines(rows):
    return pl.DataFrame(rows, schema={"customer_id": pl.Int64, "order_id": pl.String, "product_id": pl.String,
                                      "quantity": pl.Int64, "unit_price": pl.Float64, "amount": pl.Float64,
                                      "order_date": pl.Datetime("us")}, orient="row")


def test_a_purchase_cancelled_the_next_month_is_named_in_both_languages():
    day = dt.datetime
    raw = _lines([
        (1, "1", "P1", 2, 50.0, 100.0, day(2024, 1, 5)), (1, "1", "POST", 1, 15.0, 15.0, day(2024, 1, 5)),
        (2, "2", "P2", 1, 30.0, 30.0, day(2024, 1, 9)),
        (1, "C9", "P1", -2, 50.0, -100.0, day(2024, 2, 3)), (1, "C9", "POST", -1, 15.0, -15.0, day(2024, 2, 3)),
        (2, "3", "P2", 1, 30.0, 30.0, day(2024, 2, 10)),
        (3, "4", "P2", 1, 30.0, 30.0, day(2024, 3, 10)), (3, "5", "P2", 1, 30.0, 30.0, day(2024, 4, 2)),
    ])
    part, _ = _trend(raw, "2024-03")
    # order 1 (100 of goods; its postage is not revenue in any report) was cancelled in February
    assert part.values["restated_months"] == {"2024-01": {"revenue": 100.0, "orders": 1, "own_revenue": 130.0,
                                                          "own_orders": 2}}
    assert part.values["restated_revenue"] == 100.0 and part.values["restated_orders"] == 1
    en, zh = (render(part.tables[0].note, lang, "GBP") for lang in ("en", "zh"))
    assert "£100 of January 2024's purchases were cancelled in later months" in en
    assert "reads £30.00 and 1 order here against £130 and 2 orders in its own report" in en
    assert "2024年1月的购买中有 £100 在之后的月份被取消" in zh
    # in January's own report, nothing was cancelled yet: no note
    own, _ = _trend(raw, "2024-01")
    assert own.values["restated_months"] == {} and own.values["restated_revenue"] == 0
    assert own.tables[0].note is None or "cancell" not in render(own.tables[0].note, "en")


def test_a_cancellation_in_the_same_month_restates_nothing():
    day = dt.datetime
    raw = _lines([
        (1, "1", "P1", 2, 50.0, 100.0, day(2024, 1, 5)), (1, "C9", "P1", -2, 50.0, -100.0, day(2024, 1, 20)),
        (2, "2", "P2", 1, 30.0, 30.0, day(2024, 1, 9)), (2, "3", "P2", 1, 30.0, 30.0, day(2024, 2, 10)),
        (2, "4", "P2", 1, 30.0, 30.0, day(2024, 3, 2)),
    ])
    part, _ = _trend(raw, "2024-02")
    assert part.values["restated_months"] == {} and part.values["restated_orders"] == 0
