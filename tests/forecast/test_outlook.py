"""The report's demand outlook on the synthetic shop, and the plots (artists, not pixels)."""

from __future__ import annotations

import polars as pl
import pytest
from matplotlib.figure import Figure

import custlab as cl
from custlab.exceptions import CustlabError
from custlab.forecast import (
    DemandOutlook, backtest, demand_outlook, forecast, plot_backtest, plot_demand_outlook, plot_forecast, series,
)


@pytest.fixture(scope="module")
def shop():
    return cl.make_shop(2000, seed=5)


@pytest.fixture(scope="module")
def outlook(shop):
    return demand_outlook(shop.transactions, top_n=4)


def test_outlook_adds_up_reports_accuracy_and_reads_in_both_languages(outlook):
    assert isinstance(outlook, DemandOutlook) and len(outlook.groups) == 5 and outlook.groups[-1] == "Other"
    table = outlook.to_frame()
    assert table["series_id"][0] == "total" and table["period"].n_unique() == 3
    totals = table.group_by("period").agg(
        total=pl.col("mean").filter(pl.col("series_id") == "total").sum(),
        parts=pl.col("mean").filter(pl.col("series_id") != "total").sum())
    assert (totals["total"] - totals["parts"]).abs().max() < 1e-6 * totals["total"].max()
    assert outlook.accuracy["model"].to_list() == ["auto", "naive", "seasonal_naive"]
    assert outlook.trusted == (outlook.backtest.score("auto") < min(outlook.backtest.score("naive"),
                                                                    outlook.backtest.score("seasonal_naive")))
    for language in ("en", "zh"):
        text = outlook.describe(language)
        assert len(text) >= 7 and not any(w in " ".join(text).lower() for w in ("nan", "none", "inf"))
    verdict = "No model beats" if outlook.verdict == "untrusted" else "beat both naive baselines"
    assert outlook.verdict != "untested" and any(verdict in line for line in outlook.describe("en"))
    if not outlook.trusted:  # the advice names the better of the two baselines, with its score
        better = min(("naive", "seasonal_naive"), key=outlook.backtest.score)
        advice = "last period's value" if better == "naive" else "same period last year"
        assert any(advice in line and f"{outlook.backtest.score(better):.2f}" in line for line in outlook.describe("en"))
    assert "DemandOutlook(as_of 2025-01-01" in repr(outlook)
    with pytest.raises(CustlabError, match="language must be one of"):
        demand_outlook(pl.DataFrame(), language="fr")


def test_the_shops_planted_seasons_show_in_the_monthly_forecast(shop):
    """Down jackets (winter) and sunscreen (summer): January-March forecast against last summer's months."""
    units = series(shop.transactions, by="product_name", freq="1mo", measure="units").filter(
        pl.col("series_id").is_in(["down_jacket", "sunscreen"]))
    result = forecast(units, horizon=3, models="seasonal_naive")
    ahead = dict(result.table.group_by("series_id").agg(pl.col("mean").mean()).iter_rows())
    summer = dict(units.filter(pl.col("period").dt.month().is_in([6, 7, 8])).group_by("series_id")
                  .agg(pl.col("value").mean()).iter_rows())
    assert ahead["down_jacket"] > 3 * summer["down_jacket"] and ahead["sunscreen"] < summer["sunscreen"] / 3


def test_plots_draw_without_pyplot_in_both_languages(outlook):
    fig = plot_demand_outlook(outlook, language="zh")
    assert isinstance(fig, Figure) and sum(ax.get_visible() for ax in fig.axes) == len(outlook.groups) + 1
    assert fig.axes[0].get_title() == "全部销售"
    fig = plot_forecast(outlook.forecast, "total")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["history", "95% interval", "80% interval", "forecast"]
    fig = plot_backtest(outlook.backtest, language="en")
    bars = fig.axes[0].patches
    assert len(bars) == outlook.backtest.table.filter(pl.col("series_id").is_null() & pl.col("mase").is_not_null()).height
    with pytest.raises(CustlabError, match="has no forecast"):
        plot_forecast(outlook.forecast, "nonexistent")


