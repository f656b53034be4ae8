"""Churn and retention, and the early-warning list.

Churn is silence: a customer has churned once ``inactivity_days`` (W) pass
without an order (the definition of :mod:`custlab.churn`). The retention
section shows the acquisition cohorts month by month, the Kaplan-Meier curve
of "not yet W days silent", and the diagnostics retail reports quote. The
early-warning list ranks active customers by the value the repurchase model
(:class:`custlab.repurchase.RepurchaseModel`) puts at risk -- the model's
probability that their current silence reaches W days times their expected
value -- with the reason in words for each.
"""

from __future__ import annotations

import warnings
from functools import partial

import polars as pl

from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.figures_customers import clv_values, segment_table
from custlab.report.parts import Chart, Finding, SectionFigures, Table
from custlab.report.text import Count, Day, Days, Label, Money, MonthName, Pct, Text, render

__all__ = ["early_warning", "retention", "warning_table"]

#: Risk from which a customer counts as "high risk" in the summary.
HIGH_RISK = 0.5


def retention(ctx: Context) -> SectionFigures:
    """Section "Churn and retention": cohorts, the survival curve, the diagnostics."""
    from custlab import churn, cohorts

    days = ctx.setting("inactivity_days")
    diag = churn.churn_diagnostics(ctx.history, as_of=ctx.as_of, inactivity_days=days)
    paragraphs, findings, chart_list = [], [], []
    if diag.silent_never_return_share is None or diag.early_churn_share is None:
        paragraphs.append(Text("report.retention.short", {"days": Count(days)}))
    else:
        paragraphs.append(Text("report.retention.diagnostics", {
            "days": Count(days), "never": Pct(diag.silent_never_return_share),
            "early": Pct(diag.early_churn_share), "early_days": Count(diag.early_days)}))
    if diag.intervention_day is not None:
        paragraphs.append(Text("report.retention.intervention", {"day": Count(diag.intervention_day)}))
    churned = ctx.cached("churned_now", lambda: _churned_now(ctx))
    paragraphs.append(Text("report.retention.churned", {"n": Count(churned), "days": Count(days),
                                                        "month": MonthName(ctx.month.month)}))
    frame = churn.survival_frame(ctx.history, as_of=ctx.as_of, inactivity_days=days)
    km = churn.kaplan_meier(frame, at=(90, 180, 365))
    row = km.summary.row(0, named=True)
    year = row.get("survival_365d")
    if year is not None:
        paragraphs.append(Text("report.retention.survival", {"share": Pct(year), "days": Count(days)}))
        chart_list.append(Chart("survival", Text("report.retention.survival_title", {"share": Pct(year)}),
                                partial(_draw_survival, km), height=4.6))
    retention_table = cohorts.cohort_retention(ctx.history, as_of=ctx.as_of, max_periods=12)
    recent = retention_table["cohort"].unique().sort().tail(12)
    shown = retention_table.filter(pl.col("cohort").is_in(recent.implode()))
    second = shown.filter(pl.col("period") == 1, pl.col("period_complete"))
    if second.height:
        mean_second = float((second["active_customers"].sum()) / max(second["cohort_size"].sum(), 1))
        paragraphs.append(Text("report.retention.second_month", {"share": Pct(mean_second),
                                                                 "cohorts": Count(second.height)}))
        chart_list.append(Chart("cohorts", Text("report.retention.cohort_title", {"share": Pct(mean_second)}),
                                partial(_draw_cohorts, shown), height=5.0))
    if diag.early_churn_share is not None and diag.early_churn_share >= 0.5:
        new = ctx.this_month.group_by("customer_id").agg(pl.col("amount").sum())
        money = float(new["amount"].mean() or 0) * ctx.value("trend", "new_customers", 0) * diag.early_churn_share
        findings.append(Finding(Text("report.finding.early_churn", {
            "share": Pct(diag.early_churn_share), "early_days": Count(diag.early_days),
            "day": Count(diag.intervention_day)}), money, "retention"))
    values = {"silent_never_return_share": diag.silent_never_return_share,
              "early_churn_share": diag.early_churn_share, "intervention_day": diag.intervention_day,
              "churned_customers": churned, "survival_365d": year}
    return SectionFigures("retention", tuple(paragraphs), (), tuple(chart_list), values, tuple(findings))


