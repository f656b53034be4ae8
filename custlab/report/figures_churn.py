"""Churn and retention, and the early-warning list.

Churn is silence: a customer has churned once ``inactivity_days`` (W) pass
without an order (the definition of :mod:`custlab.churn`). The retention
section shows the acquisition cohorts month by month, the Kaplan-Meier curve
of "not yet W days silent", and the diagnostics retail reports quote. The
early-warning list is :func:`custlab.churn.early_warning`: active customers
ranked by the value the repurchase model puts at risk -- its probability that
their current silence reaches W days times their expected 12-month value
(the CLV section's) -- with the reason in words for each. A repurchase fit
that fails with :class:`custlab.churn.CoxFitError` is retried once with the
settings the error names (``retry_with``); if that fails too, the section is
left out with the error's reason and fix.
"""

from __future__ import annotations

import inspect
import warnings
from functools import partial
from typing import Any

import polars as pl

from custlab._i18n import t
from custlab._types import LANGUAGES
from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.figures_clv import customer_values, history_days
from custlab.report.figures_customers import segment_table
from custlab.report.parts import Absent, Chart, Finding, SectionFigures, Table
from custlab.report.text import Count, Data, Lang, Money, MonthName, Pct, Text

__all__ = ["HIGH_RISK", "cohort_part", "early_warning", "retention", "retention_page", "survival_part", "warning_result",
           "warning_table"]

#: Risk from which a customer counts as "high risk": the high band of :func:`custlab.churn.early_warning`.
HIGH_RISK = 0.8
#: Rows of the list shown in the page (all of them are in ``early_warning.csv``).
SHOWN = 10
#: Fewest customers who came back for a second order whose median return day sets a reminder date (a finding,
#: an action); below it the page gives the day with the count and says why it draws nothing from it.
MIN_RETURNERS = 30


def retention(ctx: Context) -> SectionFigures:
    """Section "Churn and retention": cohorts, the survival curve, the diagnostics."""
    from custlab import churn, cohorts

    days = ctx.setting("inactivity_days")
    diag = churn.churn_diagnostics(ctx.history, as_of=ctx.as_of, inactivity_days=days)
    km = churn.kaplan_meier(churn.survival_frame(ctx.history, as_of=ctx.as_of, inactivity_days=days),
                            at=(90, 180, 365))
    table = cohorts.cohort_retention(ctx.history, as_of=ctx.as_of, max_periods=12)
    spend = ctx.this_month.group_by("customer_id").agg(pl.col("amount").sum())["amount"].mean()
    return retention_page(ctx, diag, km, table, float(spend or 0))


def retention_page(ctx: Context, diag: Any, km: Any, cohort_table: pl.DataFrame, month_spend: float
                   ) -> SectionFigures:
    """The section from the churn diagnostics, a Kaplan-Meier fit, the cohort table and this month's mean spend
    per customer (also the engine report's, where all four are counted on the engine)."""
    days = ctx.setting("inactivity_days")
    paragraphs: list[Any] = []
    findings, chart_list = [], []
    if diag.silent_never_return_share is None or diag.early_churn_share is None:
        paragraphs.append(Text("report.retention.short", {"days": Count(days)}))
    else:
        paragraphs.append(Text("report.retention.diagnostics", {
            "days": Count(days), "never": Pct(diag.silent_never_return_share),
            "early": Pct(diag.early_churn_share), "early_days": Count(diag.early_days)}))
    # the median return day rests on the customers who came back: too few of them set no reminder date
    day = diag.intervention_day if diag.returners >= MIN_RETURNERS else None
    if diag.intervention_day is not None:
        fields = {"n": Count(diag.returners), "day": Count(diag.intervention_day), "window": Count(days)}
        paragraphs.append(Text("report.retention.intervention_n", fields) if day is not None else
                          Text("report.retention.intervention_few", {**fields, "min": Count(MIN_RETURNERS)}))
    churned = ctx.cached("churned_now", lambda: _churned_now(ctx))
    if churned is not None:
        paragraphs.append(Text("report.retention.churned", {"n": Count(churned), "days": Count(days),
                                                            "month": MonthName(ctx.month.month)}))
    year, after = survival_part(ctx, km, paragraphs, chart_list)
    cohort_part(cohort_table, paragraphs, chart_list)
    if diag.early_churn_share is not None and diag.early_churn_share >= 0.5:
        money = month_spend * ctx.value("trend", "new_customers", 0) * diag.early_churn_share
        fields = {"share": Pct(diag.early_churn_share), "early_days": Count(diag.early_days)}
        findings.append(Finding(Text("report.finding.early_churn", {**fields, "day": Count(day), "window": Count(days)})
                                if day is not None
                                else Text("report.finding.early_churn_no_day", fields), money, "retention"))
    # intervention_day only when enough returns back it: the second-order action reminds by it
    values = {"silent_never_return_share": diag.silent_never_return_share,
              "early_churn_share": diag.early_churn_share, "intervention_day": day,
              "intervention_returners": diag.returners,
              "churned_customers": churned, "survival": year, "survival_after_days": after}
    return SectionFigures("retention", tuple(paragraphs), (), tuple(chart_list), values, tuple(findings))