def test_backtest_plot_marks_seasonal_naive(planted_series):
    result = backtest(planted_series.filter(pl.col("series_id") == "down_jacket"), horizon=13, models=["ets"])
    fig = plot_backtest(result, language="zh")
    assert fig.axes[0].get_xlabel() == "加权 MASE（越低越好）" and fig.axes[0].get_legend() is not None


def test_a_year_of_months_scores_only_naive_and_says_to_plan_with_it():
    # Online Retail 2011-11: twelve months per series, too short for the models but not for naive;
    # the page must not claim that nothing could be backtested.
    import datetime as dt

    import numpy as np
    import polars as pl

    import custlab as cl

    rng = np.random.default_rng(0)
    rows = [(sid, dt.date(2011, month, 1), float(rng.poisson(50))) for sid in "ab" for month in range(1, 13)]
    checks = cl.forecast.backtest(pl.DataFrame(rows, schema=["series_id", "period", "value"], orient="row"), horizon=3)
    assert checks.summary["model"].to_list() == ["naive"] and not checks.trusted
    naive = checks.score("naive")
    # the models were not scored: that is said, not "no model beats the baselines" (Online Retail 2011-11 said so)
    assert checks.verdict == "untested" and checks.describe_verdict("en") == [
        "The history is too short to backtest the chosen models: each series leaves one window of 3 months to test "
        "on, and that window picked its model, so none is left to check the choice on. The forecasts are untested: "
        "do not plan on them alone.",
        f"For comparison, the last period's value (naive) scored a weighted MASE of {naive:.2f} in the backtest "
        "(below 1 beats last period's value in-sample).",
    ]
    chinese = " ".join(checks.describe("zh"))
    assert "没有序列长到足以回测" not in chinese and "没有模型" not in chinese
    assert "历史太短，无法回测所选模型：每个序列只能留出一个 3 个月的检验窗口" in chinese and f"加权 MASE 为 {naive:.2f}" in chinese


def test_products_are_shown_by_their_latest_name_in_sentences_charts_and_the_report_table(shop):
    # Online Retail's outlook read "22423" and "85123A" where a manager knows REGENCY CAKESTAND 3 TIER.
    tx = shop.transactions.with_columns(pl.col("product_id").cast(pl.String))
    year = tx.filter(pl.col("order_date") >= pl.col("order_date").max() - pl.duration(days=365))
    first, second = (year.group_by("product_id").agg(pl.col("amount").sum())
                     .sort("amount", "product_id", descending=[True, False])["product_id"].head(2).to_list())
    last_month = pl.col("order_date") >= pl.col("order_date").max().dt.truncate("1mo")
    renamed = tx.with_columns(product_name=pl.when((pl.col("product_id") == first) & last_month)
                              .then(pl.lit("renamed <b>cake stand</b>"))
                              .when(pl.col("product_id") == second).then(pl.lit("a very long product name " * 3))
                              .otherwise(pl.col("product_name")))
    result = demand_outlook(renamed, by="product_id", top_n=3)
    assert result.groups[:2] == (first, second)
    assert result.names[first] == "renamed <b>cake stand</b>"  # the latest name, not the older one
    expected = {g: renamed.filter(pl.col("product_id") == g).sort("order_date")["product_name"][-1]
                for g in result.groups if g != "Other"}
    assert {g: result.names[g] for g in expected} == {g: n.strip() for g, n in expected.items()}
    assert result.name_of(first) == f"renamed <b>cake stand</b> ({first})"
    assert result.name_of(second) == f"a very long product name a very… ({second})"
    assert result.name_of("total", "zh") == "全部销售" and result.name_of("Other") == "Other"
    assert any(line.startswith(f"renamed <b>cake stand</b> ({first}): ") for line in result.describe("en"))
    titles = [ax.get_title() for ax in plot_demand_outlook(result).axes if ax.get_visible()]
    assert titles[1:3] == [result.name_of(first), result.name_of(second)]
    for alerted in result.alerts.table["series_id"].to_list():  # products alerted on are named too
        assert alerted in result.names
    from custlab.report.figures_outlook import section
    from custlab.report.html import table_html

    table = section(result).tables[0]
    assert table.frame.filter(pl.col("product_id") == first)["product_name"].to_list() == [result.names[first]]
    html = table_html(table)
    assert "Product code" in html and "renamed &lt;b&gt;cake stand&lt;/b&gt;" in html and "<b>" not in html
    assert "per product" in html
    # grouped by category, nothing changes: no names, the table keeps its column
    by_category = demand_outlook(shop.transactions, top_n=2)
    assert by_category.names == {} and "product_name" not in section(by_category).tables[0].frame.columns


