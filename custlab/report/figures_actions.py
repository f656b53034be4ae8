"""Problems, actions and methods: what the figures above mean for the month, and how they were made.

Problems are thresholds applied to this month's figures, each sentence citing
the figure that crossed it. Actions are ranked by expected impact::

    impact = customers x mean P(alive) x expected order value x response rate

-- the revenue of one more order from each customer who is still active and
responds. Response rates are assumed (:data:`~custlab.report.context.RESPONSE_RATES`,
stated in the report, overridable), never measured here. Each action cites the
figure that triggered it and has its customer list in ``exports/actions/``.
Methods and data quality close the report: the data, the month's cleaning
(counted for the analysed month, not the whole file), the definitions and
settings, and the sections that could not be shown, with why.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import polars as pl

from custlab._types import LANGUAGES
from custlab.report.context import Context
from custlab.report.exports_tables import finish_export
from custlab.report.figures_churn import HIGH_RISK, warning_result
from custlab.report.figures_clv import customer_values, one_time_buyers_only
from custlab.report.figures_customers import segment_table
from custlab.report.parts import Action, Finding, SectionFigures, Table
from custlab.report.text import (
    Count, Data, Day, Days, Items, Label, Lang, Money, MonthName, Num, Pct, Text, render_rows,
)

__all__ = ["actions", "methods", "problems"]

#: Thresholds of the problems section.
THRESHOLDS = {"dormant_share": 0.30, "early_churn_share": 0.50, "funnel_drop": 0.70, "roi": 1.0,
              "revenue_fall": -0.05, "top_share": 0.20}
_DORMANT = ("Dormant", "Can't lose them", "Can't Lose Them", "Lost", "At risk", "At Risk")


def problems(ctx: Context) -> SectionFigures:
    """Section "Problems": each figure that crossed a threshold, with the figure."""
    found: list[Text] = []
    shares = ctx.value("segments", "segments") or {}
    dormant = sum(v["customer_share"] for k, v in shares.items() if k in _DORMANT)
    if shares and dormant >= THRESHOLDS["dormant_share"]:
        found.append(Text("report.problem.dormant", {"share": Pct(dormant), "days": Count(ctx.setting("dormant_days"))}))
    early = ctx.value("retention", "early_churn_share")
    if early is not None and early >= THRESHOLDS["early_churn_share"]:
        found.append(Text("report.problem.early_churn", {"share": Pct(early)}))
    drop = ctx.value("funnel", "worst_drop")
    if drop is not None and drop >= THRESHOLDS["funnel_drop"]:
        found.append(Text("report.problem.funnel", {"a": Label(ctx.value("funnel", "worst_from")),
                                                    "step": Label(ctx.value("funnel", "worst_step")), "drop": Pct(drop)}))
    for channel, roi in (ctx.value("channels", "roi") or {}).items():
        if roi is not None and roi < THRESHOLDS["roi"]:
            found.append(Text("report.problem.roi", {"channel": Label(channel), "roi": Num(roi, 2)}))
    change = ctx.value("trend", "revenue_change")
    if change is not None and change <= THRESHOLDS["revenue_fall"]:
        key = "report.problem.revenue_partial" if ctx.month.partial else "report.problem.revenue"
        found.append(Text(key, {"change": Pct(-change), "days": Count(ctx.month.days)}))
    top = ctx.value("segments", "top_share_50")
    if top is not None and top <= THRESHOLDS["top_share"]:
        found.append(Text("report.problem.concentration", {"top": Pct(top)}))
    high = ctx.value("early_warning", "high_risk")
    if high and ctx.value("early_warning", "reliable"):  # an unreliable ranking finds no problem (its section says so)
        found.append(Text("report.problem.warning", {
            "n": Count(high), "value": Money(ctx.value("early_warning", "value_at_risk")), "p": Pct(HIGH_RISK, 0),
            "days": Count(ctx.setting("inactivity_days"))}))
    paragraphs = tuple(found) or (Text("report.problem.none", {}),)
    return SectionFigures("problems", paragraphs, values={"problems": len(found)})


# -- actions ----------------------------------------------------------------------------------------------------
def _customer_values(ctx: Context) -> pl.DataFrame:
    """customer_id, segment, recency, frequency, monetary, p_alive and expected order value of every customer
    (:func:`~custlab.report.figures_clv.customer_values`)."""
    seg = segment_table(ctx).select("customer_id", "segment", "recency", "frequency", "monetary")
    value = customer_values(ctx).select("customer_id", "p_alive", order_value="expected_spend")
    return (seg.join(value, on="customer_id", how="left")
            .with_columns(pl.col("order_value", "p_alive").fill_null(0.0)))


def _action_export(ctx: Context, frame: pl.DataFrame, action: str) -> pl.DataFrame:
    rate = ctx.response_rates.get(action, 0.05)
    reasons = render_rows("report.reason.action", {
        "segment": (Label, frame["segment"]), "days": (Days, frame["recency"]), "orders": (Count, frame["frequency"]),
        "spend": (partial(Money, compact=False), frame["monetary"]), "p": (Pct, frame["p_alive"])},
        ctx.language, ctx.currency)
    out = frame.select(pl.col("customer_id").cast(pl.String), "segment", "recency", "frequency", "monetary", "p_alive",
                       expected_order_value="order_value").with_columns(
        reason=pl.Series(reasons, dtype=pl.String),
        priority=pl.col("p_alive") * pl.col("expected_order_value") * rate)
    return finish_export(out, money=("monetary", "expected_order_value", "priority"), shares=("p_alive",))


def _action(ctx: Context, key: str, members: pl.DataFrame, trigger: Text, export: str | None) -> Action:
    """The action of ``members``: its impact is the sum of their list's priorities (each customer's P(alive) x
    order value x rate), so its order value is the mean weighted by P(alive); a plain mean of each made the page's
    impact differ from the list's sum (Online Retail 2011-11: £9,902 against £10,372)."""
    alive = float(members["p_alive"].sum())
    value = (float((members["p_alive"] * members["order_value"]).sum()) / alive if alive > 0
             else float(members["order_value"].mean() or 0.0))
    return Action(key, members.height, alive / members.height if members.height else 0.0, value,
                  ctx.response_rates.get(key, 0.05), trigger, export)