def survival_part(ctx: Context, km: Any, paragraphs: list, chart_list: list) -> tuple[float | None, int | None]:
    """The survival sentence and chart from a Kaplan-Meier fit: (share not yet churned, after how many days)."""
    row = km.summary.row(0, named=True)
    span = (ctx.as_of.date() - ctx.first_date).days if ctx.first_date else 0
    after = max((h for h in (90, 180, 365) if h <= span), default=None)  # only a horizon the data have followed
    year = row.get(f"survival_{after}d") if after else None
    if year is not None:
        key = "report.retention.survival" if after == 365 else "report.retention.survival_days"
        fields = {"share": Pct(year), "days": Count(ctx.setting("inactivity_days")), "after": Count(after)}
        paragraphs.append(Text(key, fields))
        # the title says what the curve measures, not yet W days without an order ("still buying" it is not)
        chart_list.append(Chart("survival", Text(f"{key.replace('survival', 'survival_title', 1)}", fields),
                                partial(_draw_survival, km), height=4.6))
    return year, after


def cohort_part(retention_table: pl.DataFrame, paragraphs: list, chart_list: list) -> None:
    """The second-month retention sentence and the heatmap of the last twelve cohorts."""
    recent = retention_table["cohort"].unique().sort().tail(12)
    shown = retention_table.filter(pl.col("cohort").is_in(recent.implode()))
    second = shown.filter(pl.col("period") == 1, pl.col("period_complete"))
    if second.height:
        mean_second = float((second["active_customers"].sum()) / max(second["cohort_size"].sum(), 1))
        paragraphs.append(Text("report.retention.second_month", {"share": Pct(mean_second),
                                                                 "cohorts": Count(second.height)}))
        chart_list.append(Chart("cohorts", Text("report.retention.cohort_title", {"share": Pct(mean_second)}),
                                partial(_draw_cohorts, shown), height=5.0))


def _churned_now(ctx: Context) -> int | None:
    from custlab.report.figures_sales import window_metrics

    return window_metrics(ctx, ctx.start, ctx.as_of)["churned_customers"]


def _draw_survival(km, language: str):
    from custlab import churn

    return churn.plot_survival(km, language=language)


def _draw_cohorts(table: pl.DataFrame, language: str):
    from custlab import cohorts

    return cohorts.plot_cohort_heatmap(table, language=language)


# -- early warning ---------------------------------------------------------------------------------------------
def warning_result(ctx: Context) -> Any:
    """The month's :class:`custlab.churn.EarlyWarning` (cached), valued with the CLV section's values."""
    return ctx.cached("warning", lambda: _warning(ctx))


def warning_table(ctx: Context) -> pl.DataFrame:
    """The ranked list of :func:`custlab.churn.early_warning` (``customer_id``, ``p_churn``, ``value_at_risk`` ...)."""
    return warning_result(ctx).to_frame()