def test_a_backtest_of_the_baselines_alone_is_captioned_so():
    # Online Retail 2011-11: twelve months, only naive could be backtested, under the caption "the chosen models
    # against the naive baselines"
    import datetime as dt

    import numpy as np

    from custlab.report.figures_outlook import section

    rng = np.random.default_rng(1)
    days = [dt.datetime(2010, 12, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, 3000)]
    tx = pl.DataFrame({"order_date": days, "amount": rng.gamma(2.0, 20.0, 3000),
                       "category": rng.choice(["a", "b", "c"], 3000)})
    result = demand_outlook(tx, as_of="2011-12-01", top_n=2)
    assert "auto" not in result.accuracy["model"].to_list()
    captions = [table.caption.key for table in section(result).tables]
    assert "report.outlook.accuracy_baselines" in captions and "report.outlook.accuracy_table" not in captions


def test_heat_alerts_say_what_they_count(shop):
    # Online Retail's page read "79321 sold 922 in the period from 2011-11-21": 922 units, beside stock alerts in money
    import dataclasses
    import datetime as dt

    from custlab.forecast.alerts import Alerts
    from custlab.report.figures_outlook import section
    from custlab.report.html import table_html

    row = {"series_id": "79321", "kind": "heat_rising", "period": dt.date(2011, 11, 21), "actual": 922.0,
           "expected": 203.0, "bound": 400.0, "change": 3.54, "action": "restock_campaign",
           "respond_by": dt.date(2011, 12, 4)}
    alerts = Alerts(table=pl.DataFrame([row]), threshold=0.3, level=95)
    assert "sold 922 units in the period" in alerts.describe("en", heat_units=True)[0]
    assert "售出 922 件" in alerts.describe("zh", heat_units=True)[0]
    assert "sold 922 in the period" in alerts.describe("en")[0]  # revenue: as before
    assert "quantity" in shop.transactions.columns
    result = demand_outlook(shop.transactions, top_n=2)
    assert result.heat_measure == "units"
    shown = dataclasses.replace(result, alerts=alerts + result.alerts)
    table = next(t for t in section(shown).tables if t.caption.key == "report.outlook.alerts_table")
    units = dict(zip(table.frame["series_id"].to_list(), table.frame["unit"].to_list(), strict=True))
    assert units["79321"] == "units_sold"
    assert all(u == "sales_value" for s, u in units.items() if s != "79321")
    assert "units sold" in table_html(table) and "Counted in" in table_html(table)
    no_quantity = demand_outlook(shop.transactions.drop("quantity"), top_n=2)
    assert no_quantity.heat_measure == "revenue"


