"""Demand outlook: the next three months of revenue per top category, with intervals, alerts and accuracy.

The section is :func:`custlab.forecast.demand_outlook` on the history before
``as_of`` (the five categories with most revenue in the last twelve months,
the rest as "Other", under the shop's total; ``product_id`` when the data have
no category). Its rolling-origin backtest is always shown beside naive and
seasonal naive, and every sentence follows from the figures on the page
(written here, in the report's catalogue, so that money carries the currency
as in the tables):

- the chosen models beat both baselines (``trusted``): the forecast is the
  plan; "plan within the 80% intervals" only when they held 70% to 90% of the
  backtest's outcomes (:data:`COVERAGE_SLACK`), else the page says they are
  too narrow (or wider than needed);
- no model beat both baselines: the headline, the sentences and a "Baseline"
  column give the better baseline's forecast (the last month held for naive,
  the same months last year for seasonal naive) as what to plan with, beside
  the models' figures, which are called a rough guide;
- the models could not be backtested (one test window, which picked the
  models, or no window at all): the page says exactly that, shows the models'
  figures as untested, and gives the scored baseline's for comparison.

Speed: ``n_jobs=1`` (no worker processes: the series are few and short, and
starting processes costs more than it saves on a two-core machine); the
other settings are the package's defaults.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import polars as pl

from custlab._i18n import t
from custlab._types import LANGUAGES
from custlab.forecast.backtest import COVERAGE_LEVEL, COVERAGE_SLACK, coverage_reading
from custlab.report.context import Context
from custlab.report.parts import Absent, Chart, Finding, SectionFigures, Table
from custlab.report.text import Change, Count, Day, Label, Lang, Money, MonthName, Num, Pct, Text, render, tr

__all__ = ["COVERAGE_SLACK", "HORIZON", "TOP_GROUPS", "baseline_months", "better_baseline", "coverage_reading",
           "outlook", "section", "verdict"]

#: Months ahead and groups shown.
HORIZON, TOP_GROUPS = 3, 5
#: Months of history the backtest needs to judge a three-month forecast at all.
MIN_MONTHS = 12
#: Alerts written out per kind (the alerts table holds them all).
ALERTS_SAID = 5


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


def verdict(result: Any) -> str:
    """What the backtest allows the page to say (:attr:`custlab.forecast.DemandOutlook.verdict`): ``"trusted"``,
    ``"untrusted"`` or ``"untested"``."""
    return result.verdict


def better_baseline(result: Any) -> str | None:
    """The baseline with the lower weighted MASE in the backtest (:attr:`custlab.forecast.Backtest.better_baseline`),
    None when neither was scored."""
    return result.backtest.better_baseline if result.backtest is not None else None


def section(result: Any) -> SectionFigures:
    """The section's page from a :class:`custlab.forecast.DemandOutlook` (also the engine report's)."""
    spans = (result.to_frame().group_by("series_id")
             .agg(pl.col("lo_80").sum(), pl.col("hi_80").sum(), pl.col("lo_95").sum(), pl.col("hi_95").sum()))
    state = verdict(result)
    baseline = better_baseline(result)
    planned = baseline_months(result, baseline) if baseline else None
    plans = (planned.group_by("series_id").agg(baseline=pl.when(pl.col("value").count() == result.forecast.horizon)
                                               .then(pl.col("value").sum()))
             if planned is not None else pl.DataFrame(schema={"series_id": pl.String, "baseline": pl.Float64}))
    summary = result.summary.join(spans, on="series_id", how="left").join(plans, on="series_id", how="left")
    total = summary.filter(pl.col("series_id") == "total")
    value = float(total["forecast"][0]) if total.height else float(summary["forecast"].sum())
    plan = total["baseline"][0] if total.height else None
    shows_baseline = state != "trusted" and baseline is not None
    if state == "untrusted" and plan is None:  # no baseline figure to plan with: the models' figures, said so
        shows_baseline = False

    tables = [_forecast_table(result, summary, state, baseline if shows_baseline else None)]
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
                            {**_group_formats(result), "kind": "label", "period": "date", "actual": "num0",
                             "unit": "label", "change": "change", "respond_by": "date"}))

    named_baseline = Text(f"report.outlook.baseline_{baseline}", {}) if baseline else None
    drawn = planned if shows_baseline else None
    charts = (Chart("outlook", _title(state, shows_baseline, value, plan, named_baseline),
                    partial(_draw_outlook, result, drawn, named_baseline), height=7.0),)

    gap = result.season_gap()  # a short history's models carry the season's peak on (Online Retail II: +102%)
    season = ([Text("report.outlook.no_season", {"history": Count(int(gap["history"])), "change": Change(gap["change"]),
                                                  "seasonal": Money(gap["seasonal"])})] if gap is not None else [])
    paragraphs = [*_group_sentences(result, summary, state == "untrusted" and shows_baseline, named_baseline),
                  *_verdict_sentences(result, state, baseline, named_baseline, value, plan), *season,
                  *_alert_sentences(result),
                  *(Lang({lang: t(f"forecast.note.{note}", lang) for lang in LANGUAGES}) for note in result.notes)]
    notes = [Text(f"report.outlook.{state}", {})]
    if state == "untrusted" and baseline:
        notes.append(Text("report.outlook.baseline", {"model": named_baseline,
                                                      "mase": Num(result.backtest.score(baseline), 2)}))
    if shows_baseline and _reconciled_away(summary, baseline):
        notes.append(Text("report.outlook.reconciled", {"baseline": Label(baseline)}))
    findings = ()
    if alerts.height:
        findings = (Finding(Text("report.finding.outlook_alerts", {"n": Count(alerts.height)}), 0.0, "outlook"),)
    values = _values(result, summary, state, baseline if shows_baseline else None)
    if gap is not None:
        values["season_gap"] = gap
    return SectionFigures("outlook", tuple(paragraphs), tuple(tables), charts, values, findings, notes=tuple(notes))


def _title(state: str, plans: bool, value: float, plan: float | None, baseline: Text | None) -> Text:
    """The chart's title, the page's headline: the models' total, or the baseline's when it is the one to plan with."""
    fields = {"value": Money(value), "months": Count(HORIZON)}
    if state == "trusted":
        return Text("report.outlook.title", fields)
    if state == "untrusted" and plans:
        return Text("report.outlook.title_plan", {**fields, "plan": Money(plan), "baseline": baseline})
    return Text(f"report.outlook.title_{state}", fields)  # the models' figure, said to be a rough guide only


def baseline_months(result: Any, baseline: str) -> pl.DataFrame:
    """The baseline's forecast of each forecast month (:meth:`custlab.forecast.DemandOutlook.baseline_forecast`)."""
    return result.baseline_forecast(baseline)