def warning_history_short(ctx: Context) -> bool:
    """Whether the history is shorter than the early warning needs (the churn window and the warning window): no
    silence in it can have reached the churn window, so neither the warning model nor an observed return rate gives a
    churn risk."""
    return history_days(ctx) < ctx.setting("inactivity_days") + ctx.setting("warning_days")


def _warning(ctx: Context) -> Any:
    from custlab import churn

    if warning_history_short(ctx):  # no silence can have reached W days yet: a risk of reaching it is a guess
        days, need = history_days(ctx), ctx.setting("inactivity_days") + ctx.setting("warning_days")
        raise Absent(Text("report.absent.warning_short", {"days": Count(days), "need": Count(need),
                                                          "window": Count(ctx.setting("inactivity_days"))}),
                     Text("report.absent.warning_short_fix", {}))

    value = customer_values(ctx).select("customer_id", "clv")
    settings = {"as_of": ctx.as_of, "inactivity_days": ctx.setting("inactivity_days"),
                "within": f"{ctx.setting('warning_days')}d", "value": value, "value_column": "clv",
                "bands": (HIGH_RISK, 0.5), "seed": ctx.setting("seed"), "language": ctx.language}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", churn.ChurnDataWarning)  # left-out customers are counted in the result
        try:
            return churn.early_warning(ctx.history, **settings)
        except churn.CoxFitError as err:
            from custlab.churn.warning import early_warning as defined  # its own arguments, even when wrapped

            accepted = inspect.signature(defined).parameters
            # a list fitted on every customer (test_size=0) has no held-out check: the page does not rank on it
            if not err.retry_with or "test_size" in err.retry_with or any(k not in accepted for k in err.retry_with):
                raise _cox_absent(err) from None
            try:
                result = churn.early_warning(ctx.history, **settings, **err.retry_with)
            except churn.CoxFitError as again:
                raise _cox_absent(again) from None
            ctx.notes["early_warning_retry"] = dict(err.retry_with)
            return result


def _cox_absent(err) -> Absent:
    """The section left out, saying in the report's words why the repurchase model cannot be fitted and what a
    reader of the report can do about it.

    The error's own ``reason`` and ``fix`` are English and speak to a Python caller ("Fit on all customers with
    test_size=0", Olist 2018-05's Chinese page and command line): each known case has a catalogue text instead,
    told apart by what the error carries (``events``, ``retry_with``) and, for the rest, by its reason.
    """
    later = Text("report.warning.cox_few_events_fix", {})
    need = Count(err.needed)
    if "test_size" in err.retry_with:  # enough repeat purchases in all, too few once some customers are held out
        if err.events is None:
            return Absent(Text("report.warning.cox_few_held_out_none", {"need": need}), later)
        return Absent(Text("report.warning.cox_few_held_out", {"events": Count(err.events), "need": need}), later)
    if err.events is not None:
        return Absent(Text("report.warning.cox_few_events", {"events": Count(err.events), "need": need}), later)
    reason = str(err.reason)
    if "penalizer" in err.retry_with or "did not converge" in reason:  # even with the penalty the error asked for
        return Absent(Text("report.warning.cox_not_converged", {}), later)
    if "varies between" in reason or "constant or a combination" in reason:
        return Absent(Text("report.warning.cox_same_inputs", {}), later)
    if reason.startswith("no customer is active"):
        return Absent(Text("report.warning.cox_none_active", {}), Text("report.warning.cox_none_active_fix", {}))
    return Absent(Text("report.warning.cox_failed", {}), later)