# -- the report's section: every sentence follows from the page's own figures ------------------------------------
def _page(result, language: str = "en", currency: str = "GBP") -> dict:
    """The section's sentences, title, notes and table captions as the report renders them."""
    from custlab.report.figures_outlook import section
    from custlab.report.text import render

    part = section(result)
    return {"part": part, "text": [render(p, language, currency) for p in part.paragraphs],
            "title": render(part.charts[0].title, language, currency),
            "notes": [render(n, language, currency) for n in part.notes],
            "captions": [render(t.caption, language, currency) for t in part.tables]}


def _strict_json(values) -> None:
    import json

    from custlab.report.figures import json_ready

    ready = json_ready(values)
    assert ready == values  # nothing for json_ready to drop: no None, NaN or inf
    json.dumps(ready, allow_nan=False)


def _with_summary(result, **rows):
    """``result`` whose backtest summary holds ``rows`` ({model: (mase, coverage_80)}), the rest kept."""
    import dataclasses

    summary = pl.DataFrame([{"model": m, "mase": mase, "wape": 0.2, "coverage_80": cover, "coverage_95": cover,
                             "n_series": 6} for m, (mase, cover) in rows.items()],
                           schema=result.backtest.summary.schema)
    return dataclasses.replace(result, backtest=dataclasses.replace(result.backtest, summary=summary))


@pytest.fixture(scope="module")
def twelve_months():
    # Online Retail 2011-11 in small: twelve months of history, so one 3-month backtest window, which picks the models
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(1)
    days = [dt.datetime(2010, 12, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, 3000)]
    tx = pl.DataFrame({"order_date": days, "amount": rng.gamma(2.0, 20.0, 3000),
                       "category": rng.choice(["a", "b", "c"], 3000)})
    return tx, demand_outlook(tx, as_of="2011-12-01", top_n=2)


def test_a_history_too_short_to_backtest_the_models_is_said_so_not_that_no_model_beat_the_baselines(twelve_months):
    # Online Retail 2011-11 read "No model beats both naive baselines ... plan with the better baseline" beside a
    # caption saying the models could not be backtested, with Theta's £3.49M as the headline and no baseline figure.
    from custlab.report.figures_outlook import verdict
    from custlab.report.text import fmt_money

    tx, result = twelve_months
    assert verdict(result) == "untested" and result.backtest.score("auto") is None
    november = tx.filter(pl.col("order_date") >= pl.datetime(2011, 11, 1))["amount"].sum()
    total = float(result.summary.filter(pl.col("series_id") == "total")["forecast"][0])
    en, zh = _page(result, "en"), _page(result, "zh")
    said = " ".join(en["text"])
    chinese = " ".join(zh["text"])
    assert "No model beat" not in said and "No model beat" not in en["title"] and "没有模型" not in chinese
    assert "The history is too short to backtest the chosen models: its 12 months leave one 3-month window" in said
    assert "The figures shown are the models' forecasts, untested: do not plan on them alone." in said
    assert (f"For comparison, last month's value held (naive) gives {fmt_money(3 * november, 'GBP')} over the 3 months"
            in said)
    assert "历史太短，无法回测所选模型" in chinese and "作为对照，沿用上月值（朴素法）" in chinese
    assert en["title"].startswith(f"About {fmt_money(total, 'GBP')} expected by the models")
    assert "too short" in en["title"]
    assert en["notes"] == ["The history is too short to backtest the chosen models: do not plan stock on these "
                           "forecasts alone."]
    table = en["part"].tables[0]
    assert "baseline" in table.formats and "models the history is too short to backtest" in en["captions"][0]
    baseline = dict(table.frame.select("series_id", "baseline").iter_rows())
    assert baseline["total"] == pytest.approx(3 * november)
    values = en["part"].values
    assert values["verdict"] == "untested" and values["baseline"] == "naive" and "plan_with" not in values
    assert values["groups"]["total"]["baseline"] == pytest.approx(3 * november)
    assert {"by", "months", "first_period", "trusted", "groups", "accuracy", "alerts"} <= set(values)
    _strict_json(values)