def _group_formats(result: Any) -> dict[str, str]:
    # groups that are products read "Product code" (not "Category"), with their names beside
    return ({"product_id": "label", **({"product_name": "data"} if result.names else {})} if result.by == "product_id"
            else {"series_id": "label"})


def _reconciled_away(summary: pl.DataFrame, baseline: str) -> bool:
    """Whether a row whose method is ``baseline`` shows a figure apart from that baseline's (the reconciliation moved
    it so the rows add up: the shop's home decor read naive baseline, 56,731 against a Baseline of 57,701)."""
    rows = summary.filter((pl.col("model") == baseline) & pl.col("baseline").is_not_null())
    return rows.filter((pl.col("forecast") - pl.col("baseline")).abs() > 0.005 * pl.col("baseline").abs()).height > 0


def _forecast_table(result: Any, summary: pl.DataFrame, state: str, baseline: str | None) -> Table:
    products = "_products" if result.by == "product_id" else ""
    formats = {**_group_formats(result), "forecast": "money", "lo_80": "money", "hi_80": "money"}
    fields: dict[str, Any] = {"months": Count(HORIZON)}
    if baseline is None:
        caption = f"report.outlook.table{products}"
    else:  # the baseline's figure beside the models': what to plan with, or what to compare the untested models with
        caption = f"report.outlook.table_{'plan' if state == 'untrusted' else 'untested'}{products}"
        fields["baseline"] = Text(f"report.outlook.baseline_{baseline}", {})
        formats = {**_group_formats(result), "baseline": "money", "forecast": "money", "lo_80": "money",
                   "hi_80": "money"}
    formats |= {"year_ago": "money", "change": "change", "model": "label"}
    return Table(Text(caption, fields), _named(summary, result), formats, top_n=TOP_GROUPS + 2)