def actions(ctx: Context) -> SectionFigures:
    """Section "Actions": ranked by expected impact, each with its trigger and its customer list."""
    from custlab import segments as sg

    people = _customer_values(ctx)
    plan = sg.action_lists(people.select("customer_id", "segment", "recency", "frequency", "monetary")).select(
        "customer_id", "action_id", "action")
    people = people.join(plan, on="customer_id", how="left")
    found: list[Action] = []
    exports: dict[str, pl.DataFrame] = {}
    for (action_id,), members in people.group_by("action_id", maintain_order=True):
        if action_id is None or members.height == 0:
            continue
        segment = members["segment"][0]
        trigger = Text("report.action.segment_trigger", {
            "segment": Label(segment), "n": Count(members.height), "days": Days(members["recency"].median()),
            "spend": Money(float(members["monetary"].sum()))})
        path = f"actions/{action_id}.csv"
        exports[path] = _action_export(ctx, members, action_id)
        found.append(_action(ctx, action_id, members, trigger, path))
    try:
        warning = warning_result(ctx)
    except Exception:  # noqa: BLE001 - the outreach action needs the early-warning model; the rest goes on
        warning = None
    risk = None  # nor from a ranking its section says not to trust
    if warning is not None and warning.reliable:
        risk = warning.to_frame().filter(pl.col("p_churn") >= HIGH_RISK).select("customer_id", "p_churn")
    if risk is not None and risk.height:
        members = people.join(risk, on="customer_id", how="inner")
        trigger = Text("report.action.warning_trigger", {"n": Count(members.height), "p": Pct(HIGH_RISK, 0),
                                                         "days": Count(ctx.setting("inactivity_days"))})
        path = "actions/early_warning_outreach.csv"
        exports[path] = _action_export(ctx, members, "early_warning_outreach")
        found.append(_action(ctx, "early_warning_outreach", members, trigger, path))
    early, day = ctx.value("retention", "early_churn_share"), ctx.value("retention", "intervention_day")
    if early is not None and early >= THRESHOLDS["early_churn_share"] and day is not None:
        first = ctx.history.group_by("customer_id").agg(first=pl.col("order_date").min())
        new = first.filter(pl.col("first") >= ctx.start).select("customer_id")
        # only those still at one order: 32 of the shop's 231 had already ordered again (17% of the impact)
        members = people.join(new, on="customer_id", how="inner").filter(pl.col("frequency") == 1)
        if members.height:
            trigger = Text("report.action.second_order_trigger", {"share": Pct(early), "day": Count(day),
                                                                  "n": Count(members.height)})
            path = "actions/second_order_nudge.csv"
            exports[path] = _action_export(ctx, members, "second_order_nudge")
            found.append(_action(ctx, "second_order_nudge", members, trigger, path))
    ranked = sorted(found, key=lambda a: -a.impact)
    table = pl.DataFrame({
        "action": [_action_label(a.key) for a in ranked], "customers": [a.customers for a in ranked],
        "p_alive": [a.p_alive for a in ranked], "order_value": [a.value for a in ranked],
        "response_rate": [a.response_rate for a in ranked], "impact": [a.impact for a in ranked],
        "export": [a.export or "" for a in ranked],
    }, schema={"action": pl.String, "customers": pl.Int64, "p_alive": pl.Float64, "order_value": pl.Float64,
               "response_rate": pl.Float64, "impact": pl.Float64, "export": pl.String})
    paragraphs = [Text("report.action.line", {"action": Label(_action_label(a.key)), "trigger": a.trigger,
                                              "impact": Money(a.impact), "rate": Pct(a.response_rate, 0)})
                  for a in ranked]  # every action of the table (six of seven left out Online Retail's win-back)
    unranked = no_impact(ctx) if ranked else None
    if unranked is not None:
        paragraphs.insert(0, unranked)
    findings = tuple(Finding(Text("report.finding.action", {"action": Label(_action_label(a.key)),
                                                            "impact": Money(a.impact), "n": Count(a.customers)}),
                             a.impact, "actions") for a in ranked[:1] if unranked is None)
    tables = (Table(Text("report.action.table", {}), table,
                    {"action": "label", "customers": "count", "p_alive": "pct", "order_value": "money",
                     "response_rate": "pct", "impact": "money", "export": "data"}),)
    values = {"actions": {a.key: {"customers": a.customers, "impact": a.impact} for a in ranked}}
    notes = (Text("report.action.note", {}),)
    return SectionFigures("actions", tuple(paragraphs), tables, (), values, findings, exports, tuple(ranked), notes)