def test_when_no_model_beats_the_baselines_the_page_plans_with_the_better_one(twelve_months, outlook, shop):
    # The shop's page said "plan with the better baseline" under a headline and rows from ETS, and never gave the
    # baseline's figure.
    from custlab.report.text import fmt_money

    tx = shop.transactions
    as_of = outlook.as_of
    month = lambda k: tx.filter((pl.col("order_date") >= pl.lit(as_of).dt.offset_by(f"-{k}mo"))  # noqa: E731
                                & (pl.col("order_date") < pl.lit(as_of).dt.offset_by(f"-{k - 1}mo")))["amount"].sum()
    for better, plan in (("naive", 3 * month(1)), ("seasonal_naive", month(12) + month(11) + month(10))):
        scores = {"auto": (1.4, 0.8), "naive": (1.2 if better == "naive" else 1.3, 0.7),
                  "seasonal_naive": (1.3 if better == "naive" else 1.2, 0.9)}
        result = _with_summary(outlook, **scores)
        assert not result.trusted
        en, zh = _page(result, "en"), _page(result, "zh")
        named = "last month's value held (naive)" if better == "naive" else "the same months last year (seasonal naive)"
        model_total = float(result.summary.filter(pl.col("series_id") == "total")["forecast"][0])
        assert en["title"] == (f"Plan with about {fmt_money(plan, 'GBP')} over the next 3 months, {named}: no model "
                               f"beat it, so the models' {fmt_money(model_total, 'GBP')} is a rough guide only")
        said = " ".join(en["text"])
        assert f"Plan with the better baseline, {named}: {fmt_money(plan, 'GBP')} over the 3 months" in said
        assert "No model beat both naive baselines in the backtest" in said and "within" not in said
        assert en["text"][1].startswith(f"All sales: plan with {fmt_money(plan, 'GBP')}; the models expect")
        assert sum("plan with" in line for line in en["text"]) == len(result.summary) + 1  # every row, and the advice
        assert "请按约" in zh["title"] and "请以较好的基准为计划依据" in " ".join(zh["text"])
        table = en["part"].tables[0]
        assert list(table.formats)[:2] == ["series_id", "baseline"] and "baseline to plan with" in en["captions"][0]
        assert table.frame.filter(pl.col("series_id") == "total")["baseline"][0] == pytest.approx(plan)
        values = en["part"].values
        assert values["plan_with"] == better and values["groups"]["total"]["baseline"] == pytest.approx(plan)
        assert values["groups"]["total"]["forecast"] == pytest.approx(model_total)  # the model's figure is kept
        _strict_json(values)


def test_use_within_the_intervals_only_when_the_backtest_found_them_near_their_level(outlook):
    # Olist 2018-05 said "the forecast can be used within its intervals" while its 80% intervals held 63.3% of the
    # backtest's outcomes.
    readings = {0.633: ("But their 80% intervals held only 63% of the backtest's outcomes, far below 80%: treat them "
                        "as too narrow", "只覆盖了 63%", "narrow"),
                0.78: ("Their 80% intervals held 78% of the backtest's outcomes, close to 80%: plan within them.",
                       "可在区间范围内安排计划", "near"),
                0.97: ("Their 80% intervals held 97% of the backtest's outcomes, more than 80%: they are wider than "
                       "needed", "区间偏宽", "wide")}
    for coverage, (english, chinese, reading) in readings.items():
        result = _with_summary(outlook, auto=(0.9, coverage), naive=(1.2, 0.5), seasonal_naive=(1.5, 0.6))
        assert result.trusted
        en, zh = _page(result, "en", "BRL"), _page(result, "zh", "BRL")
        said = " ".join(en["text"])
        assert english in said and chinese in " ".join(zh["text"])
        assert ("within them" in said) == (reading != "narrow")  # "plan within them" or "planning within them"
        assert ("The chosen models beat both naive baselines in the backtest (3 windows of 3 months): weighted MASE "
                "0.90, against 1.20 for last month's value and 1.50 for the same month last year") in said
        assert en["title"].startswith("About R$") and "plan with" not in said.lower().replace("plan within", "")
        assert "baseline" not in en["part"].tables[0].formats
        values = en["part"].values
        assert values["intervals"] == reading and values["coverage_80"] == coverage and values["plan_with"] == "model"
        _strict_json(values)