def _name(result: Any, series_id: str) -> Lang:
    """A group as its table row shows it: "All sales", a product's "name (id)", a category as a label."""
    if result.by == "product_id" or series_id == "total":
        return Lang({lang: result.name_of(series_id, lang) for lang in LANGUAGES})
    return Lang({lang: tr(series_id, lang) for lang in LANGUAGES})


def _group_sentences(result: Any, summary: pl.DataFrame, plan: bool, baseline: Text | None) -> list[Text]:
    first = result.forecast.first_period
    last = result.forecast.table["period"].max()
    key = "report.outlook.head_plan" if plan else "report.outlook.head"
    out = [Text(key, {"months": Count(HORIZON), "first": MonthName(first), "last": MonthName(last),
                      "by": Label(result.by), **({"baseline": baseline} if plan else {})})]
    for row in summary.iter_rows(named=True):
        interval = {"name": _name(result, row["series_id"]), "value": Money(row["forecast"]),
                    "lo": Money(row["lo_80"]), "hi": Money(row["hi_80"])}
        if plan and row["baseline"] is not None:
            out.append(Text("report.outlook.group_plan", {**interval, "plan": Money(row["baseline"])}))
        elif row["change"] is None:
            out.append(Text("report.outlook.group", interval))
        else:
            out.append(Text("report.outlook.group_change", {**interval, "change": Change(row["change"])}))
    return out


def _verdict_sentences(result: Any, state: str, baseline: str | None, named: Text | None, value: float,
                       plan: float | None) -> list[Text | Lang]:
    backtest = result.backtest
    if backtest is None:
        return [Lang({lang: t("forecast.outlook.untested", lang) for lang in LANGUAGES})]
    windows = int(backtest.chosen["n_windows"].max() or 0) if backtest.chosen.height else 0
    common = {"windows": Count(windows), "horizon": Count(backtest.horizon)}
    out: list[Text | Lang] = []
    if state == "untested":
        history = result.forecast.history.filter(pl.col("series_id") == "total").height
        if windows == 1:
            out.append(Text("report.outlook.verdict_untested", {"history": Count(history),
                                                                "horizon": Count(backtest.horizon)}))
        else:
            out.append(Text("report.outlook.verdict_unscored", {}))
        if baseline and plan is not None:
            out.append(Text("report.outlook.compare_baseline", {"baseline": named, "plan": Money(plan),
                                                                "months": Count(HORIZON),
                                                                "mase": Num(backtest.score(baseline), 2)}))
        return out
    auto, naive, snaive = backtest.score("auto"), backtest.score("naive"), backtest.score("seasonal_naive")
    scores = {**common, "mase": Num(auto, 2), "naive": Num(naive, 2)}
    if snaive is not None:
        scores["snaive"] = Num(snaive, 2)
    kind = "trusted" if state == "trusted" else "untrusted"
    out.append(Text(f"report.outlook.verdict_{kind}{'' if snaive is not None else '_naive'}", scores))
    if state == "trusted":
        coverage = _coverage(result)
        reading = coverage_reading(coverage)
        if reading is not None:
            out.append(Text(f"report.outlook.coverage_{reading}", {"coverage": Pct(coverage, 0)}))
    elif baseline and plan is not None:
        out.append(Text("report.outlook.plan", {"baseline": named, "plan": Money(plan), "months": Count(HORIZON),
                                                "value": Money(value)}))
    return out