def no_impact(ctx: Context) -> Text | None:
    """A sentence when every expected impact is 0 because no customer has come back yet (P(alive) cannot be
    estimated then: Olist 2017-02 ranked its actions at R$0.00 each); None otherwise."""
    customers = one_time_buyers_only(ctx)
    return None if customers is None else Text("report.action.no_impact", {"customers": Count(customers)})


def _action_label(action_id: str) -> str:
    """The catalogue key of an action's short name (``action.<id>``, translated as a value)."""
    return f"action.{action_id}"


# -- methods ------------------------------------------------------------------------------------------------------
def _cleaning(ctx: Context) -> tuple[list[Any], Table | None]:
    """What cleaning removed from this month's lines (:meth:`custlab.data.DataQualityReport.for_period`)."""
    quality = ctx.quality
    if quality is None:
        return [Text("report.methods.no_quality", {})], None
    period = quality.for_period(ctx.start, ctx.as_of)
    month = MonthName(ctx.month.month)
    if quality.rows_kept == quality.rows_in:  # nothing removed: one sentence, no empty table (the built-in shop)
        return [Text("report.methods.clean_nothing", {"month": month, "kept": Count(period.rows_kept),
                                                      "rows": Count(quality.rows_in)})], None
    month_removed = period.removed.filter(pl.col("rows") > 0).sort("rows", "reason", descending=[True, False])
    texts: list[Any] = []
    if period.rows_removed == 0:
        texts.append(Text("report.methods.clean_none", {"month": month, "kept": Count(period.rows_kept)}))
    else:
        reasons = Items([Text("report.methods.reason_count", {"reason": Label(r), "n": Count(n)})
                         for r, n in month_removed.select("reason", "rows").iter_rows()])
        texts.append(Text("report.methods.clean_month", {"month": month, "removed": Count(period.rows_removed),
                                                         "lines": Count(period.rows_in), "reasons": reasons}))
    # every count of the second column covers the same lines: those dated before the analysis date (the whole
    # file's counts put a later cancellation under "cancelled" but a later duplicate under "after the analysis date")
    before = quality.before(ctx.as_of)
    undated = quality.undated
    later = quality.rows_in - before.rows_in - undated  # dated on or after as_of, whatever else is wrong with them
    key = "report.methods.clean_before_undated" if undated else "report.methods.clean_before"
    texts.append(Text(key, {"rows": Count(before.rows_in), "kept": Count(before.rows_kept), "undated": Count(undated),
                            "as_of": Day(ctx.as_of)}))
    if later:
        texts.append(Text("report.methods.clean_later", {"n": Count(later), "as_of": Day(ctx.as_of)}))
    upto = before.removed.filter(pl.col("rows") > 0).select("reason", before_rows="rows")
    table = (upto.join(month_removed.select("reason", month_rows="rows", month_amount="amount"), on="reason",
                       how="full", coalesce=True)
             .with_columns(pl.col("month_rows", "before_rows").fill_null(0), pl.col("month_amount").fill_null(0.0))
             .sort("before_rows", "reason", descending=[True, False]))
    return texts, Table(Text("report.methods.clean_table_before", {"month": month, "as_of": Day(ctx.as_of)}), table,
                        {"reason": "label", "month_rows": "count", "month_amount": "money", "before_rows": "count"})


