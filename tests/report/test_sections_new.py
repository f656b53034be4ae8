"""The report sections of the new packages: campaigns, attribution, demand outlook, voice of the customer, NBA.

Each section's figures are compared with the package's own entry point called
on the same data (the history before the month's ``as_of``); a section whose
table is missing is recorded as absent with the reason and the fix in English
and Chinese; the Chinese sections have no English beyond the data and the
method names; the NBA export has the CRM columns. Only the sections under test
are computed (the others are not needed and cost seconds).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re

import polars as pl
import pytest

from custlab.data import clean_transactions
from custlab.report import figures as fg
from custlab.report.figures import json_ready
from custlab.report.html import section_html
from custlab.report.text import render
from custlab.synthetic import make_shop

from .conftest import SHOP_CUSTOMERS, SHOP_SEED, compute_shop
from .test_html import TECHNICAL, visible, words_of_the_data

NEW = ("outlook", "campaigns", "attribution", "voice", "nba")
#: Method names the new sections write in Latin letters in Chinese too, as Chinese analysts do.
METHODS = TECHNICAL | {"MASE", "WAPE", "ETS", "ARIMA", "Theta", "AUC", "CSAT", "NPS", "p"}
MONTH = "2024-12"


def assert_same_figures(got, expected, where: str = "") -> None:
    """Equal structure and text; floats equal up to summation order (1e-9 relative)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and set(got) == set(expected), where
        for key in expected:
            assert_same_figures(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same_figures(g, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(got, bool):
        assert isinstance(got, (int, float)), where
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), where
    else:
        assert got == expected, where


def compute_sections(tables: dict, keys: tuple[str, ...], month: str = MONTH, **kwargs):
    """The month's figures with only the sections ``keys`` (in report order)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fg, "SECTIONS", tuple((k, f) for k, f in fg.SECTIONS if k in keys))
        return compute_shop(tables, month, **kwargs)


@pytest.fixture(scope="module")
def full_tables() -> dict:
    """The built-in shop with everything the report reads: campaign, touches, reviews with deliveries, NPS."""
    from custlab.report.sources import SHOP_EXTRAS

    tables = make_shop(SHOP_CUSTOMERS, seed=SHOP_SEED, **SHOP_EXTRAS).tables()
    clean, quality = clean_transactions(tables["transactions"])
    return {**tables, "transactions": clean, "_quality": quality}


@pytest.fixture(scope="module")
def figures(full_tables):
    return compute_sections(full_tables, NEW)


@pytest.fixture(scope="module")
def history(full_tables, figures) -> pl.DataFrame:
    return full_tables["transactions"].filter(pl.col("order_date") < figures.month.as_of)


def test_every_new_section_renders_on_the_full_shop(figures):
    assert [s.section for s in figures.skipped] == []
    assert set(NEW) <= set(figures.parts)
    order = [key for key, _ in fg.SECTIONS]
    assert order.index("baskets") < order.index("outlook") < order.index("campaigns") < order.index("attribution")
    assert order.index("voice") < order.index("actions") < order.index("nba") < order.index("methods")
    key_figures = json.loads(json.dumps(figures.key_figures(), allow_nan=False))
    for key in NEW:
        assert key_figures["sections"][key], key


def test_campaign_results_are_the_package_figures(figures, full_tables, history):
    from custlab.campaigns import campaign_results

    sent = full_tables["campaigns"].filter(pl.col("sent_date") < figures.month.as_of)
    expected = campaign_results(sent, history, within="30d")
    part = figures.parts["campaigns"]
    assert_same_figures(json_ready(part.values), json_ready(expected.key_figures()))
    row = expected.summary.row(0, named=True)
    assert part.values["campaigns"][0]["ci_low"] == pytest.approx(row["ci_low"])
    assert part.values["recommendation"] == expected.recommendation
    assert [p.values["en"] for p in part.paragraphs] == expected.describe("en")  # the interval and the next test
    assert [p.values["zh"] for p in part.paragraphs] == expected.describe("zh")
    # the chart's title names the campaign as the data and the sentences do ("win_back_1", not "win back 1")
    from custlab.report.text import render

    title = render(part.charts[0].title, "en")
    assert title.startswith(f"{expected.main_campaign}") and str(expected.main_campaign) in part.paragraphs[0].values["en"]


def test_attribution_is_the_package_report_beside_the_spend(figures, full_tables, history):
    from custlab.attribution import attribution_report

    as_of = figures.month.as_of
    # the Channels section's window: the twelve months before as_of, not before the first order's month
    first_order = history["order_date"].min()
    start = max(dt.date(as_of.year - 1, as_of.month, 1), first_order.date().replace(day=1))
    spend = full_tables["marketing_spend"].filter(pl.col("month") < as_of.date(), pl.col("month") >= start)
    start = spend["month"].min()
    since = dt.datetime.combine(start, dt.time())
    touches = full_tables["touches"].filter(pl.col("touch_time") < as_of, pl.col("touch_time") >= since)
    expected = attribution_report(touches, history.filter(pl.col("order_date") >= since), spend=spend,
                                  incremental=None)
    part = figures.parts["attribution"]
    assert_same_figures(json_ready(part.values), json_ready(expected.key_figures()))
    assert part.values["reallocation"]["basis"] == "attributed"  # no incremental returns: said as such
    assert len(part.tables) == 2 and "roas" in part.tables[1].frame.columns


def test_demand_outlook_is_the_package_forecast_and_says_when_not_to_trust_it(figures, history):
    from custlab.forecast import demand_outlook

    expected = demand_outlook(history, as_of=figures.month.as_of, top_n=5, horizon=3, n_jobs=1)
    part = figures.parts["outlook"]
    summary = {r["series_id"]: r for r in expected.summary.iter_rows(named=True)}
    assert set(part.values["groups"]) == set(summary)
    for name, row in summary.items():
        assert part.values["groups"][name]["forecast"] == pytest.approx(row["forecast"], rel=1e-9)
    assert part.values["trusted"] is expected.trusted
    accuracy = {r["model"]: r["mase"] for r in expected.accuracy.iter_rows(named=True)}
    assert {m: v["mase"] for m, v in part.values["accuracy"].items()} == pytest.approx(accuracy)
    assert {"naive", "seasonal_naive"} <= set(part.values["accuracy"])  # always beside the baselines
    notes = " ".join(render(n, "en") for n in part.notes)
    if expected.trusted:
        assert "beat both naive baselines" in notes
    else:
        assert "do not plan stock on these forecasts alone" in notes
        assert "rough guide" in render(part.charts[0].title, "en")


def test_outlook_says_why_a_baseline_row_differs_from_its_baseline_column():
    from custlab.report.figures_outlook import _reconciled_away

    # the shop's 2024-12 table: home decor chosen as the naive baseline shows 56,731 beside a Baseline of 57,701
    summary = pl.DataFrame({"series_id": ["total", "home decor", "apparel"], "model": ["auto", "naive", "naive"],
                            "forecast": [541_677.0, 56_731.0, 186_607.0], "baseline": [515_014.0, 57_701.0, 186_607.0]})
    assert _reconciled_away(summary, "naive")
    assert not _reconciled_away(summary.filter(pl.col("series_id") != "home decor"), "naive")
    assert not _reconciled_away(summary, "seasonal_naive")  # a row of the other baseline is compared with nothing


def test_outlook_table_and_its_notes_agree(figures):
    part = figures.parts["outlook"]
    table = part.tables[0].frame
    notes = " ".join(render(n, "en") for n in part.notes)
    if "baseline" in table.columns:
        baseline = part.values.get("plan_with")
        rows = table.filter((pl.col("model") == baseline) & pl.col("baseline").is_not_null())
        moved = rows.filter((pl.col("forecast") - pl.col("baseline")).abs() > 0.005 * pl.col("baseline").abs())
        assert ("reconciled so that the rows add up" in notes) == (moved.height > 0)


def test_voice_of_the_customer_is_the_package_summary(figures, full_tables, history):
    from custlab.reviews import voice_of_customer

    expected = voice_of_customer(full_tables["reviews"], transactions=history, orders=full_tables["orders"],
                                 customers=full_tables["customers"], surveys=full_tables["surveys"],
                                 as_of=figures.month.as_of, language="auto")
    part = figures.parts["voice"]
    for row in expected.summary.iter_rows(named=True):
        shown = part.values["figures"][row["metric"]]
        assert shown["value"] == pytest.approx(row["value"]) and shown["trusted"] is row["trusted"]
    assert part.values["top_complaint"] == expected.aspects.top_complaint
    recovery = part.exports["voice_recovery.csv"]
    assert recovery.height == expected.recovery.table.height
    assert recovery["customer_id"].dtype == pl.String and recovery["reason"].null_count() == 0
    assert recovery["priority"].is_sorted(descending=True)


def test_next_best_action_export_has_the_crm_columns(figures, full_tables, history):
    from custlab.recommend import next_best_action
    from custlab.report.context import Context
    from custlab.report.figures_nba import nba_inputs

    export = figures.parts["nba"].exports["next_best_action.csv"]
    assert export.columns[:8] == ["customer_id", "rank", "action_id", "action", "product_id", "product_name",
                                  "channel", "reason"]
    assert export["customer_id"].dtype == pl.String and export["product_id"].dtype == pl.String
    assert export["priority"].is_sorted(descending=True) and export["reason"].null_count() == 0
    assert "expected_value" not in export.columns  # priority is the expected value, not a duplicate
    data = {k: v for k, v in full_tables.items() if not k.startswith("_")}
    ctx = Context(data, month=figures.month)
    expected = next_best_action(history, **nba_inputs(ctx)).to_frame()
    assert export.height == expected.height == full_tables["customers"].height
    assert export["priority"].sum() == pytest.approx(expected["expected_value"].sum(), rel=1e-3)
    top = expected.row(0, named=True)
    first = export.row(0, named=True)
    assert (first["customer_id"], first["action_id"]) == (str(top["customer_id"]), top["action_id"])
    assert figures.parts["nba"].values["customers"] == expected.height


def test_sections_without_their_table_are_absent_with_reason_and_fix(full_tables):
    tables = {k: v for k, v in full_tables.items() if k not in {"campaigns", "touches", "reviews"}}
    figures = compute_sections(tables, ("campaigns", "attribution", "voice", "methods"))
    absent = {s.section: s for s in figures.skipped}
    assert set(absent) == {"campaigns", "attribution", "voice"}
    for skip in absent.values():
        assert skip.kind == "absent" and skip.section not in figures.parts
        assert skip.reason["en"] and skip.fix["en"] and re.search(r"[\u4e00-\u9fff]", skip.reason["zh"] + skip.fix["zh"])
    assert "campaigns.csv" in absent["campaigns"].fix["en"]
    methods = " ".join(render(p, "zh") for p in figures.parts["methods"].paragraphs)
    assert "营销活动" in methods and "营销触点" in methods  # the absent tables, named in Chinese


def test_the_new_sections_in_chinese_have_no_english_beyond_the_data(figures, full_tables):
    data_words = words_of_the_data(full_tables)
    for key in NEW:
        page = section_html(figures, key, language="zh")
        text = re.sub(r"\b[\w/]+\.csv\b", " ", visible(page))
        words = set(re.findall(r"[A-Za-z][A-Za-z_'/.-]*[A-Za-z]", text))
        assert sorted(words - data_words - METHODS) == [], key
        assert re.search(r"[\u4e00-\u9fff]{4}", text), key
        for word in ("nan", "NaN", "inf", "None", "null"):
            assert not re.search(rf"\b{word}\b", text), (key, word)
        english = visible(section_html(figures, key, language="en"))
        assert not re.search(r"\b(nan|NaN|inf|None|null)\b", english), key


def test_no_missing_number_reaches_the_key_figures(figures):
    def walk(node, where=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")
        else:
            assert node is not None, where
            assert not (isinstance(node, float) and not math.isfinite(node)), where

    for key in NEW:
        walk(figures.key_figures()["sections"][key], key)


def test_the_built_in_shop_and_folders_bring_the_new_tables(tmp_path):
    from custlab.report.sources import read_tables, table_files

    shop = read_tables(None, n_customers=300, seed=1, with_new=True)
    for name in ("campaigns", "touches", "reviews", "orders", "surveys"):
        assert shop.get(name) is not None and shop[name].height, name
    for name in ("transactions", "campaigns", "touches"):
        shop[name].write_csv(tmp_path / f"{name}.csv")
    assert set(table_files(tmp_path)) == {"transactions", "campaigns", "touches"}
    read = read_tables(tmp_path, with_new=True)
    assert read["campaigns"].height == shop["campaigns"].height and read["touches"].height == shop["touches"].height
    assert read["campaigns"]["sent_date"].dtype.is_temporal()


def test_no_retention_offer_rests_on_a_return_rate_when_no_silence_can_have_reached_the_churn_window(full_tables):
    # 3 months of the shop, as Ta-Feng's 92 days: the early warning is left out, and the next best actions had sent
    # retention offers on "of the customers silent 19 days or more, only 50% bought again"
    first = full_tables["transactions"]["order_date"].min()
    start = dt.date(first.year, first.month, 1)
    month = f"{start.year + (start.month + 1) // 12}-{(start.month + 1) % 12 + 1:02d}"
    short = compute_sections(full_tables, ("segments", "clv", "early_warning", "nba"), month=month)
    assert "early_warning" in {s.section for s in short.skipped}
    part = short.parts["nba"]
    export = part.exports["next_best_action.csv"]
    assert "retention_offer" not in export["action_id"].to_list()
    said = " ".join(render(p, "en") for p in part.paragraphs)
    assert "No retention offer is based on a return rate" in said
    assert "No retention offer" not in " ".join(render(p, "en") for p in compute_sections(
        full_tables, ("segments", "clv", "early_warning", "nba")).parts["nba"].paragraphs)
