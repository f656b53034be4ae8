"""How the report writes numbers, dates, ids and sentences, in English and Chinese."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custlab.data import TABLES
from custlab.report import text as tx
from custlab.report.text import PP, Change, Count, Data, Day, Id, Items, Label, Money, Pct, Text, render


@pytest.mark.parametrize(
    ("value", "currency", "language", "expected"),
    [
        (8_314_520.3, "GBP", "en", "£8.31M"),
        (8_314_520.3, "GBP", "zh", "£831.5万"),
        (3.2e8, "CNY", "zh", "¥3.20亿"),
        (1234.5, "USD", "en", "$1,235"),
        (23.456, "EUR", "en", "€23.46"),
        (-1234.5, "GBP", "en", "-£1,235"),
        (-0.004, "GBP", "en", "£0.00"),
        (1200.0, "CHF", "en", "CHF 1,200"),
        (1200.0, None, "en", "1,200"),
    ],
)
def test_money_has_its_currency_separators_and_no_negative_zero(value, currency, language, expected):
    assert tx.fmt_money(value, currency, language) == expected


def test_percentages_points_and_changes_are_told_apart():
    assert tx.fmt_pct(0.4567) == "45.7%"
    assert tx.fmt_pp(0.0321) == "+3.2 pp"
    assert tx.fmt_pp(0.0321, "zh") == "+3.2个百分点"
    assert tx.fmt_change(0.1234) == "+12.3%"
    assert tx.fmt_change(-0.0499) == "-5.0%"
    assert tx.fmt_change(11.72) == "+1,172%"  # never "11.72"
    assert tx.fmt_pct(0.00004) == "<0.1%"


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_nothing_rounds_to_negative_zero(value):
    for text in (tx.fmt_pct(value), tx.fmt_change(value), tx.fmt_pp(value), tx.fmt_num(value, 1),
                 tx.fmt_money(value, "GBP"), tx.fmt_money(value, None, "zh")):
        assert not re.search(r"-[£¥]?0([.,]0*)?(%| pp|万|M)?$", text), text
        digits = re.sub(r"[^0-9]", "", text)
        if digits and set(digits) == {"0"}:
            assert not text.startswith("-"), text


def test_missing_and_non_finite_values_read_as_not_available():
    for fmt in (tx.fmt_pct, tx.fmt_change, tx.fmt_pp, tx.fmt_count, tx.fmt_money):
        for value in (None, float("nan"), float("inf")):
            assert fmt(value) == "n/a"
    assert tx.fmt_money(None, "GBP", "zh") == "无"


def test_ids_have_no_separators_and_dates_read_as_dates():
    assert tx.fmt_id(12346) == "12346"
    assert tx.fmt_id(12346.0) == "12346"
    assert tx.fmt_id("C541433") == "C541433"
    assert tx.fmt_date(dt.date(2011, 12, 9)) == "9 Dec 2011"
    assert tx.fmt_date(dt.datetime(2011, 12, 9, 12, 50), "zh") == "2011年12月9日"
    assert tx.fmt_month("2011-11") == "November 2011"
    assert tx.fmt_month("2011-11", "zh") == "2011年11月"
    assert render(Text("report.segments.concentration", {"top": Pct(0.136)}), "en") == \
        "The top 13.6% of customers bring half of the revenue."


def test_sentences_format_each_field_by_its_type():
    sentence = Text("report.trend.month", {"month": tx.MonthName("2011-11"), "revenue": Money(1_123_691.0),
                                           "orders": Count(2631), "active": Count(1657), "new": Count(322),
                                           "aov": Money(427.1)})
    assert render(sentence, "en", "GBP") == ("In November 2011: revenue £1.12M, 2,631 orders from 1,657 customers "
                                             "(322 of them new), average order value £427.")
    assert render(sentence, "zh", "GBP") == "2011年11月：销售额 £112.4万，1,657 位客户下单 2,631 笔（其中新客户 322 位），客单价 £427。"
    listed = Items([Label("cancelled"), Label("missing_customer"), Data("<b>x</b>")])
    assert tx.render_value(listed, "zh") == "取消订单、缺少客户编号、<b>x</b>"
    assert tx.render_value(Id(17850.0), "en") == "17850"
    assert tx.render_value(Change(None), "en") == "n/a" and tx.render_value(PP(-0.2), "en") == "-20.0 pp"
    assert tx.render_value(Day(dt.date(2024, 1, 5)), "en") == "5 Jan 2024"


def test_an_untyped_field_is_a_programming_error():
    with pytest.raises(TypeError, match="has no type"):
        render(Text("report.problem.early_churn", {"share": None}), "en")


def _catalogue(language: str) -> dict:
    return json.loads((resources.files("custlab") / "locale" / language / "report.json").read_text(encoding="utf-8"))


def test_the_chinese_catalogue_has_every_english_sentence_with_the_same_fields():
    en, zh = _catalogue("en")["text"], _catalogue("zh")["text"]
    assert set(en) == set(zh)
    fields = string.Formatter()
    for key in en:
        names = {f for _, f, _, _ in fields.parse(en[key]) if f}
        assert names == {f for _, f, _, _ in fields.parse(zh[key]) if f}, key
    code = {name for spec in TABLES.values() for name in spec.columns} | {"reason", "priority"}
    code |= {"p_churn", "p_churn_within", "churn_date", "usual_gap_days"}  # early_warning.csv's columns, as it spells them
    ascii_words = {key: re.findall(r"[A-Za-z]{3,}", re.sub(r"\{[^}]*\}|--[a-z-]+|[\w.]+\.csv|[a-z_]+", lambda m:
                                                           "" if m.group(0).startswith(("{", "-")) or "." in m.group(0)
                                                           or m.group(0) in code else m.group(0), zh[key]))
                   for key in zh}
    allowed = {"ROI", "CLV", "RFM", "NBD", "CAC", "UTF"}  # names of methods and encodings, written so in Chinese too
    allowed |= {"treatment", "control"}  # the values a campaigns table's group column must hold, as the data spell them
    assert {k: w for k, w in ascii_words.items() if set(w) - allowed} == {}


@pytest.mark.parametrize("share", [41 / 4266, 4 / 7553, 6 / 7553, 0.0012, 0.005, 0.0099, 0.01, 0.4567, 0.0, -0.004])
def test_a_share_in_a_sentence_is_written_as_its_table_writes_it(share):
    """Online Retail's 41 Can't-lose-them customers were "(1.0%)" in the sentence and 0.96% in the table beside it;
    Olist's 4 High-value customers "(0.1%)" against 0.053%."""
    from custlab.report.html import cell_text

    for language in ("en", "zh"):
        assert tx.render_value(tx.Pct(share), language) == cell_text(share, "pct", language)


