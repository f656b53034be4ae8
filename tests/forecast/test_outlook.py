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
    verdict = "No model beats" if not outlook.trusted else "beat both naive baselines"
    assert any(verdict in line for line in outlook.describe("en"))
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
    assert checks.describe("en") == [
        "No model beats both naive baselines on this history: treat the forecast as a rough guide only and plan with "
        f"the better baseline, the last period's value (naive) (weighted MASE {naive:.2f})."
    ]
    assert "没有序列长到足以回测" not in checks.describe("zh")[0]


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