def _shown_reasons(ctx: Context, result, top: pl.DataFrame) -> pl.Series:
    """The reason of each shown row in every language (the list itself holds the report's language only)."""
    from custlab.churn.frames import AGE_BINS
    from custlab.churn.warning import _reasons
    from custlab.repurchase import repurchase_frame

    mine = ctx.history.join(top.select("customer_id"), on="customer_id", how="semi")
    frame = repurchase_frame(mine, as_of=ctx.as_of, age_bins=AGE_BINS)
    rows = frame.join(top.select("customer_id", "last_purchase"), left_on=["customer_id", "purchase_date"],
                      right_on=["customer_id", "last_purchase"], how="semi")
    texts = {lang: dict(_reasons(result.model, rows, top, result.inactivity_days, 2, lang).iter_rows())
             for lang in LANGUAGES if lang != ctx.language}
    own = dict(top.select("customer_id", "reason").iter_rows())
    return pl.Series("reason", [{lang: (own[c] if lang == ctx.language else texts[lang].get(c, own[c]))
                                 for lang in LANGUAGES} for c in top["customer_id"].to_list()])


def early_warning(ctx: Context) -> SectionFigures:
    """Section "Early warning": who is about to churn, by the value at risk, with the model's reason for each."""
    result = warning_result(ctx)
    table = result.to_frame()
    days = ctx.setting("inactivity_days")
    high = table.filter(pl.col("p_churn") >= HIGH_RISK)
    at_risk = float(high["value_at_risk"].sum())
    soon = table.filter(pl.col("p_churn_within") >= HIGH_RISK).height
    paragraphs: list[Any] = [Text("report.warning.summary", {
        "n": Count(result.active_customers), "listed": Count(table.height), "high": Count(high.height),
        "p": Pct(HIGH_RISK, 0), "days": Count(days), "value": Money(at_risk), "total": Money(result.value_at_risk),
        "soon": Count(soon), "window": Count(ctx.setting("warning_days"))})]
    concordance = "n/a" if result.concordance is None else f"{result.concordance:.2f}"
    paragraphs.append(Lang({lang: t(result.trust_key, lang, concordance=concordance) for lang in LANGUAGES}))
    retry = ctx.notes.get("early_warning_retry")
    if retry:
        paragraphs.append(Text("report.warning.retried", {"settings": Data(", ".join(f"{k}={v}" for k, v in retry.items()))}))
    seg = segment_table(ctx).select("customer_id", "segment")
    listed = table.join(seg, on="customer_id", how="left", maintain_order="left")
    top = listed.head(SHOWN)
    top = top.with_columns(_shown_reasons(ctx, result, top)) if top.height else top
    tables = (Table(Text("report.warning.table", {"n": Count(top.height)}), top,
                    {"customer_id": "id", "segment": "label", "days_since_last": "days", "p_churn": "pct",
                     "value": "money", "value_at_risk": "money", "churn_date": "date", "reason": "lang"},
                    top_n=SHOWN),)
    # A ranking the page calls unreliable is shown with that caveat, but it is not a finding, a problem or an action
    findings = (Finding(Text("report.finding.warning", {"high": Count(high.height), "value": Money(at_risk),
                                                        "days": Count(days), "p": Pct(HIGH_RISK, 0)}), at_risk,
                        "early_warning"),
                ) if high.height and result.reliable else ()
    export = listed.select(
        pl.col("customer_id").cast(pl.String), "segment", "last_purchase", "days_since_last", "days_to_churn",
        "churn_date", "p_churn", "p_churn_within", "usual_gap_days", pl.col("value").alias("clv"), "value_at_risk",
        "risk_band", "reason",
    ).with_columns(priority=pl.col("value_at_risk"))
    values = {"active_customers": result.active_customers, "listed": table.height, "high_risk": high.height,
              "value_at_risk": at_risk, "value_at_risk_all": result.value_at_risk, "churn_within_window": soon,
              "concordance": result.concordance, "reliable": result.reliable, "retry_with": dict(retry or {})}
    return SectionFigures("early_warning", tuple(paragraphs), tables, (), values, findings,
                          {"early_warning.csv": finish_export(export, money=("clv", "value_at_risk", "priority"),
                                                             shares=("p_churn", "p_churn_within"))},
                          notes=(Text("report.warning.note", {"days": Count(days)}),))