def test_money_in_the_outlook_sentences_carries_the_currency_like_its_tables(outlook):
    # "全部销售：预计 3,486,584" stood beside tables in £.
    for language, currency, sign in (("en", "GBP", "£"), ("zh", "GBP", "£"), ("zh", "BRL", "R$")):
        page = _page(outlook, language, currency)
        groups = page["text"][1:1 + outlook.summary.height]
        assert all(line.count(sign) >= 3 for line in groups), groups  # the figure and both ends of its interval
        assert sign in page["title"]


# -- the library's own sentences follow the same rules as the report's page ---------------------------------------
def _said(result) -> dict[str, str]:
    return {language: " ".join(result.describe(language)) for language in ("en", "zh")}


@pytest.mark.parametrize(("coverage", "reading", "english", "chinese"), [
    (0.633, "narrow", "But their 80% intervals held only 63% of the backtest's outcomes, far below 80%: treat them as "
                      "too narrow", "但回测中其 80% 区间只覆盖了 63% 的实际结果，远低于 80%：区间过窄"),
    (0.78, "near", "Their 80% intervals held 78% of the backtest's outcomes, close to 80%: plan within them.",
     "回测中，其 80% 区间覆盖了 78% 的实际结果，接近 80%：可在区间范围内安排计划。"),
    (0.97, "wide", "Their 80% intervals held 97% of the backtest's outcomes, more than 80%: they are wider than needed",
     "回测中，其 80% 区间覆盖了 97% 的实际结果，高于 80%：区间偏宽"),
    (None, None, "", ""),
])
def test_describe_plans_within_the_intervals_only_when_the_backtest_found_them_near_80(outlook, coverage, reading,
                                                                                       english, chinese):
    # describe() said "the forecast can be used, within its intervals" whatever the intervals held.
    from custlab.forecast.backtest import COVERAGE_SLACK, coverage_reading
    from custlab.report import figures_outlook

    assert COVERAGE_SLACK == figures_outlook.COVERAGE_SLACK  # one rule for the library and the report
    result = _with_summary(outlook, auto=(0.9, coverage), naive=(1.2, 0.5), seasonal_naive=(1.5, 0.6))
    assert result.verdict == "trusted" == figures_outlook.verdict(result)
    assert coverage_reading(coverage) == figures_outlook.coverage_reading(coverage) == reading
    said = _said(result)
    assert "The chosen models beat both naive baselines: plan with their forecast." in said["en"]
    assert "所选模型优于两种朴素基准：可按其预测做计划。" in said["zh"]
    assert english in said["en"] and chinese in said["zh"]
    assert ("within them" in said["en"]) == (reading in ("near", "wide"))  # "plan within them", "planning within them"
    assert "within its intervals" not in said["en"] and "在其区间范围内使用" not in said["zh"]
    assert "No model" not in said["en"] and "baseline," not in said["en"] and "没有模型" not in said["zh"]
    if reading is None:
        assert "80% intervals held" not in said["en"] and "覆盖了" not in said["zh"]


