"""Demand outlook: the next three months of revenue per top category, with intervals, alerts and accuracy.

The section is :func:`custlab.forecast.demand_outlook` on the history before
``as_of`` (the five categories with most revenue in the last twelve months,
the rest as "Other", under the shop's total; ``product_id`` when the data have
no category). Its rolling-origin backtest is always shown beside naive and
seasonal naive, and when the chosen models do not beat both the page says in
plain words that the forecast is a rough guide only.

Speed: ``n_jobs=1`` (no worker processes: the series are few and short, and
starting processes costs more than it saves on a two-core machine); the
other settings are the package's defaults.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import polars as pl

from custlab.report.context import Context
from custlab.report.figures_campaigns import described
from custlab.report.parts import Absent, Chart, Finding, SectionFigures, Table
from custlab.report.text import Count, Label, Money, Num, Text

__all__ = ["HORIZON", "TOP_GROUPS", "outlook", "section"]

#: Months ahead and groups shown.
HORIZON, TOP_GROUPS = 3, 5
#: Months of history the backtest needs to judge a three-month forecast at all.
MIN_MONTHS = 12


def outlook_figures(ctx: Context) -> Any:
    """:func:`custlab.forecast.demand_outlook` at the report's ``as_of`` (cached per report)."""
    return ctx.cached_call("demand_outlook", outlook_call(ctx))


def outlook_call(ctx: Context) -> tuple[Any, tuple, dict[str, Any]]:
    """The demand outlook's call ``(function, args, kwargs)``, or :class:`Absent` when the history cannot give one."""
    from custlab.forecast import demand_outlook

    columns = ctx.history.columns
    if "category" not in columns and "product_id" not in columns:
        raise Absent(Text("report.absent.outlook_groups", {}), Text("report.absent.products_fix", {}))
    months = ctx.history.select(pl.col("order_date").dt.truncate("1mo").n_unique()).item() if ctx.history.height else 0
    if months < MIN_MONTHS:
        raise Absent(Text("report.absent.outlook_short", {"months": Count(months), "need": Count(MIN_MONTHS)}),
                     Text("report.absent.outlook_short_fix", {}))
    return demand_outlook, (ctx.history,), {"as_of": ctx.as_of, "top_n": TOP_GROUPS, "horizon": HORIZON, "n_jobs": 1,
                                             "language": ctx.language}


def outlook(ctx: Context) -> SectionFigures:
    """Section "Demand outlook": next months per top group with 80% intervals, backtest accuracy, alerts."""
    return section(outlook_figures(ctx))


def section(result: Any) -> SectionFigures:
    """The section's page from a :class:`custlab.forecast.DemandOutlook` (also the engine report's)."""
    spans = (result.to_frame().group_by("series_id")
             .agg(pl.col("lo_80").sum(), pl.col("hi_80").sum(), pl.col("lo_95").sum(), pl.col("hi_95").sum()))
    summary = result.summary.join(spans, on="series_id", how="left")
    # groups that are products read "Product code" (not "Category"), with their names beside
    group = ({"product_id": "label", **({"product_name": "data"} if result.names else {})} if result.by == "product_id"
             else {"series_id": "label"})
    caption = "report.outlook.table_products" if result.by == "product_id" else "report.outlook.table"
    tables = [Table(Text(caption, {"months": Count(HORIZON)}), _named(summary, result),
                    {**group, "forecast": "money", "lo_80": "money", "hi_80": "money",
                     "year_ago": "money", "change": "change", "model": "label"}, top_n=TOP_GROUPS + 2)]
    accuracy = result.accuracy
    if accuracy.height:
        # a history too short for the models backtests only the baselines (Online Retail 2011-11: naive alone)
        only_baselines = "auto" not in accuracy["model"].to_list()
        caption = "report.outlook.accuracy_baselines" if only_baselines else "report.outlook.accuracy_table"
        tables.append(Table(Text(caption, {}), accuracy,
                            {"model": "label", "mase": "num2", "wape": "pct", "coverage_80": "pct"}))
    alerts = result.alerts.table
    if alerts.height:
        heat = "units_sold" if result.heat_measure == "units" else "sales_value"
        alerts = alerts.with_columns(  # heat alerts may count units, stock alerts count revenue: say which
            unit=pl.when(pl.col("kind") == "heat_rising").then(pl.lit(heat)).otherwise(pl.lit("sales_value")))
        tables.append(Table(Text("report.outlook.alerts_table", {}), _named(alerts, result),
                            {**group, "kind": "label", "period": "date", "actual": "num0", "unit": "label",
                             "change": "change", "respond_by": "date"}))
    total = summary.filter(pl.col("series_id") == "total")
    value = float(total["forecast"][0]) if total.height else float(summary["forecast"].sum())
    key = "report.outlook.title" if result.trusted else "report.outlook.title_untrusted"
    charts = (Chart("outlook", Text(key, {"value": Money(value), "months": Count(HORIZON)}),
                    partial(_draw_outlook, result), height=7.0),)
    notes = [Text("report.outlook.trusted" if result.trusted else "report.outlook.untrusted", {})]
    findings = ()
    if alerts.height:
        findings = (Finding(Text("report.finding.outlook_alerts", {"n": Count(alerts.height)}), 0.0, "outlook"),)
    values = _values(result, summary)
    if not result.trusted:
        best = accuracy.filter(pl.col("model") != "auto").sort("mase").head(1) if accuracy.height else accuracy
        if best.height:
            notes.append(Text("report.outlook.baseline", {"model": Label(best["model"][0]), "mase": Num(best["mase"][0], 2)}))
    return SectionFigures("outlook", described(result.describe), tuple(tables), charts, values, findings,
                          notes=tuple(notes))


def _named(table: pl.DataFrame, result: Any) -> pl.DataFrame:
    """``table`` with ``series_id`` as ``product_id`` and each product's name, when the groups are products."""
    if result.by != "product_id":
        return table
    return table.with_columns(product_id=pl.col("series_id"),
                              product_name=pl.col("series_id").replace_strict(dict(result.names), default=None,
                                                                             return_dtype=pl.String))


def _values(result: Any, summary: pl.DataFrame) -> dict[str, Any]:
    from custlab.report.figures import json_ready

    groups = {r["series_id"]: {"forecast": r["forecast"], "lo_80": r["lo_80"], "hi_80": r["hi_80"], "lo_95": r["lo_95"],
                               "hi_95": r["hi_95"], "year_ago": r["year_ago"], "change": r["change"], "model": r["model"]}
              for r in summary.iter_rows(named=True)}
    accuracy = {r["model"]: {"mase": r["mase"], "wape": r["wape"]} for r in result.accuracy.iter_rows(named=True)}
    return json_ready({"by": result.by, "months": HORIZON, "first_period": result.forecast.first_period,
                       "trusted": bool(result.trusted), "groups": groups, "accuracy": accuracy,
                       "alerts": result.alerts.table.height})


def _draw_outlook(result: Any, language: str):
    from custlab.forecast.plots import plot_demand_outlook

    return plot_demand_outlook(result, language=language)