def test_the_value_tier_sentence_gives_the_tables_share():
    line = tx.Text("report.segments.line", {"segment": tx.Label("Can't lose them"), "customers": tx.Count(41),
                                            "share": tx.Pct(41 / 4266), "rev": tx.Pct(0.0208), "recency": tx.Days(81)})
    assert tx.render(line, "en").startswith("Can't lose them: 41 customers (0.96%), 2.1% of revenue")
    assert "41 位客户（0.96%）" in tx.render(line, "zh")
    assert tx.render_value(tx.Pct(0.1, 0)) == "10%" and tx.render_value(tx.Pct(0.08, 0), "zh") == "8%"  # rates as given


def test_holdout_errors_that_differ_are_not_written_alike():
    """Olist 2018-05: "MBG/NBD predicted the last 13 weeks better (mean absolute error 0.001, against 0.001)", and
    0.001 in every row of the holdout table."""
    from custlab._i18n import t
    from custlab.report.html import cell_text

    mae, naive = 0.000922, 0.00111
    for language in ("en", "zh"):
        for key in ("clv.choice_untrusted", "clv.choice_no_model", "clv.issue_holdout"):
            sentence = t(key, language, model="MBG/NBD", weeks=13.0, mae=mae, naive=naive)
            assert "0.000922" in sentence and "0.00111" in sentence, (key, language)
        chosen = t("clv.choice_model", language, model="BG/NBD", weeks=13.0, mae=0.00111, naive=0.001113, gain=0.003)
        assert "0.3%" in chosen  # errors a hair apart: how much better, not "0% better"
    assert t("clv.choice_model", "en", model="BG/NBD", weeks=13.0, mae=0.365, naive=0.7, gain=0.479).endswith(
        "a mean absolute error of 0.365, against 0.700 for the naive baseline (47.9% better).")
    assert [cell_text(v, "sig3") for v in (0.000922, 0.00111, 0.0233, 0.866, 1.4, 12.345, 0.0)] == \
        ["0.000922", "0.00111", "0.0233", "0.866", "1.40", "12.3", "0.000"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_share_just_below_one_never_reads_100_in_tables_or_sentences(language):
    # Olist's early-warning list read "Churn risk 100.0%" for a risk of 0.9997
    from custlab.report.html import cell_text
    from custlab.report.text import Pct, render_value

    for share in (0.9997, 0.99996, 0.9999999):
        assert not cell_text(share, "pct", language, None).startswith("100")
        assert not render_value(Pct(share), language).startswith("100")
    assert cell_text(1.0, "pct", language, None).startswith("100")