def _reading(ctx: Context) -> list[Any]:
    """What reading the files found (:meth:`custlab.data.ReadInfo.sentences`: sheets, encoding, time zone)."""
    out: list[Any] = []
    for info in ctx.read_infos.values():
        said = {lang: " ".join(info.sentences(lang)) for lang in LANGUAGES}
        if said["en"]:
            out.append(Lang(said))
    return out


def methods(ctx: Context) -> SectionFigures:
    """Section "Methods and data quality" (collapsed in the page)."""
    month = ctx.month
    paragraphs: list[Any] = [Text("report.methods.source", {
        "source": ctx.source_name, "first": Day(ctx.first_date), "last": Day(month.last_day),
        "as_of": Day(month.as_of), "month": MonthName(month.month)})]
    if month.partial:
        paragraphs.append(Text("report.methods.partial", {"days": Count(month.days), "month_days": Count(month.month_days),
                                                          "last": Day(month.last_data_date)}))
    if month.stray:
        stray = month.stray
        dates = Day(stray.first) if stray.first == stray.last else Text(
            "report.stray.days", {"first": Day(stray.first), "last": Day(stray.last)})
        paragraphs.append(Text("report.methods.stray", {"lines": Count(stray.lines), "dates": dates,
                                                        "gap": Days(stray.gap_days), "end": Day(stray.data_end)}))
    if ctx.source.get("sample_size"):
        paragraphs.append(Text("report.methods.sample", {"n": Count(ctx.source["sample_size"]),
                                                         "seed": Data(ctx.source.get("seed", 0))}))
    paragraphs += _reading(ctx)
    cleaning, table = _cleaning(ctx)
    paragraphs += cleaning
    side = (("customers", ctx.customers), ("events", ctx.events), ("marketing_spend", ctx.spend),
            ("reviews", ctx.reviews), ("campaigns", ctx.campaigns), ("touches", ctx.touches))
    present = [name for name, frame in side if frame is not None]
    absent = [name for name, frame in side if frame is None]
    used = Items([Label("transactions"), *map(Label, present)])
    paragraphs.append(Text("report.methods.tables", {"present": used, "absent": Items([Label(a) for a in absent])})
                      if absent else Text("report.methods.tables_all", {"present": used}))  # not "not in the data: none"
    paragraphs.append(Text("report.methods.definitions", {
        "dormant": Count(ctx.setting("dormant_days")), "churn": Count(ctx.setting("inactivity_days")),
        "months": Count(ctx.setting("clv_months")), "rate": Pct(ctx.setting("annual_discount_rate"), 0),
        "support": Pct(ctx.setting("rules_min_support")), "confidence": Pct(ctx.setting("rules_min_confidence"), 0)}))
    rates = {a.key: ctx.response_rates[a.key] for a in (ctx.parts["actions"].actions if "actions" in ctx.parts else ())}
    for key, row in (ctx.value("nba", "actions") or {}).items():  # a 15% reminder, a 6% retention offer: stated too
        rates.setdefault(key, row["response_rate"])
    if rates:
        paragraphs.append(Text("report.methods.response_rates", {"rates": Items([
            Text("report.methods.rate_item", {"action": Label(_action_label(k)), "rate": Pct(rate, 0)})
            for k, rate in rates.items()])}))
    for skip in ctx.skipped:
        paragraphs.append(Text("report.methods.skipped", {"section": Text(f"report.section.{skip.section}", {}),
                                                          "reason": Lang(dict(skip.reason)), "fix": Lang(dict(skip.fix))}))
    return SectionFigures("methods", tuple(paragraphs), (table,) if table is not None else ())