def _churned_now(ctx: Context) -> int:
    from custlab.report.figures_sales import window_metrics

    return int(window_metrics(ctx, ctx.start, ctx.as_of)["churned_customers"])


def _draw_survival(km, language: str):
    from custlab import churn

    return churn.plot_survival(km, language=language)


def _draw_cohorts(table: pl.DataFrame, language: str):
    from custlab import cohorts

    return cohorts.plot_cohort_heatmap(table, language=language)


# -- early warning ---------------------------------------------------------------------------------------------
def warning_table(ctx: Context) -> pl.DataFrame:
    """Active customers with the model's churn risk, their expected value and the value at risk (cached)."""
    return ctx.cached("warning", lambda: _warning(ctx))


def _warning(ctx: Context) -> pl.DataFrame:
    from custlab import churn, repurchase

    days = ctx.setting("inactivity_days")
    frame = repurchase.repurchase_frame(ctx.history, as_of=ctx.as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", churn.ChurnDataWarning)
        model = repurchase.RepurchaseModel().fit(frame)
        risk = model.churn_risk(frame, inactivity_days=days, within=f"{ctx.setting('warning_days')}d")
    value = clv_values(ctx).values.select("customer_id", "clv", "p_alive")
    seg = segment_table(ctx).select("customer_id", "segment", "frequency", "monetary")
    out = (risk.filter(pl.col("p_churn").is_not_null())
           .join(value, on="customer_id", how="left").join(seg, on="customer_id", how="left")
           .with_columns(pl.col("clv").fill_null(0.0))
           .with_columns(value_at_risk=pl.col("p_churn") * pl.col("clv"))
           .sort("value_at_risk", descending=True))
    return out


def _reason(ctx: Context, row: dict) -> str:
    fields = {"days": Days(row["days_since_last"]), "p": Pct(row["p_churn"]), "date": Day(row["churn_date"]),
              "value": Money(row["clv"], compact=False), "segment": Label(row["segment"])}
    key = "report.reason.warning"
    if row.get("usual_gap_days") is not None:
        key, fields["usual"] = "report.reason.warning_usual", Days(row["usual_gap_days"])
    return render(Text(key, fields), ctx.language, ctx.currency)


def early_warning(ctx: Context) -> SectionFigures:
    """Section "Early warning": who is about to churn, sorted by the value at risk."""
    table = warning_table(ctx)
    days = ctx.setting("inactivity_days")
    high = table.filter(pl.col("p_churn") >= HIGH_RISK)
    at_risk = float(high["value_at_risk"].sum())
    within = table.filter(pl.col("p_churn_within") >= HIGH_RISK).height
    paragraphs = [Text("report.warning.summary", {
        "n": Count(table.height), "high": Count(high.height), "p": Pct(HIGH_RISK, 0), "days": Count(days),
        "value": Money(at_risk), "soon": Count(within), "window": Count(ctx.setting("warning_days"))})]
    top = table.head(10).with_columns(reason=pl.Series([_reason(ctx, r) for r in table.head(10).iter_rows(named=True)],
                                                       dtype=pl.String))
    tables = (Table(Text("report.warning.table", {}), top,
                    {"customer_id": "id", "segment": "label", "days_since_last": "days", "p_churn": "pct",
                     "clv": "money", "value_at_risk": "money", "churn_date": "date"}, max_rows=10),)
    findings = (Finding(Text("report.finding.warning", {"high": Count(high.height), "value": Money(at_risk),
                                                        "days": Count(days)}), at_risk, "early_warning"),
                ) if high.height else ()
    export = table.select(
        pl.col("customer_id").cast(pl.String), "segment", "last_purchase", "days_since_last", "churn_date",
        "p_churn", "p_churn_within", "usual_gap_days", "clv", "value_at_risk",
    ).with_columns(reason=pl.Series([_reason(ctx, r) for r in table.iter_rows(named=True)], dtype=pl.String),
                   priority=pl.col("value_at_risk"))
    values = {"active_customers": table.height, "high_risk": high.height, "value_at_risk": at_risk,
              "churn_within_window": within}
    return SectionFigures("early_warning", tuple(paragraphs), tables, (), values, findings,
                          {"early_warning.csv": finish_export(export, money=("clv", "value_at_risk", "priority"),
                                                             shares=("p_churn", "p_churn_within"))},
                          notes=(Text("report.warning.note", {"days": Count(days)}),))