def test_describe_without_a_seasonal_naive_score_says_which_baseline_was_beaten_or_not(outlook):
    beat = _with_summary(outlook, auto=(0.9, 0.8), naive=(1.2, 0.5))
    said = _said(beat)
    assert beat.verdict == "trusted" and "n/a (less than a year of history) for seasonal naive" in said["en"]
    assert "The chosen models beat the naive baseline (the same period last year is not scored" in said["en"]
    assert "所选模型优于朴素基准（回测起点之前的历史不足一年" in said["zh"] and "plan within them" in said["en"]
    lost = _with_summary(outlook, auto=(1.4, 0.8), naive=(1.2, 0.5))
    said = _said(lost)
    assert lost.verdict == "untrusted" and "No model beats both" not in said["en"]
    assert ("The chosen models do not beat the naive baseline on this history (the same period last year is not "
            "scored") in said["en"] and "plan with the last period's value (naive) (weighted MASE 1.20)" in said["en"]
    assert "所选模型未能优于朴素基准" in said["zh"] and "within" not in said["en"]


@pytest.mark.parametrize("better", ["naive", "seasonal_naive"])
def test_describe_plans_with_the_better_baselines_figure_when_no_model_beats_both(outlook, better):
    from custlab.report.figures_outlook import baseline_months, better_baseline, verdict

    scores = {"auto": (1.4, 0.8), "naive": (1.2 if better == "naive" else 1.3, 0.7),
              "seasonal_naive": (1.3 if better == "naive" else 1.2, 0.9)}
    result = _with_summary(outlook, **scores)
    assert result.verdict == "untrusted" == verdict(result) and result.backtest.better_baseline == better_baseline(
        result) == better
    assert result.baseline_forecast(better).equals(baseline_months(result, better))  # the report's figure, as it
    plan = result.baseline_total(better)
    report_plan = baseline_months(result, better).filter(pl.col("series_id") == "total")["value"].sum()
    assert plan == pytest.approx(report_plan) and plan > 0
    model = float(result.summary.filter(pl.col("series_id") == "total")["forecast"][0])
    named = {"naive": ("the last period's value (naive)", "沿用上期值（朴素法）"),
             "seasonal_naive": ("the same period last year (seasonal naive)", "去年同期值（季节性朴素法）")}[better]
    said = _said(result)
    assert (f"No model beats both naive baselines on this history: treat the forecast as a rough guide only and plan "
            f"with the better baseline, {named[0]} (weighted MASE 1.20).") in said["en"]
    assert (f"Planned with {named[0]}, the next 3 months come to {plan:,.0f}, against the models' {model:,.0f}."
            in said["en"])
    assert f"按{named[1]}计划，未来 3 个月共 {plan:,.0f}，而模型预计为 {model:,.0f}。" in said["zh"]
    assert "没有模型同时优于两种朴素基准" in said["zh"] and "within" not in said["en"] and "区间范围内" not in said["zh"]


def test_describe_says_the_models_are_untested_when_the_history_leaves_one_window(twelve_months):
    # Online Retail 2011-11 (twelve months): describe() said "No model beats both naive baselines".
    from custlab.report.figures_outlook import verdict

    _, result = twelve_months
    assert result.verdict == "untested" == verdict(result)
    said = _said(result)
    assert "No model" not in said["en"] and "没有模型" not in said["zh"] and "within" not in said["en"]
    assert ("The history is too short to backtest the chosen models: each series leaves one window of 3 months to "
            "test on") in said["en"] and "The forecasts are untested: do not plan on them alone." in said["en"]
    naive = result.backtest.score("naive")
    assert f"For comparison, the last period's value (naive) scored a weighted MASE of {naive:.2f}" in said["en"]
    plan, model = result.baseline_total("naive"), float(result.summary.filter(pl.col("series_id") == "total")["forecast"][0])
    assert (f"Over the 3 months, the last period's value (naive) gives {plan:,.0f}, against the untested models' "
            f"{model:,.0f}.") in said["en"]
    assert "历史太短，无法回测所选模型" in said["zh"] and f"沿用上期值（朴素法）给出 {plan:,.0f}" in said["zh"]