def _coverage(result: Any) -> float | None:
    """The share of the backtest's outcomes inside the chosen models' 80% intervals."""
    return result.backtest.coverage(COVERAGE_LEVEL) if result.backtest is not None else None


def _alert_sentences(result: Any) -> list[Text]:
    """One sentence per alert (the largest few of each kind), money with its currency; or one saying there is none."""
    alerts = result.alerts
    if alerts.table.is_empty():
        return [Text("report.outlook.alert_none", {"threshold": Pct(alerts.threshold, 0)})]
    units = result.heat_measure == "units"
    out = []
    for kind, key in (("heat_rising", "heat"), ("stockout_risk", "stockout"), ("overstock_risk", "overstock")):
        for row in alerts.table.filter(pl.col("kind") == kind).head(ALERTS_SAID).iter_rows(named=True):
            amount = Count if kind == "heat_rising" and units else Money
            suffix = "_units" if kind == "heat_rising" and units else ""
            out.append(Text(f"report.outlook.alert_{key}{suffix}", {
                "series": _name(result, row["series_id"]), "period": Day(row["period"]),
                "actual": amount(row["actual"]), "expected": amount(row["expected"]),
                "change": Pct(abs(row["change"]), 0), "action": Label(row["action"]),
                "respond_by": Day(row["respond_by"])}))
    return out


def _named(table: pl.DataFrame, result: Any) -> pl.DataFrame:
    """``table`` with ``series_id`` as ``product_id`` and each product's name, when the groups are products."""
    if result.by != "product_id":
        return table
    return table.with_columns(product_id=pl.col("series_id"),
                              product_name=pl.col("series_id").replace_strict(dict(result.names), default=None,
                                                                             return_dtype=pl.String))


def _values(result: Any, summary: pl.DataFrame, state: str, baseline: str | None) -> dict[str, Any]:
    from custlab.report.figures import json_ready

    groups = {r["series_id"]: {"forecast": r["forecast"], "lo_80": r["lo_80"], "hi_80": r["hi_80"], "lo_95": r["lo_95"],
                               "hi_95": r["hi_95"], "year_ago": r["year_ago"], "change": r["change"], "model": r["model"],
                               **({"baseline": r["baseline"]} if baseline else {})}
              for r in summary.iter_rows(named=True)}
    accuracy = {r["model"]: {"mase": r["mase"], "wape": r["wape"], "coverage_80": r.get("coverage_80")}
                for r in result.accuracy.iter_rows(named=True)}
    coverage = _coverage(result)
    plan_with = "model" if state == "trusted" else baseline if state == "untrusted" else None
    return json_ready({"by": result.by, "months": HORIZON, "first_period": result.forecast.first_period,
                       "trusted": bool(result.trusted), "groups": groups, "accuracy": accuracy,
                       "alerts": result.alerts.table.height, "verdict": state, "plan_with": plan_with,
                       "baseline": baseline, "coverage_80": coverage, "intervals": coverage_reading(coverage)})


def _draw_outlook(result: Any, baseline: pl.DataFrame | None, named: Text | None, language: str):
    from custlab._plotting import PALETTE
    from custlab.forecast.plots import plot_demand_outlook

    fig = plot_demand_outlook(result, language=language)
    if baseline is None or named is None:
        return fig
    panels = {result.name_of(s, language): s for s in ("total", *result.groups)}
    first = True
    for ax in fig.axes:
        series_id = panels.get(ax.get_title()) if ax.get_visible() else None
        if series_id is None:
            continue
        rows = baseline.filter((pl.col("series_id") == series_id) & pl.col("value").is_not_null()).sort("period")
        if rows.is_empty():
            continue
        ax.plot(rows["period"].to_list(), rows["value"].to_list(), color=PALETTE[2], linestyle=":", marker="o",
                markersize=3, label=render(named, language))
        if first:  # the legend is the first panel's, as the plot draws it
            ax.legend(loc="upper left", fontsize="small")
            first = False
    return fig