def test_describe_says_the_models_could_not_be_scored_when_the_baselines_alone_were(outlook):
    # several windows, yet no score for the chosen models beside the baselines': untested, not "no model beats"
    result = _with_summary(outlook, naive=(1.2, 0.5), seasonal_naive=(1.5, 0.6))
    assert result.verdict == "untested" and int(result.backtest.chosen["n_windows"].max()) == 3
    said = _said(result)
    assert said["en"].count("The backtest could not score the chosen models against the naive baselines. The "
                            "forecasts are untested: do not plan on them alone.") == 1
    assert "回测无法把所选模型与朴素基准放在一起评分" in said["zh"] and "没有模型" not in said["zh"]
    assert "For comparison, the last period's value (naive) scored a weighted MASE of 1.20" in said["en"]
    assert "No model" not in said["en"] and "too short" not in said["en"] and "within" not in said["en"]


def test_describe_without_a_backtest_says_the_history_is_too_short(outlook):
    import dataclasses

    result = dataclasses.replace(outlook, backtest=None)
    assert result.verdict == "untested" and not result.trusted
    said = _said(result)
    assert "The history is too short to backtest" in said["en"] and "历史太短无法回测" in said["zh"]
    assert "No model" not in said["en"] and "within" not in said["en"]
    with pytest.raises(CustlabError, match="baseline must be one of .* got 'ets'"):
        outlook.baseline_forecast("ets")


def test_the_new_forecast_sentences_have_the_same_fields_in_both_languages():
    import json
    import string
    from importlib import resources

    def catalogue(language):
        path = resources.files("custlab") / "locale" / language / "forecast.json"
        return json.loads(path.read_text(encoding="utf-8"))["text"]

    en, zh = catalogue("en"), catalogue("zh")
    assert set(en) == set(zh)
    fields = string.Formatter()
    for key in en:
        assert ({f for _, f, s, _ in fields.parse(en[key]) if f} == {f for _, f, _, _ in fields.parse(zh[key]) if f}), key


def test_a_short_history_carrying_a_seasons_peak_on_says_last_years_months_are_the_better_guide():
    # Online Retail II at 2010-12-01: 12 months ending on the Christmas peak; the models expected +102% on the same
    # months of the year before (3.42M against 1.69M; Online Retail's actual December to February was 1.48M)
    import datetime as dt

    import numpy as np

    from custlab.report.text import fmt_money

    rng = np.random.default_rng(3)
    days = [dt.datetime(2009, 12, 1) + dt.timedelta(days=int(d)) for d in range(365)]
    level = [3.0 if (d.month in (9, 10, 11) and d.year == 2010) or d.month == 12 else 1.0 for d in days]
    tx = pl.DataFrame({"order_date": days, "amount": [100.0 * v * rng.uniform(0.9, 1.1) for v in level],
                       "category": ["a"] * 365})
    result = demand_outlook(tx, as_of="2010-12-01", top_n=1)
    gap = result.season_gap()
    seasonal = float(tx.filter(pl.col("order_date") < pl.datetime(2010, 3, 1))["amount"].sum())
    assert gap is not None and gap["history"] == 12 and gap["seasonal"] == pytest.approx(seasonal)
    assert gap["change"] > 0.5
    said = _said(result)
    assert (f"With 12 months of history the models cannot learn a yearly season (that takes two years), and they "
            f"expect {round(gap['change'] * 100):+d}% on the same months last year: if the shop's sales follow the "
            f"calendar, the same months last year ({seasonal:,.0f}) are the better guide.") in said["en"]
    assert f"只有 12 个月的历史，模型无法学到一年一度的季节起伏" in said["zh"]
    page = " ".join(_page(result, "en")["text"])
    assert f"the same months last year ({fmt_money(seasonal, 'GBP')}) are the better guide" in page
    assert _page(result, "en")["part"].values["season_gap"]["seasonal"] == pytest.approx(seasonal)
    flat = tx.with_columns(amount=pl.lit(100.0))  # no season to miss: nothing said
    assert demand_outlook(flat, as_of="2010-12-01", top_n=1).season_gap() is None
